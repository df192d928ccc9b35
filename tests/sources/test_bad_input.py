"""Bad input never crashes a run: wrong types, deep nesting, lone surrogates, stray carriage
returns and huge payloads become dead letters (or clean posts) in every source, and every sink
can store the dead letter."""

from __future__ import annotations

import json

import pytest

from adverse_events import DeadLetter, Post
from adverse_events.records import MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES
from adverse_events.sinks.jsonl import JsonlSink
from adverse_events.sinks.memory import MemorySink
from adverse_events.sources import CsvSource, JsonlSource
from adverse_events.sources.replay import ReplaySource

pytestmark = pytest.mark.unit

WRONG_TYPES = [
    ("drug_mentions", 5),
    ("drug_mentions", True),
    ("drug_mentions", 2.5),
    ("drug_mentions", {"a": 1}),
    ("drug_mentions", [1, 2]),
    ("post_id", {"a": 1}),
    ("post_id", 2.5),
    ("post_id", True),
    ("author_id", [1]),
    ("lang", 3),
    ("url", {"u": 1}),
    ("created_at", True),
    ("created_at", [2024]),
    ("created_at", 1e300),
]


def _jsonl(tmp_path, *rows: object, text: str | None = None):
    path = tmp_path / "posts.jsonl"
    body = text if text is not None else "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(body, encoding="utf-8", newline="")
    return path


def _split(items):
    items = list(items)
    return (
        [i for i in items if isinstance(i, Post)],
        [i for i in items if isinstance(i, DeadLetter)],
    )


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_wrong_types_become_dead_letters_in_jsonl(tmp_path, field, value):
    row = {"post_id": "p1", "text": "aspirin gave me a rash", field: value}
    path = _jsonl(tmp_path, row, {"post_id": "p2", "text": "fine"})
    posts, letters = _split(JsonlSource(path).read())
    assert [p.post_id for p in posts] == ["p2"]
    assert len(letters) == 1 and letters[0].line == 1
    assert repr(field) in letters[0].reason


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_wrong_types_become_dead_letters_in_replay(tmp_path, field, value):
    row = {"post_id": "p1", "text": "x", "created_at": "2024-01-01T00:00:00Z", field: value}
    path = _jsonl(tmp_path, row, {"post_id": "p2", "text": "y", "created_at": "2024-01-02"})
    posts, letters = _split(ReplaySource(path).read())
    assert [p.post_id for p in posts] == ["p2"] and len(letters) == 1


def test_ids_as_integers_still_map(tmp_path):
    path = _jsonl(tmp_path, {"post_id": 7, "text": "x", "author_id": 12, "drug_mentions": "a|b"})
    (post,) = JsonlSource(path).read()
    assert isinstance(post, Post) and post.post_id == "7" and post.drug_mentions == ("a", "b")


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 300, 600, 5000])
def test_deep_json_is_a_dead_letter(tmp_path, depth):
    nested = "[" * depth + "]" * depth
    text = '{"post_id": "deep", "text": "x", "extra": ' + nested + "}\n"
    text += json.dumps({"post_id": "ok", "text": "y"}) + "\n"
    posts, letters = _split(JsonlSource(_jsonl(tmp_path, text=text)).read())
    assert [p.post_id for p in posts] == ["ok"]
    assert len(letters) == 1 and "deeper than" in letters[0].reason and letters[0].line == 1


def test_nesting_up_to_the_limit_is_kept(tmp_path):
    depth = MAX_NESTING_DEPTH - 1  # metadata itself is one level
    nested = json.loads("[" * depth + "]" * depth)
    path = _jsonl(tmp_path, {"post_id": "a", "text": "x", "extra": nested})
    (post,) = JsonlSource(path).read()
    assert isinstance(post, Post) and post.metadata["extra"] == nested


@pytest.mark.parametrize("kind", ["jsonl", "duckdb", "parquet"])
def test_lone_surrogate_in_id_is_stored_by_every_local_sink(tmp_path, kind):
    text = '{"post_id": "a\\ud800", "text": ""}\n{"post_id": "b\\udfff", "text": "ok \\ud83d"}\n'
    posts, letters = _split(JsonlSource(_jsonl(tmp_path, text=text)).read())
    assert letters[0].post_id == "a\ufffd" and posts[0].post_id == "b\ufffd"
    assert posts[0].text == "ok \ufffd"
    if kind == "jsonl":
        make = lambda: JsonlSink(tmp_path / "out.jsonl")  # noqa: E731
    elif kind == "duckdb":
        from adverse_events.sinks.duckdb import DuckDBSink

        make = lambda: DuckDBSink(tmp_path / "out.duckdb")  # noqa: E731
    else:
        from adverse_events.sinks.parquet import ParquetSink

        make = lambda: ParquetSink(tmp_path / "parquet")  # noqa: E731
    with make() as sink:
        sink.write(letters)
    with make() as sink:
        assert [d.post_id for d in sink.read_dead_letters()] == ["a\ufffd"]


