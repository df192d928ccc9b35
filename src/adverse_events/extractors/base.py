"""The `Extractor` role: see `adverse_events.protocols.Extractor`."""

from adverse_events.protocols import Backend, Extractor

__all__ = ["Backend", "Extractor"]
