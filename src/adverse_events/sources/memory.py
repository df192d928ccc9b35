"""`MemorySource`: posts from a Python iterable, the reference source for tests and notebooks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from adverse_events.errors import InputError
from adverse_events.protocols import Backend
from adverse_events.records import DeadLetter, Post
from adverse_events.sources._mapping import FieldMap

__all__ = ["MemorySource"]


class MemorySource(Backend):
    """Yields the given posts; dicts are mapped like a JSONL line, bad ones become dead letters.

    It can be read more than once (each `read()` starts over), like a file.
    """

    name = "memory"

    def __init__(self, items: Iterable[Post | DeadLetter | Mapping[str, Any]] = ()):
        self.items = list(items)
        self.fields = FieldMap(source=self.name)

    def read(self) -> Iterator[Post | DeadLetter]:
        for index, item in enumerate(self.items, start=1):
            if isinstance(item, (Post, DeadLetter)):
                yield item
                continue
            try:
                yield self.fields.to_post(item, index)
            except InputError as exc:
                yield DeadLetter(
                    stage="source",
                    reason=exc.reason,
                    payload=self._raw(item),
                    post_id=exc.post_id,
                    source=self.name,
                    line=index,
                )

    def _raw(self, item: Any) -> str:
        """The item as JSON with its author pseudonymised (a marker if JSON cannot hold it)."""
        try:
            return self.fields.scrub(json.dumps(item, sort_keys=True, default=str))
        except (ValueError, TypeError, RecursionError):
            return f"<{type(item).__name__} that JSON cannot hold (nested too deeply?)>"

    def __repr__(self) -> str:
        return f"MemorySource({len(self.items)} items)"
