"""The `Classifier` role: see `adverse_events.protocols.Classifier`."""

from adverse_events.protocols import Backend, Classifier

__all__ = ["Backend", "Classifier"]
