"""Sinks: where records and dead letters are stored (JSONL, DuckDB, memory; S3 etc. with extras).

`DuckDBSink` needs the ``duckdb`` extra and is imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.protocols import ResumableSink, Sink
from adverse_events.sinks.jsonl import JsonlSink
from adverse_events.sinks.memory import MemorySink

if TYPE_CHECKING:
    from adverse_events.sinks.duckdb import DuckDBSink

__all__ = ["DuckDBSink", "JsonlSink", "MemorySink", "ResumableSink", "Sink"]


def __getattr__(name: str) -> Any:
    if name == "DuckDBSink":
        from adverse_events.registry import get_registry

        return get_registry().resolve("sink", "duckdb")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
