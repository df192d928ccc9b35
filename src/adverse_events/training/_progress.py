"""A rich progress bar on a terminal, nothing otherwise (logs and CI stay readable)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: the bar being drawn; a nested `progress` (cross-fitting inside cross-validation) adds a line
#: to it, since rich draws one live display at a time
_active: list[Any] = []


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a bar only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    if _active:
        bar = _active[-1]
        task = bar.add_task(description, total=total)
        try:
            yield lambda n: bar.advance(task, n)
        finally:
            bar.remove_task(task)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        _active.append(bar)
        try:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)
        finally:
            _active.pop()
