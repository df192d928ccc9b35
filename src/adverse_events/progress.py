"""`RunProgress`: one live progress line on a terminal (rich), a log line every 10 s otherwise.

Shared by the local runner and the Ray engine, which describe a run with the same counts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["RunProgress", "describe"]

log = logging.getLogger("adverse_events.progress")


def describe(report: Any) -> str:
    """The counts a person watches: read, adverse events, written, dead letters."""
    return (
        f"read {report.read:,}  adverse events {report.adverse_events:,}  "
        f"written {report.written:,}  dead letters {report.dead_lettered:,}"
    )


class RunProgress:
    """A context manager; `show(text)` replaces the line (or logs it, at most every 10 s)."""

    def __init__(
        self, enabled: bool, starting: str = "starting", logger: logging.Logger | None = None
    ):
        self.enabled, self.starting, self.log = enabled, starting, logger or log
        self._bar: Any = None
        self._task: Any = None
        self._last_log = time.monotonic()

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.starting, total=None)
        return self

    def show(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        elif time.monotonic() - self._last_log >= 10:
            self._last_log = time.monotonic()
            self.log.info(text)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()
