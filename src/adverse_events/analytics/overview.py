"""The key numbers of a records store in one call: what ``adverse-events report`` prints.

`overview` runs the summary, the drug-event pair counts, the names behind each ingredient, the
unresolved drug spans, the provenance and the dead-letter counts over one connection, then the
disproportionality signals, and hands back plain rows (dicts), so a caller can print them, test
them or turn them into a page without knowing the SQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adverse_events.analytics.signals import MIN_CASES

if TYPE_CHECKING:
    from adverse_events.analytics.signals import Signal

__all__ = ["Overview", "overview"]

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Overview:
    """The key numbers of a records store; each table is a list of rows (column -> value).

    `summary`: one row of totals (posts, adverse-event posts, mentions, ...); `pairs`: drug x
    event counts, most frequent first; `brands`: the names behind each ingredient;
    `unresolved`: drug spans that resolved to no ingredient (left out of the counts);
    `provenance`: models and extractors that wrote the records; `dead_letters`: counts by stage
    and reason; `signals`: every pair's disproportionality (`Signal`), flagged or not.
    """

    summary: dict[str, Any]
    pairs: Rows = field(default_factory=list)
    brands: Rows = field(default_factory=list)
    unresolved: Rows = field(default_factory=list)
    provenance: Rows = field(default_factory=list)
    dead_letters: Rows = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)

    @property
    def flagged(self) -> list[Signal]:
        """The signals where a screening rule fires."""
        return [s for s in self.signals if s.stats.any_signal]


def overview(
    db: str | os.PathLike[str],
    by: str = "icd10",
    min_cases: int = MIN_CASES,
    drugs: str = "ingredient",
) -> Overview:
    """The key numbers of `db` (a DuckDB sink file or a Parquet folder of records).

    `by`: the event coding (``icd10``, ``meddra_pt`` or ``mention``); `min_cases`: no screening
    rule fires on a pair seen in fewer posts; `drugs`: count by active ``ingredient`` or by
    ``name`` as written. Bad options and a missing store raise `ConfigError`; query failures
    `BackendError`.
    """
    from adverse_events.analytics.queries import Queries, connect, fetch
    from adverse_events.analytics.signals import signals

    queries = Queries(drugs=drugs)  # type: ignore[arg-type]
    with connect(db) as conn:
        [summary] = fetch(conn, queries.summary())
        pairs = fetch(conn, queries.drug_event_counts(by=by))
        brands = fetch(conn, queries.brand_breakdown())
        unresolved = fetch(conn, queries.unresolved_drugs())
        provenance = fetch(conn, queries.provenance())
        letters = fetch(conn, queries.dead_letter_counts())
    found = signals(db, by=by, min_cases=min_cases, drugs=drugs)  # type: ignore[arg-type]
    return Overview(summary, pairs, brands, unresolved, provenance, letters, found)
