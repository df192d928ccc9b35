"""`RunReport`: what one pipeline run did, with counts that add up.

Every item the source hands out is counted once in `read` and ends in exactly one of
`written`, `dead_lettered`, `skipped` (``resume=True``: the sink already held it),
`duplicates_in_input` (its post id came earlier in the same run: the newer copy is stored, the
post is not counted as written twice) or `unstored` (a buffering sink accepted it but its final
flush failed). `balanced` checks that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RunReport"]


@dataclass
class RunReport:
    """What a run did. Counts are posts unless named otherwise."""

    read: int = 0
    skipped: int = 0
    duplicates_in_input: int = 0
    classified: int = 0
    adverse_events: int = 0
    extracted: int = 0
    written: int = 0
    dead_lettered: int = 0
    unstored: int = 0
    retries: int = 0
    batches: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failed: bool = False
    error: str | None = None

    @property
    def posts_per_second(self) -> float:
        """Items read per second of wall time."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def adverse_event_rate(self) -> float:
        """Share of classified posts called adverse events."""
        return self.adverse_events / self.classified if self.classified else 0.0

    @property
    def accounted(self) -> int:
        """Items that reached an outcome: written, dead-lettered, skipped, duplicates or
        unstored."""
        return (
            self.written
            + self.dead_lettered
            + self.skipped
            + self.duplicates_in_input
            + self.unstored
        )

    @property
    def balanced(self) -> bool:
        """True when every item read reached exactly one outcome (always, once a run ends
        without failing; a failed or interrupted run may leave a batch it never finished)."""
        return self.read == self.accounted

    def fail(self, error: str) -> None:
        """Mark the run failed; the first error is the one reported."""
        if not self.failed:
            self.failed, self.error = True, error

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["posts_per_second"] = round(self.posts_per_second, 1)
        data["adverse_event_rate"] = round(self.adverse_event_rate, 4)
        return data
