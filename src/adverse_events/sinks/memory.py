"""`MemorySink`: keeps records in dicts; the reference sink every other sink must match."""

from __future__ import annotations

from collections.abc import Sequence

from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter
from adverse_events.sinks.base import split_latest

__all__ = ["MemorySink"]


class MemorySink(Backend):
    """Records by post id and dead letters by id, newest wins; `writes` counts write calls.

    Writing a record removes earlier dead letters of the same post (it has now gone through).
    """

    name = "memory"

    def __init__(self) -> None:
        self.records: dict[str, AdverseEventRecord] = {}
        self.dead_letters: dict[str, DeadLetter] = {}
        self.writes = 0
        self.closed = False

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        self.writes += 1
        good, letters = split_latest(records)
        for record in good:
            self.records[record.post_id] = record
        done = {r.post_id for r in good}
        if done:
            self.dead_letters = {
                k: d for k, d in self.dead_letters.items() if d.post_id not in done
            }
        for letter in letters:
            self.dead_letters[letter.dead_letter_id] = letter

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        return {pid for pid in post_ids if pid in self.records}

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"MemorySink({len(self.records)} records, {len(self.dead_letters)} dead letters)"
