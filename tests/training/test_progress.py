"""`training._progress`: bars on a terminal, nested bars share one live display."""

from __future__ import annotations

import io

import pytest

from adverse_events.training import _progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nested_progress_adds_a_line_to_the_open_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", _Terminal())
    with _progress.progress("cross-validation", total=2) as outer:
        bar = _progress._active[-1]
        with _progress.progress("cross-fitting", total=3) as inner:
            assert _progress._active == [bar] and len(bar.tasks) == 2
            inner(3)
        assert len(bar.tasks) == 1  # the inner line is gone, the outer bar goes on
        outer(2)
        assert bar.tasks[0].completed == 2
    assert _progress._active == []


def test_no_bar_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with _progress.progress("quiet", total=1) as advance:
        advance(1)
    assert _progress._active == []
