"""Sources: where posts come from (files, memory; X, DynamoDB streams with extras)."""

from adverse_events.protocols import Source
from adverse_events.sources.files import CsvSource, JsonlSource
from adverse_events.sources.memory import MemorySource

__all__ = ["CsvSource", "JsonlSource", "MemorySource", "Source"]
