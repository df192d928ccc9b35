"""Sources: where posts come from (files, memory; X, DynamoDB streams with extras).

`XSource` (and `TwitterSource`, its old name: the same class) needs the `twitter` extra and is
imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adverse_events.protocols import Source
from adverse_events.sources.files import CsvSource, JsonlSource
from adverse_events.sources.memory import MemorySource

if TYPE_CHECKING:
    from adverse_events.sources.x import XSource
    from adverse_events.sources.x import XSource as TwitterSource

__all__ = ["CsvSource", "JsonlSource", "MemorySource", "Source", "TwitterSource", "XSource"]

#: public name -> registry name; imported on first use (with an install hint if missing)
_LAZY = {"TwitterSource": "twitter", "XSource": "x"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from adverse_events.registry import get_registry

        return get_registry().resolve("source", _LAZY[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
