"""The `Source` role: see `adverse_events.protocols.Source`."""

from adverse_events.protocols import Backend, Source

__all__ = ["Backend", "Source"]
