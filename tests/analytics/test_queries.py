"""The analytics SQL: runs on the DuckDB file and its Parquet (S3 layout) export with the same
answers; the Athena variants have the right shape and stay in the common SQL subset."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adverse_events.analytics.queries import Queries, connect, fetch
from adverse_events.errors import ConfigError

pytestmark = pytest.mark.integration


def run_all(db: Any, queries: Queries) -> dict[str, list[dict[str, Any]]]:
    with connect(db) as conn:
        return {name: fetch(conn, sql) for name, sql in queries.all_queries().items()}


def records(db: Path) -> list[dict[str, Any]]:
    import duckdb

    conn = duckdb.connect(str(db), read_only=True)
    cursor = conn.execute(
        "SELECT post_id, created_at, ingredients AS drugs, icd10_codes, "
        "is_adverse_event, score FROM adverse_events"
    )
    names = [c[0] for c in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    conn.close()
    return rows


def test_duckdb_file_and_parquet_layout_give_the_same_answers(
    synthetic_db: Path, parquet_export: Path
) -> None:
    from_file = run_all(synthetic_db, Queries())
    from_parquet = run_all(parquet_export, Queries())
    for name, rows in from_file.items():
        assert rows, name
        key = sorted(map(repr, rows))
        assert key == sorted(map(repr, from_parquet[name])), name


def test_a_parquet_glob_reads_records_only(parquet_export: Path) -> None:
    glob = str(parquet_export / "adverse_events" / "*" / "*.parquet")
    result = run_all(glob, Queries())
    assert result["summary"][0]["posts"] > 2000
    assert result["dead_letter_counts"] == []


def test_volume_and_counts_match_the_rows(synthetic_db: Path) -> None:
    rows = [r for r in records(synthetic_db) if r["is_adverse_event"]]
    result = run_all(synthetic_db, Queries())
    per_drug = Counter(d for r in rows for d in r["drugs"])
    volume: Counter = Counter()
    for row in result["ae_volume"]:
        volume[row["drug"]] += row["posts"]
    assert volume == per_drug  # each post once per day, and posts fall in one day
    [summary] = result["summary"]
    assert summary["ae_posts"] == len(rows)
    pairs = Counter((d, c) for r in rows for d in r["drugs"] for c in set(r["icd10_codes"]))
    assert {(x["drug"], x["event"]): x["posts"] for x in result["drug_event_counts"]} == pairs
    assert sum(x["posts"] for x in result["score_distribution"]) == len(records(synthetic_db))
    assert result["dead_letter_counts"][0]["letters"] == 6
    assert {x["model"] for x in result["provenance"]} == {"synthetic-mock-classifier/1.0"}


def test_top_events_are_ranked_per_drug(synthetic_db: Path) -> None:
    with connect(synthetic_db) as conn:
        rows = fetch(conn, Queries().top_events(by="meddra_pt", limit=3))
    by_drug: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_drug.setdefault(row["drug"], []).append(row)
    assert len(by_drug) == 6
    for ranked in by_drug.values():
        assert [r["rank"] for r in ranked] == [1, 2, 3]
        assert [r["posts"] for r in ranked] == sorted((r["posts"] for r in ranked), reverse=True)
    assert by_drug["sertraline"][0]["label"] == "Insomnia"  # the planted event leads


def test_mention_events_include_uncoded_ones(synthetic_db: Path) -> None:
    with connect(synthetic_db) as conn:
        events = {r["event"] for r in fetch(conn, Queries().drug_event_counts(by="mention"))}
    assert "brain fog" in events and "insomnia" in events


def test_recent_posts_newest_first_with_mentions(synthetic_db: Path) -> None:
    with connect(synthetic_db) as conn:
        rows = fetch(conn, Queries().recent_posts(limit=5))
    assert len(rows) == 5
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    assert all(r["events"] and r["icd10_codes"] for r in rows)


def test_since_until_filter(synthetic_db: Path) -> None:
    q = Queries(since=date(2024, 3, 1), until=date(2024, 4, 1))
    with connect(synthetic_db) as conn:
        volume = fetch(conn, q.ae_volume(grain="month"))
        [summary] = fetch(conn, q.summary())
    assert {str(r["period"]) for r in volume} == {"2024-03-01"}
    assert summary["first_post"].month == summary["last_post"].month == 3


def test_athena_sql_runs_in_the_common_subset(synthetic_db: Path, parquet_export: Path) -> None:
    """The Athena text (schema-qualified tables, dt pruning) runs unchanged on DuckDB over the
    same Parquet layout, with the same answers as the DuckDB text."""
    athena = Queries(
        dialect="athena",
        records="ae_db.predictions",
        dead_letters="ae_db.dead_letters",
        since=date(2024, 2, 1),
    )
    local = Queries(since=date(2024, 2, 1))
    with connect(parquet_export) as conn:
        conn.execute("CREATE SCHEMA ae_db")
        conn.execute("CREATE VIEW ae_db.predictions AS SELECT * FROM adverse_events")
        conn.execute("CREATE VIEW ae_db.dead_letters AS SELECT * FROM dead_letters")
        for name, sql in athena.all_queries().items():
            assert sorted(map(repr, fetch(conn, sql))) == sorted(
                map(repr, fetch(conn, local.all_queries()[name]))
            ), name


def test_drugs_count_by_ingredient_and_names_on_demand(synthetic_db: Path) -> None:
    from adverse_events.analytics.synthetic import BRANDS, DRUGS, UNRESOLVED_SPAN

    by_ingredient = run_all(synthetic_db, Queries())
    by_name = run_all(synthetic_db, Queries(drugs="name"))
    ingredients = {r["drug"] for r in by_ingredient["ae_volume"]} - {"(no drug)"}
    names = {r["drug"] for r in by_name["ae_volume"]} - {"(no drug)"}
    assert ingredients == set(DRUGS)  # brands count as their ingredient, no unresolved span
    assert names == set(DRUGS) | {b.lower() for b in BRANDS.values()} | {UNRESOLVED_SPAN}
    brands = {(r["ingredients"], r["name"]): r["posts"] for r in by_ingredient["brand_breakdown"]}
    assert ("sertraline", "zoloft") in brands and ("sertraline", "sertraline") in brands
    assert not any(name == UNRESOLVED_SPAN for _, name in brands)
    [unresolved] = by_ingredient["unresolved_drugs"]
    assert unresolved["name"] == UNRESOLVED_SPAN and unresolved["posts"] > 0
    volume = {r["drug"]: 0 for r in by_ingredient["ae_volume"]}
    for r in by_ingredient["ae_volume"]:
        volume[r["drug"]] += r["posts"]
    name_volume = {r["drug"]: 0 for r in by_name["ae_volume"]}
    for r in by_name["ae_volume"]:
        name_volume[r["drug"]] += r["posts"]
    # posts naming sertraline both ways count once by ingredient, once per name by name
    assert volume["sertraline"] <= name_volume["sertraline"] + name_volume["zoloft"]
    assert volume["sertraline"] > name_volume["sertraline"]


@pytest.mark.unit
def test_athena_variants_have_the_expected_shape() -> None:
    athena = Queries(
        dialect="athena",
        records="ae_db.predictions",
        dead_letters="ae_db.dead_letters",
        since=date(2024, 2, 1),
    )
    sql = athena.all_queries()
    assert set(sql) == {
        "summary",
        "ae_volume",
        "top_events",
        "drug_event_counts",
        "recent_posts",
        "score_distribution",
        "dead_letter_counts",
        "provenance",
        "signal_counts",
        "brand_breakdown",
        "unresolved_drugs",
    }
    for name, text in sql.items():
        table = "ae_db.dead_letters" if name == "dead_letter_counts" else "ae_db.predictions"
        assert re.search(rf"\bFROM {re.escape(table)}\b", text), name
        assert "adverse_events " not in text and "::" not in text, name
        for duckdb_only in ("list_", "strftime", "epoch_ms", "struct_pack", "read_parquet"):
            assert duckdb_only not in text, (name, duckdb_only)
        if name != "dead_letter_counts":
            assert "dt >= '2024-02-01'" in text, name  # partition pruning
            assert "created_at >= TIMESTAMP '2024-02-01 00:00:00'" in text, name
    assert "CROSS JOIN UNNEST(ae.icd10_codes) WITH ORDINALITY AS e(event, i)" in sql["top_events"]
    assert "ae.icd10_descriptions[e.i]" in sql["top_events"]
    assert "dt >=" not in Queries(since=date(2024, 2, 1)).summary()  # DuckDB file: no dt column
    monthly = athena.signal_counts(by="meddra_pt", window="month")
    assert "date_trunc('month', created_at)" in monthly and "meddra_pt_codes" in monthly


@pytest.mark.unit
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Queries(dialect="bigquery"), "dialect"),  # type: ignore[arg-type]
        (lambda: Queries(records="x; DROP TABLE y"), "table name"),
        (lambda: Queries().ae_volume(grain="hour"), "grain"),
        (lambda: Queries().top_events(by="snomed"), "by must be"),
        (lambda: Queries().score_distribution(bins=0), "bins"),
        (lambda: Queries(drugs="brand"), "drugs must be"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_config_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_connect_errors_are_clear(tmp_path: Path) -> None:
    import duckdb

    with pytest.raises(ConfigError, match="no database"):
        with connect(tmp_path / "nope.duckdb"):
            pass
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(ConfigError, match="no adverse_events table"):
        with connect(other):
            pass
