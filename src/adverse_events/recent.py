"""`RecentIds`: bounded-memory de-duplication of ids, for endless streams and long runs.

Shared by the runner (ids already stored in this run) and the streaming sources (items a
reconnecting stream delivers again).
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["RecentIds"]


class RecentIds:
    """The last `size` ids seen; older ones are forgotten (least recently seen first)."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def seen(self, item_id: str) -> bool:
        """True when `item_id` was seen before; remembers it either way."""
        if item_id in self._ids:
            self._ids.move_to_end(item_id)
            return True
        self._ids[item_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False
