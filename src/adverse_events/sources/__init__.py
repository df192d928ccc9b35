"""Sources: where posts come from (JSONL, CSV, memory, replay; Parquet, X and DynamoDB streams
with extras).

Backends that need an extra (`ParquetSource`, `XSource` and `TwitterSource`, its old name: the
same class, `DynamoDBStreamSource`) are imported on first use, with an install hint when the
extra is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adverse_events.protocols import Source
from adverse_events.registry import lazy_backends
from adverse_events.sources.files import CsvSource, JsonlSource
from adverse_events.sources.memory import MemorySource
from adverse_events.sources.replay import ReplaySource

if TYPE_CHECKING:
    from adverse_events.sources.dynamodb_stream import DynamoDBStreamSource
    from adverse_events.sources.parquet import ParquetSource
    from adverse_events.sources.x import XSource
    from adverse_events.sources.x import XSource as TwitterSource

__all__ = [
    "CsvSource",
    "DynamoDBStreamSource",
    "JsonlSource",
    "MemorySource",
    "ParquetSource",
    "ReplaySource",
    "Source",
    "TwitterSource",
    "XSource",
]

#: public name -> registry name; imported on first use (with an install hint if missing)
_LAZY = {
    "DynamoDBStreamSource": "dynamodb-stream",
    "ParquetSource": "parquet",
    "TwitterSource": "twitter",
    "XSource": "x",
}

__getattr__ = lazy_backends(__name__, "source", _LAZY)
