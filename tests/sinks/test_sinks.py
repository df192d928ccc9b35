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

    def reopen(self, sink):
        return JsonlSink(sink.path)


class TestDuckDBSink(SinkConformance):
    @pytest.fixture
    def sink(self, tmp_path):
        return DuckDBSink(tmp_path / "ae.duckdb")

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()

    def reopen(self, sink):
        return DuckDBSink(sink.path)


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

    def reopen(self, sink):
        from adverse_events.sinks import ParquetSink

        return ParquetSink(sink.path)


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


@pytest.mark.parametrize("kind", ["jsonl", "duckdb", "parquet", "duckdb-not-a-database"])
def test_file_sinks_turn_os_errors_into_backend_errors(tmp_path, kind):
    """An output path under a regular file (or a file that is not a database) is a clear
    BackendError the runner reports, not a foreign OSError that escapes it as a traceback."""
    from adverse_events.errors import BackendError
    from adverse_events.sinks import ParquetSink

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory, not a database\n")
    sink = {
        "jsonl": lambda: JsonlSink(blocker / "r.jsonl"),
        "duckdb": lambda: DuckDBSink(blocker / "r.duckdb"),
        "parquet": lambda: ParquetSink(blocker / "pq"),
        "duckdb-not-a-database": lambda: DuckDBSink(blocker),
    }[kind]()
    with pytest.raises(BackendError, match="a-file"):
        sink.write([make_record("a")])
    sink.close()


def test_jsonl_failed_append_leaves_no_torn_line_and_no_phantom_ids(tmp_path):
    """A write that fails half-way (disk full) must not leave a torn line that a later append
    buries mid-file, nor report ids as stored that are not (resume would skip them)."""
    import errno

    from adverse_events.errors import BackendError

    path = tmp_path / "r.jsonl"
    sink = JsonlSink(path)
    sink.write([make_record("a")])

    class DiskFull:
        def __init__(self, real):
            self.real = real

        def write(self, text):
            if '"post_id": "c"' in text:
                self.real.write(text[:15])
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.real.write(text)

        def __getattr__(self, name):
            return getattr(self.real, name)

    sink._records.handle = DiskFull(sink._records.handle)
    with pytest.raises(BackendError, match="No space left"):
        sink.write([make_record("b"), make_record("c")])
    assert sink.existing_ids(["a", "b", "c"]) <= {"a", "b"}
    assert "c" not in sink.existing_ids(["c"])
    sink.write([make_record("c"), make_record("d")])
    sink.close()
    reopened = JsonlSink(path)
    assert reopened.existing_ids(["a", "c", "d"]) == {"a", "c", "d"}
    assert {r.post_id for r in reopened.read_records()} >= {"a", "c", "d"}
    reopened.close()


def test_duckdb_file_from_before_the_ingredient_columns_gets_them(tmp_path):
    import duckdb

    from adverse_events.schema import RECORDS, Table

    path = tmp_path / "old.duckdb"
    old = Table(RECORDS.name, RECORDS.columns[:-2], key=RECORDS.key)
    assert "ingredients" not in old.names
    conn = duckdb.connect(str(path))
    conn.execute(old.duckdb_ddl())
    conn.close()
    from adverse_events.records import Mention

    record = make_record(
        "p1", text="Zoloft", mentions=[Mention(text="Zoloft", start=0, end=6, category="DRUG")]
    )
    with DuckDBSink(path) as sink:
        sink.write([record])
        assert sink.read_records() == [record]
    conn = duckdb.connect(str(path), read_only=True)
    columns = [row[0] for row in conn.execute("DESCRIBE adverse_events").fetchall()]
    [stored] = conn.execute("SELECT ingredients, drug_ingredients FROM adverse_events").fetchall()
    conn.close()
    assert columns[-2:] == ["ingredients", "drug_ingredients"]
    assert stored == (["zoloft"], ["zoloft"])


def test_parquet_stores_a_dead_letter_once_however_many_batches_carry_it(tmp_path):
    import pyarrow.parquet as pq

    from adverse_events.sinks import ParquetSink

    sink = ParquetSink(tmp_path / "pq")
    first, second = make_dead_letter(line=1), make_dead_letter(line=2)
    sink.write([first])
    sink.write([first, second])
    sink.close()
    sink = ParquetSink(tmp_path / "pq")
    sink.write([second, make_dead_letter(line=3)])
    rows = [
        row
        for f in sorted((tmp_path / "pq" / "dead_letters").glob("*.parquet"))
        for row in pq.read_table(f).to_pylist()
    ]
    assert sorted(row["line"] for row in rows) == [1, 2, 3]


def test_jsonl_replacing_a_dead_letter_survives_a_kill(tmp_path):
    """The dead-letter file is rewritten during the write, not only on close()."""
    from adverse_events.records import DeadLetter

    sink = JsonlSink(tmp_path / "r.jsonl")
    post = make_record("a").post
    sink.write(
        [DeadLetter(stage="classify", reason="x", payload=post.model_dump_json(), post_id="a")]
    )
    sink.close()
    sink = JsonlSink(tmp_path / "r.jsonl")
    sink.write([make_record("a")])  # ...and the process dies before close()
    assert (tmp_path / "r.dead_letters.jsonl").read_text() == ""
    sink.close()
