"""`adverse_events.schema` is the one schema: rows, DDL and what every tabular sink writes."""

from __future__ import annotations

import pytest

from adverse_events import Concept, Mention
from adverse_events.records import DeadLetter
from adverse_events.schema import (
    CONCEPTS,
    DEAD_LETTERS,
    MENTIONS,
    RECORDS,
    TABLES,
    TYPES,
    Column,
    Table,
    concept_rows,
    dead_letter_row,
    mention_rows,
    record_row,
)
from adverse_events.testing import make_dead_letter, make_record

pytestmark = pytest.mark.unit

_MENTION = Mention(
    text="headache",
    start=20,
    end=28,
    category="ADVERSE_EVENT",
    score=0.9,
    concepts=(Concept(system="ICD-10-CM", code="R51.9", description="Headache", score=0.8),),
)


def _record(post_id: str = "p1"):
    return make_record(post_id, mentions=(_MENTION,))


def _letter() -> DeadLetter:
    return DeadLetter(stage="classify", reason="throttled", post_id="p9", transient=True)


def test_rows_have_exactly_the_declared_columns_in_order():
    record = _record()
    assert tuple(record_row(record)) == RECORDS.names
    assert tuple(dead_letter_row(_letter())) == DEAD_LETTERS.names
    assert tuple(mention_rows([record])[0]) == MENTIONS.names
    assert tuple(concept_rows([record])[0]) == CONCEPTS.names


def test_every_column_type_maps_to_duckdb_hive_and_arrow():
    for table in TABLES:
        assert len(table.arrow_schema()) == len(table.columns)
        assert [t for _, t in table.hive_columns()] == [TYPES[c.type][1] for c in table.columns]
    with pytest.raises(ValueError, match="unknown type"):
        Column("x", "varchar")


def test_dead_letter_transient_flag_round_trips_and_defaults_to_false():
    assert DeadLetter.from_row(dead_letter_row(_letter())).transient is True
    row = dead_letter_row(make_dead_letter())
    assert row["transient"] is False
    row["transient"] = None  # a row stored before the column existed
    assert DeadLetter.from_row(row).transient is False


def _duckdb_columns(conn, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {table}").fetchall()]


def test_duckdb_sink_tables_are_the_schema(tmp_path):
    pytest.importorskip("duckdb")
    from adverse_events.sinks.duckdb import DuckDBSink

    sink = DuckDBSink(tmp_path / "ae.duckdb")
    sink.write([_record(), _letter()])
    for table in TABLES:
        expected = [
            (c.name, TYPES[c.type][0].replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"))
            for c in table.columns
        ]
        assert _duckdb_columns(sink.connection, table.name) == expected
    sink.close()


def test_duckdb_file_from_an_older_release_gains_new_columns(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    from adverse_events.sinks.duckdb import DuckDBSink

    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    old = Table("dead_letters", DEAD_LETTERS.columns[:-1], key="dead_letter_id")
    assert "transient" not in old.names
    conn.execute(old.duckdb_ddl())
    conn.execute(
        "INSERT INTO dead_letters (dead_letter_id, stage, reason, payload, failed_at) "
        "VALUES ('x', 'source', 'r', '', now())"
    )
    conn.close()
    sink = DuckDBSink(path)
    sink.write([_letter()])
    letters = {d.reason: d.transient for d in sink.read_dead_letters()}
    assert letters == {"r": False, "throttled": True}
    sink.close()


def test_parquet_sink_files_are_the_schema(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from adverse_events.sinks.parquet import ParquetSink

    sink = ParquetSink(tmp_path / "out")
    sink.write([_record(), _letter()])
    sink.close()
    [records] = sorted((tmp_path / "out" / "adverse_events").rglob("*.parquet"))
    [letters] = sorted((tmp_path / "out" / "dead_letters").rglob("*.parquet"))
    assert pq.read_schema(records).equals(RECORDS.arrow_schema())
    assert pq.read_schema(letters).equals(DEAD_LETTERS.arrow_schema())


def test_dynamodb_items_are_the_schema_rows():
    pytest.importorskip("boto3")
    from adverse_events.sinks.dynamodb import _to_item

    record_item = _to_item(record_row(_record()))
    letter_item = _to_item(dead_letter_row(_letter()))
    assert set(record_item) <= set(RECORDS.names)
    assert set(letter_item) <= set(DEAD_LETTERS.names)
    assert {"post_id", "icd10_codes", "ingredients"} <= set(record_item)
    assert letter_item["transient"] == {"BOOL": True}
