"""Disproportionality analysis: which drug-event pairs are reported more often than expected.

For one drug D and one event E, the posts are split into a 2x2 table::

                     event E    other events
    drug D              a            b          a + b
    other drugs         c            d          c + d
                      a + c        b + d          N

**Unit of counting**: the adverse-event post, and the drug is the active ingredient (brands
and spellings of one ingredient count once; drug spans that resolved to no ingredient are left
out; ``drugs="name"`` counts names as written instead). The population of a table is the set
of posts the classifier called adverse events that name at least one drug and at least one
event (under the chosen event coding, ``by``), in one time window. A post naming two drugs
counts towards both (as a spontaneous report with two suspect drugs does); an event named twice
in a post counts once.

Statistics (see docs/signals.md for the full explanation):

* PRR = [a / (a + b)] / [c / (c + d)],
  95% CI exp(ln PRR +- 1.96 sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d))) (Evans et al. 2001).
* ROR = (a d) / (b c), 95% CI exp(ln ROR +- 1.96 sqrt(1/a + 1/b + 1/c + 1/d))
  (van Puijenbroek et al. 2002).
* Chi-square with Yates' correction, 1 degree of freedom:
  N (max(0, |ad - bc| - N/2))^2 / [(a+b)(c+d)(a+c)(b+d)]; 0 when a margin is empty.
* IC (BCPNN information component), the shrinkage observed-to-expected form of Noren et al.
  (2006, 2013): IC = log2((a + 0.5) / (E + 0.5)) with E = (a + b)(a + c) / N, and its 95%
  credibility interval by the closed-form approximation of Noren, Hopstadius and Bate (2013)::

      IC025 = IC - 3.3 (a + 0.5)^(-1/2) - 2 (a + 0.5)^(-3/2)
      IC975 = IC + 2.4 (a + 0.5)^(-1/2) - 0.5 (a + 0.5)^(-3/2)

  (the quantiles of the Gamma(a + 0.5, E + 0.5) posterior of the observed-to-expected ratio,
  approximated; the shrinkage 0.5 already keeps it finite when a = 0 or E = 0).

**Zero cells**: PRR and ROR (and their intervals) are undefined when a cell is 0. As is usual in
pharmacovigilance (Haldane-Anscombe correction), when any of a, b, c, d is 0 we add 0.5 to all
four cells before computing PRR, ROR and their intervals, and set ``corrected=True``. The
chi-square and the IC use the raw counts (they carry their own corrections), and the case-count
rule (a >= 3) always uses the raw a.

**Screening rules**, each with a minimum case count ``a >= min_cases`` (default 3, on the raw a):
Evans (PRR >= 2 and chi-square >= 4; Evans et al. 2001, whose own minimum of 3 cases holds
even when `min_cases` is set lower); ROR (lower
95% bound > 1, as EMA screens EudraVigilance); IC (IC025 > 0, BCPNN as the WHO-UMC uses it).
No rule fires on fewer cases than `min_cases`, however extreme the ratio.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from adverse_events.errors import ConfigError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = [
    "EVENT_KEYS",
    "MIN_CASES",
    "WINDOWS",
    "Disproportionality",
    "Signal",
    "disproportionality",
    "signals",
    "signals_table",
    "write_signals",
]

#: z of a two-sided 95% interval.
Z95 = 1.959963984540054
#: Haldane-Anscombe correction added to every cell when one is 0.
HALDANE = 0.5
#: Event codings a signal can be computed over.
EVENT_KEYS = ("icd10", "meddra_pt", "mention")
#: Default minimum case count (a) for every screening rule (Evans et al. 2001; EMA's ROR screen).
MIN_CASES = 3
#: Evans et al. (2001) define their rule with at least 3 cases: a lower `min_cases` keeps it.
EVANS_MIN_CASES = 3
#: Time windows: one table over all posts, or one per calendar period of `created_at`.
WINDOWS = ("all", "year", "quarter", "month", "week", "day")

EventKey = Literal["icd10", "meddra_pt", "mention"]


@dataclass(frozen=True)
class Disproportionality:
    """The statistics of one 2x2 table and which screening rules they pass."""

    a: int
    b: int
    c: int
    d: int
    expected: float
    prr: float
    prr_lower: float
    prr_upper: float
    ror: float
    ror_lower: float
    ror_upper: float
    chi2: float
    ic: float
    ic025: float
    ic975: float
    corrected: bool
    evans: bool
    ror_signal: bool
    ic_signal: bool
    min_cases: int = MIN_CASES

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def any_signal(self) -> bool:
        """True when at least one screening rule fires."""
        return self.evans or self.ror_signal or self.ic_signal


def _check_counts(a: int, b: int, c: int, d: int) -> None:
    for name, value in zip("abcd", (a, b, c, d), strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"cell {name} must be a non-negative integer count, got {value!r}")


def _ratio_ci(log_ratio: float, se: float) -> tuple[float, float, float]:
    return (math.exp(log_ratio), math.exp(log_ratio - Z95 * se), math.exp(log_ratio + Z95 * se))


def _prr(a: float, b: float, c: float, d: float) -> tuple[float, float, float]:
    log_prr = math.log(a / (a + b)) - math.log(c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return _ratio_ci(log_prr, se)


def _ror(a: float, b: float, c: float, d: float) -> tuple[float, float, float]:
    log_ror = math.log(a) + math.log(d) - math.log(b) - math.log(c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return _ratio_ci(log_ror, se)


def _chi2_yates(a: int, b: int, c: int, d: int) -> float:
    n = a + b + c + d
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins == 0:
        return 0.0
    excess = max(0.0, abs(a * d - b * c) - n / 2)
    return n * excess * excess / margins


def _ic(a: int, expected: float) -> tuple[float, float, float]:
    ic = math.log2((a + 0.5) / (expected + 0.5))
    s = a + 0.5
    return ic, ic - 3.3 * s**-0.5 - 2.0 * s**-1.5, ic + 2.4 * s**-0.5 - 0.5 * s**-1.5


def _check_min_cases(min_cases: int) -> None:
    if isinstance(min_cases, bool) or not isinstance(min_cases, int) or min_cases < 1:
        raise ConfigError(f"min_cases must be an integer of at least 1, got {min_cases!r}")


def disproportionality(
    a: int, b: int, c: int, d: int, min_cases: int = MIN_CASES
) -> Disproportionality:
    """PRR, ROR (with 95% CIs), Yates chi-square and IC (with IC025/IC975) of one 2x2 table.

    `a`: posts with the drug and the event; `b`: the drug, not the event; `c`: the event, not
    the drug; `d`: neither. Zero cells get the Haldane-Anscombe correction for PRR/ROR (module
    docstring). `min_cases`: no screening rule fires when a is below it (default 3; Evans
    never below its own 3).
    """
    _check_counts(a, b, c, d)
    _check_min_cases(min_cases)
    enough = a >= min_cases
    evans_enough = a >= max(min_cases, EVANS_MIN_CASES)  # Evans' own criterion is N >= 3
    n = a + b + c + d
    expected = (a + b) * (a + c) / n if n else 0.0
    corrected = min(a, b, c, d) == 0
    cells = tuple(x + HALDANE for x in (a, b, c, d)) if corrected else (a, b, c, d)
    prr, prr_lower, prr_upper = _prr(*cells)
    ror, ror_lower, ror_upper = _ror(*cells)
    chi2 = _chi2_yates(a, b, c, d)
    ic, ic025, ic975 = _ic(a, expected)
    return Disproportionality(
        a=a,
        b=b,
        c=c,
        d=d,
        expected=expected,
        prr=prr,
        prr_lower=prr_lower,
        prr_upper=prr_upper,
        ror=ror,
        ror_lower=ror_lower,
        ror_upper=ror_upper,
        chi2=chi2,
        ic=ic,
        ic025=ic025,
        ic975=ic975,
        corrected=corrected,
        evans=evans_enough and prr >= 2.0 and chi2 >= 4.0,
        ror_signal=enough and ror_lower > 1.0,
        ic_signal=enough and ic025 > 0.0,
        min_cases=min_cases,
    )


@dataclass(frozen=True)
class Signal:
    """One drug-event pair in one time window: its counts and its statistics."""

    window: str
    drug: str
    event: str
    event_label: str
    n_drug: int
    n_event: int
    n: int
    stats: Disproportionality

    def to_row(self) -> dict[str, Any]:
        """Flat row: window, drug, event, label, counts, statistics and rule flags."""
        row: dict[str, Any] = {
            "window": self.window,
            "drug": self.drug,
            "event": self.event,
            "event_label": self.event_label,
            "n_drug": self.n_drug,
            "n_event": self.n_event,
            "n": self.n,
        }
        row.update(asdict(self.stats))
        row["any_signal"] = self.stats.any_signal
        return row


def signal_columns() -> list[str]:
    """Column order of `Signal.to_row()`."""
    head = ["window", "drug", "event", "event_label", "n_drug", "n_event", "n"]
    return head + [f.name for f in fields(Disproportionality)] + ["any_signal"]


def _check_options(by: str, window: str) -> None:
    if by not in EVENT_KEYS:
        raise ConfigError(f"by must be one of {', '.join(EVENT_KEYS)}, got {by!r}")
    if window not in WINDOWS:
        raise ConfigError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")


def signals_from_counts(
    rows: Iterable[Sequence[Any]], min_count: int = 1, min_cases: int = MIN_CASES
) -> list[Signal]:
    """Signals from rows of (window, drug, event, label, a, n_drug, n_event, n) counts.

    `min_count` leaves pairs out of the list; `min_cases` keeps them but no rule fires below it.
    """
    _check_min_cases(min_cases)
    found = []
    for window, drug, event, label, a, n_drug, n_event, n in rows:
        a, n_drug, n_event, n = int(a), int(n_drug), int(n_event), int(n)
        if a < min_count:
            continue
        b, c = n_drug - a, n_event - a
        stats = disproportionality(a, b, c, n - a - b - c, min_cases=min_cases)
        found.append(Signal(str(window), drug, event, label or event, n_drug, n_event, n, stats))
    found.sort(key=lambda s: (s.window, not s.stats.evans, -s.stats.ic025, s.drug, s.event))
    return found


def signals(
    db: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    by: EventKey = "icd10",
    window: str = "all",
    min_count: int = 1,
    min_cases: int = MIN_CASES,
    drugs: str = "ingredient",
) -> list[Signal]:
    """Disproportionality statistics for every co-reported drug-event pair, per time window.

    `db`: a DuckDB file written by `DuckDBSink`, a folder (or glob) of Parquet files with the
    record schema (e.g. the S3 layout, ``dt=`` partitions), or an open DuckDB connection.
    `by`: the event coding (``icd10``, ``meddra_pt`` or the asserted ``mention`` text).
    `window`: ``all`` or a calendar period of ``created_at`` (posts without one are left out).
    `min_count`: leave out pairs co-reported in fewer than this many posts.
    `min_cases`: no screening rule fires on a pair co-reported in fewer posts (default 3).
    `drugs`: count by active ``ingredient`` (default; unresolved drug spans are left out) or by
    drug ``name`` as written.
    Sorted by window, then Evans signals first, then by IC025, highest first.
    """
    from adverse_events.analytics.queries import Queries, connect, fetch

    _check_options(by, window)
    with connect(db) as conn:
        queries = Queries(drugs=drugs)  # type: ignore[arg-type]
        rows = fetch(conn, queries.signal_counts(by=by, window=window))
    return signals_from_counts(
        [tuple(r.values()) for r in rows], min_count=min_count, min_cases=min_cases
    )


def signals_table(found: Sequence[Signal]) -> pa.Table:
    """Signals as an Arrow table (columns of `Signal.to_row()`)."""
    import pyarrow as pa

    rows = [s.to_row() for s in found]
    if rows:
        return pa.Table.from_pylist(rows)
    return pa.table({name: pa.array([], pa.string()) for name in signal_columns()})


def write_signals(found: Sequence[Signal], path: str | os.PathLike[str]) -> Path:
    """Write signals to ``.csv`` or ``.parquet`` (chosen by the file's suffix)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"output must end in .csv or .parquet, got {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    table = signals_table(found)
    if suffix == ".csv":
        pacsv.write_csv(table, out)
    else:
        pq.write_table(table, out)
    return out
