"""Hook specifications, grouped by phase. The docstrings are the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from adverse_events.records import AdverseEventRecord, DeadLetter, Post
    from adverse_events.report import RunReport

PROJECT_NAME = "adverse_events"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: The shape `adverse_events_backends` returns: role -> name -> ("module:Class", extra or None).
BackendTable = Mapping[str, Mapping[str, tuple[str, str | None]]]


class AdverseEventsSpec:
    """All hooks a plugin may implement."""

    # -- registration -------------------------------------------------------------------------
    @hookspec
    def adverse_events_backends(self) -> BackendTable:  # type: ignore[empty-body]
        """Return more backends: ``{role: {name: ("module:Class", extra_or_None)}}``.

        `role` is one of ``source``, ``classifier``, ``extractor``, ``sink``. Classes are
        imported only when first used. A name already taken in the same role is an error.
        """

    # -- run lifecycle ------------------------------------------------------------------------
    @hookspec
    def before_batch(self, posts: Sequence[Post]) -> None:
        """Called with each batch of posts before it is classified."""

    @hookspec
    def after_batch(self, records: Sequence[AdverseEventRecord], report: RunReport) -> None:
        """Called after a batch's records were written; `report` holds the running totals."""

    @hookspec
    def on_dead_letter(self, dead_letter: DeadLetter) -> None:
        """Called for every dead letter before it is written (audit logging, alerting)."""

    @hookspec
    def after_run(self, report: RunReport) -> None:
        """Called once when a run ends, interrupted or not."""
