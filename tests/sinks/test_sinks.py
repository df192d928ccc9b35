import pytest

from adverse_events.sinks import DuckDBSink, JsonlSink, MemorySink
from adverse_events.testing import SinkConformance, make_dead_letter, make_record


class TestMemorySink(SinkConformance):
    @pytest.fixture
    def sink(self):
        return MemorySink()

    def read_back(self, sink):
        return list(sink.records.values()), list(sink.dead_letters.values())


class TestJsonlSink(SinkConformance):
    @pytest.fixture
    def sink(self, tmp_path):
        return JsonlSink(tmp_path / "out" / "records.jsonl")

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()


class TestDuckDBSink(SinkConformance):
    @pytest.fixture
    def sink(self, tmp_path):
        return DuckDBSink(tmp_path / "ae.duckdb")

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()


def test_jsonl_compacts_and_cuts_torn_line(tmp_path):
    path = tmp_path / "r.jsonl"
    sink = JsonlSink(path)
    sink.write([make_record("a"), make_record("b")])
    sink.close()
    with path.open("a") as handle:
        handle.write('{"post": {"post_id": "c"')  # a crash mid-line
    sink = JsonlSink(path)
    assert sink.existing_ids(["a", "b", "c"]) == {"a", "b"}
    sink.write([make_record("a", score=0.1)])
    sink.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert {r.post_id: r.prediction.score for r in sink.read_records()} == {"a": 0.1, "b": 0.9}


def test_duckdb_persists_and_keeps_children_in_step(tmp_path):
    from adverse_events import Concept, Mention

    mention = Mention(
        text="headache",
        start=20,
        end=28,
        category="ADVERSE_EVENT",
        score=0.9,
        concepts=(Concept(system="ICD-10-CM", code="R51.9", score=0.8),),
    )
    with DuckDBSink(tmp_path / "ae.duckdb") as sink:
        sink.write([make_record("a", mentions=[mention]), make_dead_letter()])
        sink.write([make_record("a", mentions=[mention])])
    sink = DuckDBSink(tmp_path / "ae.duckdb")
    conn = sink.connection
    assert conn.execute("SELECT count(*) FROM mentions").fetchone() == (1,)
    assert conn.execute("SELECT code FROM concepts").fetchall() == [("R51.9",)]
    assert conn.execute("SELECT icd10_codes FROM adverse_events").fetchone() == (["R51.9"],)
    assert conn.execute("SELECT count(*) FROM dead_letters").fetchone() == (1,)
    sink.close()


def test_record_supersedes_its_dead_letter(tmp_path):
    from adverse_events import DeadLetter

    letter = DeadLetter(stage="classify", reason="throttled", post_id="a", payload="{}")
    for sink in (MemorySink(), DuckDBSink(tmp_path / "x.duckdb")):
        sink.write([letter])
        sink.write([make_record("a")])
        letters = (
            sink.read_dead_letters()
            if hasattr(sink, "read_dead_letters")
            else list(sink.dead_letters.values())
        )
        assert letters == []
        sink.close()


class TestParquetSink(SinkConformance):
    @pytest.fixture
    def sink(self, tmp_path):
        from adverse_events.sinks import ParquetSink

        return ParquetSink(tmp_path / "pq")

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()


def test_parquet_layout_is_partitioned_and_idempotent_across_days(tmp_path):
    from datetime import datetime, timezone

    import duckdb

    from adverse_events.sinks import ParquetSink

    day1 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    day2 = datetime(2024, 1, 2, tzinfo=timezone.utc)
    with ParquetSink(tmp_path / "pq") as sink:
        sink.write([make_record("a", processed_at=day1), make_record("b", processed_at=day1)])
    with ParquetSink(tmp_path / "pq") as sink:  # a later run re-processes "a" on another day
        assert sink.existing_ids(["a", "c"]) == {"a"}
        sink.write([make_record("a", score=0.2, processed_at=day2)])
    rows = duckdb.sql(
        f"SELECT post_id, score, dt FROM read_parquet('{tmp_path}/pq/adverse_events/*/*.parquet',"
        " hive_partitioning=true) ORDER BY post_id"
    ).fetchall()
    assert [(r[0], r[1], str(r[2])) for r in rows] == [
        ("a", 0.2, "2024-01-02"),
        ("b", 0.9, "2024-01-01"),
    ]