def test_dead_letter_text_fields_are_storable_utf8():
    letter = DeadLetter(
        stage="source", reason="bad \ud800", payload="x\udc00", post_id="a\ud800", source="s\ud800"
    )
    for value in (letter.reason, letter.payload, letter.post_id, letter.source):
        value.encode("utf-8")  # raises if a surrogate is left


def test_carriage_return_inside_a_jsonl_line_does_not_split_it(tmp_path):
    text = (
        '{"post_id": "1", "text": "a"}\r\n'
        '{"post_id": "2", "te\rxt": "b"}\n'
        '{"post_id": "3", "text": "c"}\n'
        "{broken\n"
    )
    posts, letters = _split(JsonlSource(_jsonl(tmp_path, text=text)).read())
    assert [p.post_id for p in posts] == ["1", "3"]
    assert [d.line for d in letters] == [2, 4]


def test_carriage_return_inside_a_csv_row_does_not_shift_line_numbers(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text(
        'post_id,text\n1,a\rb\n2,"c\rd"\n3,e\r\n4,\n5,f\n', encoding="utf-8", newline=""
    )
    items = list(CsvSource(path).read())
    posts, letters = _split(items)
    assert [(p.post_id, p.text) for p in posts] == [("2", "c\rd"), ("3", "e"), ("5", "f")]
    assert [d.line for d in letters] == [2, 5]
    assert letters[0].payload == "1,a\rb\n"


def test_csv_cell_over_the_parser_limit_is_a_dead_letter(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("post_id,text\n1," + "x" * 200_000 + "\n2,fine\n", encoding="utf-8")
    posts, letters = _split(CsvSource(path).read())
    assert [p.post_id for p in posts] == ["2"] and letters[0].line == 2


def test_huge_payload_is_capped_with_a_digest(tmp_path):
    import hashlib

    line = json.dumps({"post_id": "big", "text": "", "blob": "é" * 200_000})
    posts, letters = _split(JsonlSource(_jsonl(tmp_path, text=line + "\n")).read())
    (letter,) = letters
    assert len(letter.payload.encode("utf-8")) <= MAX_PAYLOAD_BYTES
    original = line.encode("utf-8")
    assert f"{len(original)} bytes, sha256 {hashlib.sha256(original).hexdigest()}" in letter.payload
    assert letter.payload.startswith(line[:1000])


def test_pipeline_run_over_bad_input_completes(tmp_path):
    from adverse_events.pipeline import Pipeline
    from adverse_events.testing import MockClassifier

    rows = [
        {"post_id": f"p{i}", "text": "rash", field: value}
        for i, (field, value) in enumerate(WRONG_TYPES)
    ]
    rows.append({"post_id": "good", "text": "rash"})
    sink = MemorySink()
    report = Pipeline(
        JsonlSource(_jsonl(tmp_path, *rows)),
        MockClassifier(lambda t: 0.9),
        None,
        sink=sink,
        progress=False,
    ).run()
    assert not report.failed
    assert list(sink.records) == ["good"] and len(sink.dead_letters) == len(WRONG_TYPES)


def _stream_record(image: object, seq: str = "100") -> dict:
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": seq, "NewImage": image},
    }


def _deep_map(depth: int) -> dict:
    value: dict = {"S": "x"}
    for _ in range(depth):
        value = {"M": {"a": value}}
    return value


STREAM_BAD = [
    {"id": {"S": "1"}, "text": {"S": "hi"}, "drug_mentions": {"N": "5"}},
    {"id": {"S": "2"}, "text": {"S": "hi"}, "drug_mentions": {"BOOL": True}},
    {"id": {"S": "3"}, "text": {"S": "hi"}, "drug_mentions": {"N": "2.5"}},
    {"id": {"N": "2.5"}, "text": {"S": "hi"}},
    {"id": {"S": "4"}, "text": {"S": "hi"}, "lang": {"M": {}}},
    {"id": {"S": "5"}, "text": {"S": "hi"}, "metadata": _deep_map(3000)},
    {"id": {"S": "6"}, "text": {"S": "hi"}, "extra": _deep_map(MAX_NESTING_DEPTH + 5)},
    {"id": {"S": "7"}, "text": {"S": "hi"}, "created_at": {"L": []}},
    {
        "id": {"S": "8"},
        "text": {"S": "hi"},
        "big": {"S": "x" * 300_000},
        "drug_mentions": {"N": "1"},
    },
    "not a map",
]


def test_stream_records_of_any_shape_become_dead_letters_with_their_sequence_number():
    from adverse_events.sources.dynamodb_stream import DynamoDBStreamSource, sequence_number_of

    records = [_stream_record(image, str(100 + i)) for i, image in enumerate(STREAM_BAD)]
    records += [
        _stream_record(
            {"id": {"S": "ok"}, "text": {"S": "fine"}, "metadata": {"M": {"k": {"S": "a\ud800"}}}},
            "999",
        ),
        5,
        None,
    ]
    posts, letters = _split(DynamoDBStreamSource({"Records": records}).read())
    assert [p.post_id for p in posts] == ["ok"] and posts[0].metadata["k"] == "a\ufffd"
    assert len(letters) == len(STREAM_BAD) + 2
    assert [sequence_number_of(d) for d in letters[: len(STREAM_BAD)]] == [
        str(100 + i) for i in range(len(STREAM_BAD))
    ]
    assert all(len(d.payload.encode("utf-8")) <= MAX_PAYLOAD_BYTES for d in letters)


def test_lambda_handler_dead_letters_wrong_types_and_reports_no_failure():
    from adverse_events.aws.lambda_handler import Settings, handle
    from adverse_events.testing import MockClassifier

    records = [_stream_record(image, str(100 + i)) for i, image in enumerate(STREAM_BAD)]
    records.append(_stream_record({"id": {"S": "ok"}, "text": {"S": "fine"}}, "999"))
    sink = MemorySink()
    response = handle(
        {"Records": records},
        settings=Settings(endpoint_name="e", bucket="b", id_attribute="id"),
        classifier=MockClassifier(lambda t: 0.1),
        extractor=None,
        sink=sink,
    )
    assert response == {"batchItemFailures": []}
    assert list(sink.records) == ["ok"] and len(sink.dead_letters) == len(STREAM_BAD)


def test_jsonl_sink_translates_a_record_too_deep_to_serialise(tmp_path):
    from adverse_events import AdverseEventRecord, Prediction
    from adverse_events.errors import PermanentBackendError

    deep = json.loads("[" * 300 + "]" * 300)
    post = Post.model_construct(
        post_id="1",
        source="s",
        text="t",
        created_at=None,
        author_id=None,
        lang=None,
        url=None,
        drug_mentions=(),
        metadata={"a": deep},
    )
    record = AdverseEventRecord(
        post=post, prediction=Prediction(label="x", score=0.5, is_adverse_event=False)
    )
    with JsonlSink(tmp_path / "out.jsonl") as sink, pytest.raises(PermanentBackendError):
        sink.write([record])


def test_memory_source_dead_letters_any_mapping():
    from adverse_events.sources import MemorySource

    deep: list = []
    for _ in range(5000):
        deep = [deep]
    items = list(
        MemorySource(
            [
                {"post_id": "1", "text": "x", "m": deep},
                {"post_id": "2", "text": "x", "drug_mentions": 5},
                {"post_id": "3", "text": "ok"},
            ]
        ).read()
    )
    assert [type(i).__name__ for i in items] == ["DeadLetter", "DeadLetter", "Post"]


def test_overlong_ids_are_dead_letters_that_fit(tmp_path):
    from adverse_events.records import MAX_ID_CHARS

    path = _jsonl(
        tmp_path, {"post_id": "x" * 100_000, "text": "aspirin"}, {"post_id": "ok", "text": "fine"}
    )
    posts, letters = _split(JsonlSource(path).read())
    assert [p.post_id for p in posts] == ["ok"]
    assert "longer than" in letters[0].reason and letters[0].post_id is None
    letter = DeadLetter(stage="sink", reason="r", post_id="y" * 100_000)
    assert len(letter.post_id) <= MAX_ID_CHARS and "sha256:" in letter.post_id


def test_replay_splits_lines_at_newlines_only(tmp_path):
    text = (
        '{"post_id": "1", "text": "a", "created_at": "2024-01-02"}\r\n'
        '{"post_id": "2", "te\rxt": "b", "created_at": "2024-01-01"}\n'
        '{"post_id": "3", "text": "c", "created_at": "2024-01-03"}\n'
    )
    posts, letters = _split(ReplaySource(_jsonl(tmp_path, text=text)).read())
    assert [p.post_id for p in posts] == ["1", "3"] and [d.line for d in letters] == [2]
