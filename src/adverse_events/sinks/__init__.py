"""Sinks: where records and dead letters are stored (JSONL, DuckDB, Parquet, memory; S3 etc.).

`DuckDBSink` and `ParquetSink` need extras and are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.protocols import ResumableSink, Sink
from adverse_events.sinks.jsonl import JsonlSink
from adverse_events.sinks.memory import MemorySink

if TYPE_CHECKING:
    from adverse_events.sinks.duckdb import DuckDBSink
    from adverse_events.sinks.parquet import ParquetSink

__all__ = ["DuckDBSink", "JsonlSink", "MemorySink", "ParquetSink", "ResumableSink", "Sink"]

#: sinks with optional dependencies, imported on first use (with an install hint if missing)
_LAZY = {"DuckDBSink": "duckdb", "ParquetSink": "parquet"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from adverse_events.registry import get_registry

        return get_registry().resolve("sink", _LAZY[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
