"""The `Sink` role: see `adverse_events.protocols.Sink`, plus helpers shared by sinks."""

from __future__ import annotations

from collections.abc import Sequence

from adverse_events.protocols import Backend, ResumableSink, Sink
from adverse_events.records import AdverseEventRecord, DeadLetter

__all__ = ["Backend", "ResumableSink", "Sink", "split_latest"]


def split_latest(
    items: Sequence[AdverseEventRecord | DeadLetter],
) -> tuple[list[AdverseEventRecord], list[DeadLetter]]:
    """Split a batch into records and dead letters, keeping only the last of each id.

    Sinks call this so a batch that holds the same post twice stores it once (the newer).
    """
    records: dict[str, AdverseEventRecord] = {}
    letters: dict[str, DeadLetter] = {}
    for item in items:
        if isinstance(item, AdverseEventRecord):
            records.pop(item.post_id, None)
            records[item.post_id] = item
        else:
            letters.pop(item.dead_letter_id, None)
            letters[item.dead_letter_id] = item
    return list(records.values()), list(letters.values())
