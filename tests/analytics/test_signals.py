"""Disproportionality statistics against textbook formulas, and signals over synthetic data."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adverse_events.analytics.signals import (
    disproportionality,
    signals,
    signals_from_counts,
    signals_table,
    write_signals,
)
from adverse_events.analytics.synthetic import NULL_PAIR, PLANTED
from adverse_events.errors import ConfigError

pytestmark = pytest.mark.unit

counts = st.integers(min_value=0, max_value=5000)
positive = st.integers(min_value=1, max_value=5000)


def textbook(a: float, b: float, c: float, d: float) -> dict[str, float]:
    """PRR/ROR (Evans 2001; van Puijenbroek 2002) and their Wald 95% CIs, written out."""
    prr = (a / (a + b)) / (c / (c + d))
    prr_se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    ror = (a * d) / (b * c)
    ror_se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return {
        "prr": prr,
        "prr_lower": prr * math.exp(-1.96 * prr_se),
        "prr_upper": prr * math.exp(1.96 * prr_se),
        "ror": ror,
        "ror_lower": ror * math.exp(-1.96 * ror_se),
        "ror_upper": ror * math.exp(1.96 * ror_se),
    }


def yates(a: int, b: int, c: int, d: int) -> float:
    n = a + b + c + d
    num = n * (max(0.0, abs(a * d - b * c) - n / 2)) ** 2
    den = (a + b) * (c + d) * (a + c) * (b + d)
    return num / den if den else 0.0


def close(x: float, y: float) -> bool:
    # 1.96 vs 1.959964: relative differences below 1e-4 on the bounds
    return math.isclose(x, y, rel_tol=2e-4, abs_tol=1e-9)


@given(positive, positive, positive, positive)
def test_prr_ror_match_textbook_when_no_cell_is_zero(a: int, b: int, c: int, d: int) -> None:
    got = disproportionality(a, b, c, d)
    assert not got.corrected
    for name, value in textbook(a, b, c, d).items():
        assert close(getattr(got, name), value), name


@given(counts, counts, counts, counts)
def test_zero_cells_get_haldane_correction_on_every_cell(a: int, b: int, c: int, d: int) -> None:
    got = disproportionality(a, b, c, d)
    has_zero = 0 in (a, b, c, d)
    assert got.corrected is has_zero
    cells = [x + 0.5 for x in (a, b, c, d)] if has_zero else [a, b, c, d]
    for name, value in textbook(*cells).items():
        assert close(getattr(got, name), value), name
    for name in ("prr", "prr_lower", "prr_upper", "ror", "ror_lower", "ror_upper", "ic"):
        assert math.isfinite(getattr(got, name)), name


@given(counts, counts, counts, counts)
def test_chi2_ic_and_rules_match_direct_formulas(a: int, b: int, c: int, d: int) -> None:
    got = disproportionality(a, b, c, d)
    n = a + b + c + d
    expected = (a + b) * (a + c) / n if n else 0.0
    ic = math.log2((a + 0.5) / (expected + 0.5))
    assert math.isclose(got.expected, expected, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(got.chi2, yates(a, b, c, d), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(got.ic, ic, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(
        got.ic025, ic - 3.3 / math.sqrt(a + 0.5) - 2 / (a + 0.5) ** 1.5, abs_tol=1e-9
    )
    assert math.isclose(
        got.ic975, ic + 2.4 / math.sqrt(a + 0.5) - 0.5 / (a + 0.5) ** 1.5, abs_tol=1e-9
    )
    assert got.evans == (got.prr >= 2 and got.chi2 >= 4 and a >= 3)
    assert got.ror_signal == (got.ror_lower > 1 and a >= 3)
    assert got.ic_signal == (got.ic025 > 0 and a >= 3)


@given(counts, counts, counts, counts)
def test_intervals_contain_their_estimates(a: int, b: int, c: int, d: int) -> None:
    got = disproportionality(a, b, c, d)
    assert got.prr_lower <= got.prr <= got.prr_upper
    assert got.ror_lower <= got.ror <= got.ror_upper
    assert got.ic025 < got.ic < got.ic975


def test_worked_example() -> None:
    # 10 of 100 posts about the drug report the event; 20 of 900 about other drugs do.
    got = disproportionality(10, 90, 20, 880)
    assert got.prr == pytest.approx(4.5)
    assert got.ror == pytest.approx(10 * 880 / (90 * 20))
    assert got.chi2 == pytest.approx(1000 * (abs(8800 - 1800) - 500) ** 2 / (100 * 900 * 30 * 970))
    assert got.expected == pytest.approx(3.0)
    assert got.ic == pytest.approx(math.log2(10.5 / 3.5))
    assert got.evans and got.ror_signal and got.ic_signal and got.any_signal


def test_small_counts_do_not_fire_evans() -> None:
    # PRR is huge but only two posts: the a >= 3 rule holds Evans back.
    got = disproportionality(2, 0, 0, 1000)
    assert got.corrected and got.prr > 100 and not got.evans
    assert not disproportionality(0, 10, 10, 1000).any_signal


# Tables where each rule's statistic alone passes at a = 2 and a = 3 (d large, b = c = 0 or
# small): only the case count decides. Evans et al. 2001 (PRR, chi2); EMA's ROR lower bound > 1;
# BCPNN IC025 > 0.
RULE_TABLES = {
    "evans": {2: (2, 0, 0, 1000), 3: (3, 0, 0, 1000)},
    "ror_signal": {2: (2, 1, 1, 5000), 3: (3, 1, 1, 5000)},
    "ic_signal": {2: (2, 0, 0, 100000), 3: (3, 0, 0, 100000)},
}


@pytest.mark.parametrize("rule", sorted(RULE_TABLES))
def test_each_rule_needs_the_minimum_case_count(rule: str) -> None:
    two, three = RULE_TABLES[rule][2], RULE_TABLES[rule][3]
    assert not getattr(disproportionality(*two), rule)  # default minimum 3: a = 2 is silent
    assert getattr(disproportionality(*three), rule)  # a = 3 fires
    # with a minimum of 2 the ROR rule fires at a = 2; Evans keeps its own minimum of 3 cases
    # (Evans et al. 2001); IC025 cannot exceed 0 with a = 2 (its shrinkage:
    # log2(2.5 / 0.5) - 3.3 / sqrt(2.5) - 2 / 2.5^1.5 < 0)
    assert getattr(disproportionality(*two, min_cases=2), rule) is (rule == "ror_signal")
    assert getattr(disproportionality(*three, min_cases=1), rule)
    assert not getattr(disproportionality(*three, min_cases=4), rule)
    assert disproportionality(*two).min_cases == 3


@given(counts, counts, counts, counts, st.integers(min_value=1, max_value=10))
def test_no_rule_fires_below_the_minimum(a: int, b: int, c: int, d: int, minimum: int) -> None:
    got = disproportionality(a, b, c, d, min_cases=minimum)
    if a < minimum:
        assert not (got.evans or got.ror_signal or got.ic_signal or got.any_signal)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_min_cases_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ConfigError, match="min_cases"):
        disproportionality(1, 1, 1, 1, min_cases=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="min_cases"):
        signals_from_counts([], min_cases=bad)  # type: ignore[arg-type]


def test_signals_from_counts_applies_the_minimum() -> None:
    rows = [("all", "x", "E1", "Event one", 2, 2, 2, 1000)]
    [default] = signals_from_counts(rows)
    [lowered] = signals_from_counts(rows, min_cases=2)
    assert not default.stats.any_signal and default.to_row()["min_cases"] == 3
    assert lowered.stats.ror_signal and not lowered.stats.evans  # Evans: never below 3 cases


def test_empty_table_is_neutral() -> None:
    got = disproportionality(0, 0, 0, 0)
    assert got.prr == pytest.approx(1.0) and got.ror == pytest.approx(1.0)
    assert got.chi2 == 0.0 and got.ic == 0.0 and not got.any_signal


@pytest.mark.parametrize("cells", [(-1, 1, 1, 1), (1.5, 1, 1, 1), (True, 1, 1, 1)])
def test_rejects_non_counts(cells: tuple) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        disproportionality(*cells)


# -- signals() over the synthetic database -----------------------------------------------------


def by_pair(found: list) -> dict:
    return {(s.window, s.drug, s.event): s for s in found}


@pytest.mark.integration
@pytest.mark.parametrize("by", ["icd10", "meddra_pt", "mention"])
def test_planted_signal_fires_and_null_pair_does_not(synthetic_db: Path, by: str) -> None:
    found = by_pair(signals(synthetic_db, by=by))
    event_of = {
        "icd10": lambda phrase, code: code,
        "meddra_pt": lambda phrase, code: {
            "G47.00": "10022437",
            "R19.7": "10012735",
            "R51.9": "10019211",
        }[code],
        "mention": lambda phrase, code: phrase,
    }[by]
    drug, phrase, code = PLANTED[0]
    planted = found[("all", drug, event_of(phrase, code))].stats
    assert planted.evans and planted.ror_signal and planted.ic_signal
    drug, phrase, code = NULL_PAIR
    null = found[("all", drug, event_of(phrase, code))].stats
    assert not null.any_signal
    assert null.a >= 50  # common pair: not firing is not for lack of counts


@pytest.mark.integration
def test_counts_match_an_independent_count_over_records(synthetic_db: Path) -> None:
    import duckdb

    from adverse_events.records import AdverseEventRecord

    conn = duckdb.connect(str(synthetic_db), read_only=True)
    cursor = conn.execute("SELECT * FROM adverse_events")
    names = [col[0] for col in cursor.description]
    records = [
        AdverseEventRecord.from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()
    ]
    conn.close()
    posts = {
        r.post_id: (set(r.ingredients), {c.code for c in r.codes("ICD-10-CM")})
        for r in records
        if r.prediction.is_adverse_event
    }
    universe = {p: v for p, v in posts.items() if v[0] and v[1]}
    n = len(universe)
    pair_a: dict = defaultdict(int)
    for drugs, events in universe.values():
        for drug in drugs:
            for event in events:
                pair_a[(drug, event)] += 1
    found = by_pair(signals(synthetic_db, by="icd10"))
    assert {(d, e) for (_, d, e) in found} == set(pair_a)
    for (_, drug, event), s in found.items():
        assert s.n == n and s.stats.a == pair_a[(drug, event)]
        assert s.n_drug == sum(drug in v[0] for v in universe.values())
        assert s.n_event == sum(event in v[1] for v in universe.values())
        assert s.stats.a + s.stats.b + s.stats.c + s.stats.d == n


@pytest.mark.integration
def test_monthly_windows_partition_the_posts(synthetic_db: Path) -> None:
    overall = signals(synthetic_db, by="icd10")
    monthly = signals(synthetic_db, by="icd10", window="month")
    windows = sorted({s.window for s in monthly})
    assert windows[0] == "2024-01-01" and len(windows) in (6, 7)
    assert sum({s.window: s.n for s in monthly}.values()) == overall[0].n
    a_total: dict = defaultdict(int)
    for s in monthly:
        a_total[(s.drug, s.event)] += s.stats.a
    assert a_total == {(s.drug, s.event): s.stats.a for s in overall}


@pytest.mark.integration
def test_min_cases_reaches_the_database_query(synthetic_db: Path) -> None:
    default = signals(synthetic_db, by="icd10")
    strict = signals(synthetic_db, by="icd10", min_cases=10_000)
    assert any(s.stats.any_signal for s in default)
    assert not any(s.stats.any_signal for s in strict)
    assert len(strict) == len(default)  # pairs are kept, only the rules are silenced


@pytest.mark.integration
def test_min_count_and_ordering(synthetic_db: Path) -> None:
    found = signals(synthetic_db, by="icd10", min_count=50)
    assert found and all(s.stats.a >= 50 for s in found)
    evans = [s.stats.evans for s in found]
    assert evans == sorted(evans, reverse=True)  # Evans signals first


def test_bad_options_are_config_errors(synthetic_db: Path) -> None:
    with pytest.raises(ConfigError, match="by must be one of"):
        signals(synthetic_db, by="snomed")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="window must be one of"):
        signals(synthetic_db, window="fortnight")
    with pytest.raises(ConfigError, match="no database"):
        signals(synthetic_db.parent / "missing.duckdb")


def test_write_signals_csv_and_parquet(tmp_path: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    found = signals_from_counts(
        [
            ("all", "x", "E1", "Event one", 10, 100, 30, 1000),
            ("all", "y", "E1", "Event one", 20, 900, 30, 1000),
        ]
    )
    csv_rows = pacsv.read_csv(write_signals(found, tmp_path / "s.csv")).to_pylist()
    parquet_rows = pq.read_table(write_signals(found, tmp_path / "s.parquet")).to_pylist()
    assert csv_rows[0]["drug"] == parquet_rows[0]["drug"] == "x"
    assert parquet_rows[0]["prr"] == pytest.approx(4.5)
    assert parquet_rows[0]["evans"] is True and parquet_rows[1]["evans"] is False
    assert signals_table([]).num_rows == 0
    with pytest.raises(ConfigError, match=r"\.csv or \.parquet"):
        write_signals(found, tmp_path / "s.xlsx")
