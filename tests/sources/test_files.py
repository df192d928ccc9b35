import json
from datetime import datetime, timezone

import pytest

from adverse_events import ConfigError, DeadLetter, Post
from adverse_events.sources import CsvSource, JsonlSource, MemorySource
from adverse_events.testing import SourceConformance

LINES = [
    json.dumps(
        {
            "post_id": "a",
            "text": "prozac gave me headaches",
            "created_at": "2024-03-01T10:00:00Z",
            "drug_mentions": ["prozac"],
            "rating": 2,
        }
    ),
    "{not json",
    "",
    json.dumps({"post_id": "b", "text": ""}),
    json.dumps({"post_id": "c", "text": "fine", "created_at": "last tuesday"}),
    json.dumps({"text": "no id"}),
    json.dumps({"post_id": 7, "text": "epoch", "created_at": 1700000000}),
    json.dumps(["a list"]),
]


@pytest.fixture
def jsonl_path(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


class TestJsonlConformance(SourceConformance):
    @pytest.fixture
    def source(self, jsonl_path):
        return JsonlSource(jsonl_path)


class TestCsvConformance(SourceConformance):
    @pytest.fixture
    def source(self, tmp_path):
        path = tmp_path / "posts.csv"
        path.write_text('id,body,when\n1,"multi\nline text",2024-01-01\n2,,2024-01-01\n')
        return CsvSource(path, id_field="id", text_field="body", time_field="when")


class TestMemoryConformance(SourceConformance):
    @pytest.fixture
    def source(self):
        return MemorySource([{"post_id": "a", "text": "x"}, {"text": "no id"}])


def test_jsonl_dead_letters_carry_line_and_reason(jsonl_path):
    items = list(JsonlSource(jsonl_path).read())
    posts = [i for i in items if isinstance(i, Post)]
    letters = {i.line: i.reason for i in items if isinstance(i, DeadLetter)}
    assert [p.post_id for p in posts] == ["a", "7"]
    assert set(letters) == {2, 4, 5, 6, 8}
    assert "malformed JSON" in letters[2]
    assert "'text' is empty" in letters[4]
    assert "bad timestamp" in letters[5] and "last tuesday" in letters[5]
    assert "missing id field 'post_id'" in letters[6]
    assert "expected an object" in letters[8]
    assert all(r.startswith("posts.jsonl line ") for r in letters.values())


def test_jsonl_maps_fields(jsonl_path):
    first = next(iter(JsonlSource(jsonl_path).read()))
    assert first.created_at == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert first.drug_mentions == ("prozac",)
    assert first.metadata == {"rating": 2}
    assert first.source == "jsonl"


def test_epoch_timestamps(jsonl_path):
    post = [i for i in JsonlSource(jsonl_path).read() if isinstance(i, Post)][1]
    assert post.created_at == datetime.fromtimestamp(1700000000, tz=timezone.utc)


def test_custom_fields_and_derived_ids(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"comment": "zoloft made me dizzy", "date": "3/1/2012"}) + "\n")
    source = JsonlSource(
        path,
        id_field="",
        text_field="comment",
        time_field="date",
        time_format="%m/%d/%Y",
        source_name="psytar",
    )
    [post] = list(source.read())
    assert post.post_id.startswith("psytar:") and post.created_at.year == 2012
    assert [p.post_id for p in source.read()] == [post.post_id]


def test_csv_line_numbers_follow_multiline_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('post_id,text\n1,"a\nb"\n2,\n3,ok,extra\n4,fine\n')
    items = list(CsvSource(path).read())
    assert [(type(i).__name__, getattr(i, "line", None)) for i in items] == [
        ("Post", None),
        ("DeadLetter", 4),
        ("DeadLetter", 5),
        ("Post", None),
    ]


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        JsonlSource(tmp_path / "nope.jsonl")
