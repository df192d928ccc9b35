"""No raw author id or user name in any stored byte: every source pseudonymises author ids (keyed
HMAC, dropped without a key) in its posts and in its dead-letter payloads."""

from __future__ import annotations

import json

import pytest

from adverse_events import DeadLetter, Post
from adverse_events.privacy import PSEUDONYM_KEY_ENV, Pseudonymiser
from adverse_events.sources import CsvSource, JsonlSource
from adverse_events.sources.dynamodb_stream import DynamoDBStreamSource
from adverse_events.sources.replay import ReplaySource
from adverse_events.sources.twitter import TwitterSource
from tests.sources.x_api_standin import XApiStandIn, make_tweet

AUTHOR = "778899001"  # distinctive: must never appear in a stored byte
NAMES = ("secret_handle", "Secret Person", "Rue Secrète")
KEY = "test-key"


def _bytes_of(items) -> str:
    return "\n".join(item.model_dump_json() for item in items)


def _assert_clean(items) -> None:
    stored = _bytes_of(items)
    assert AUTHOR not in stored
    for name in NAMES:
        assert name not in stored and json.dumps(name)[1:-1] not in stored


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)


@pytest.fixture
def unkeyed(monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)


JSONL_LINES = [
    json.dumps({"post_id": "1", "text": "aspirin", "author_id": AUTHOR}),
    json.dumps({"post_id": "2", "text": "", "author_id": AUTHOR}),  # empty text
    json.dumps({"post_id": "3", "text": "x", "author_id": int(AUTHOR), "drug_mentions": 5}),
    json.dumps({"post_id": "4", "text": "x", "author_id": [AUTHOR]}),  # wrong type
    '{"post_id": "5", "text": "cut off", "author_id": "' + AUTHOR,  # malformed
]


@pytest.mark.unit
def test_jsonl_author_ids_are_pseudonymised_in_posts_and_dead_letters(tmp_path, keyed):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    items = list(JsonlSource(path).read())
    (post,) = [i for i in items if isinstance(i, Post)]
    assert post.author_id == Pseudonymiser(KEY).author("jsonl", AUTHOR)
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert len(letters) == 4
    assert post.author_id in letters[0].payload and post.author_id in letters[1].payload
    _assert_clean(items)


@pytest.mark.unit
def test_without_a_key_author_ids_are_dropped(tmp_path, unkeyed):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    items = list(JsonlSource(path).read())
    assert [i.author_id for i in items if isinstance(i, Post)] == [None]
    assert '"author_id": null' in items[1].payload
    _assert_clean(items)


@pytest.mark.unit
def test_csv_and_replay_pseudonymise_and_withhold_rows_they_cannot_scrub(tmp_path, keyed):
    path = tmp_path / "posts.csv"
    path.write_text(
        f"post_id,text,author_id,created_at\n1,aspirin,{AUTHOR},2024-01-01\n"
        f"2,,{AUTHOR},2024-01-01\n3,a\rb,{AUTHOR},2024-01-01\n"
        f"4,x,{AUTHOR},2024-01-01,extra\n",
        encoding="utf-8",
        newline="",
    )
    for source in (CsvSource(path), ReplaySource(path)):
        items = list(source.read())
        posts = [i for i in items if isinstance(i, Post)]
        assert [p.author_id for p in posts] == [
            Pseudonymiser(KEY).author(source.name if source.name == "csv" else "replay", AUTHOR)
        ]
        assert sum(isinstance(i, DeadLetter) for i in items) == 3
        assert any(i.payload.startswith("<withheld: ") for i in items if isinstance(i, DeadLetter))
        _assert_clean(items)


@pytest.mark.unit
def test_replay_parquet_dead_letters_are_pseudonymised(tmp_path, keyed):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "posts.parquet"
    pq.write_table(
        pa.table(
            {
                "post_id": ["1", "2"],
                "text": ["aspirin", ""],
                "author_id": [AUTHOR, AUTHOR],
                "created_at": ["2024-01-01", "2024-01-02"],
            }
        ),
        path,
    )
    items = list(ReplaySource(path).read())
    assert [type(i).__name__ for i in items] == ["DeadLetter", "Post"]
    _assert_clean(items)


def _stream_record(image, seq):
    return {
        "eventID": seq,
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": seq,
            "NewImage": image,
            "OldImage": {"author_id": {"S": AUTHOR}},
        },
    }


@pytest.mark.unit
def test_dynamodb_stream_pseudonymises_posts_and_dead_letters(keyed):
    good = {"id": {"S": "1"}, "text": {"S": "aspirin"}, "author_id": {"S": AUTHOR}}
    bad = {
        "id": {"S": "2"},
        "text": {"S": "x"},
        "author_id": {"N": AUTHOR},
        "drug_mentions": {"N": "5"},
    }
    items = list(
        DynamoDBStreamSource(
            {"Records": [_stream_record(good, "1"), _stream_record(bad, "2")]}
        ).read()
    )
    post, letter = items
    assert post.author_id == Pseudonymiser(KEY).author("dynamodb-stream", AUTHOR)
    assert isinstance(letter, DeadLetter) and post.author_id in letter.payload
    assert json.loads(letter.payload)["dynamodb"]["SequenceNumber"] == "2"
    _assert_clean(items)


# -- X -------------------------------------------------------------------------------------------
def _user_includes() -> dict:
    return {"users": [{"id": AUTHOR, "username": NAMES[0], "name": NAMES[1], "location": NAMES[2]}]}


@pytest.mark.integration
def test_x_stream_dead_letters_keep_no_author_id_or_user_data(x_api: XApiStandIn, waits):
    no_text = {"data": {"id": "9", "text": "", "author_id": AUTHOR}, "includes": _user_includes()}
    cut = json.dumps(
        {
            "data": make_tweet(10, "prozac", author_id=AUTHOR, in_reply_to_user_id=AUTHOR),
            "includes": _user_includes(),
        }
    )[:-3]
    x_api.stream_scripts = [
        [
            ("tweet", no_text),
            ("raw", cut + "\r\n"),
            (
                "tweet",
                {"data": make_tweet(11, "prozac", author_id=AUTHOR), "includes": _user_includes()},
            ),
        ]
    ]
    source = TwitterSource(
        "stream",
        api_base_url=x_api.url,
        stall_timeout=0.3,
        sleep=waits.append,
        max_posts=1,
        sync_rules=False,
        location=True,
    )
    items = list(source.read())
    assert [type(i).__name__ for i in items] == ["DeadLetter", "DeadLetter", "Post"]
    assert items[2].author_id == Pseudonymiser("test-pseudonym-key").author("x", AUTHOR)
    assert items[2].author_id in items[0].payload
    _assert_clean(items)


@pytest.mark.integration
def test_x_search_dead_letters_keep_no_author_id(x_api: XApiStandIn, waits, monkeypatch):
    original = x_api.search

    def with_bad_entry(params):
        status, headers, body = original(params)
        body.setdefault("data", []).append({"text": "no id", "author_id": AUTHOR})
        body["includes"] = _user_includes()
        return status, headers, body

    monkeypatch.setattr(x_api, "search", with_bad_entry)
    x_api.tweets = [make_tweet(1, "prozac", author_id=AUTHOR)]
    source = TwitterSource(
        "search",
        api_base_url=x_api.url,
        page_size=10,
        poll_interval=0.01,
        sleep=waits.append,
        max_polls=1,
        location=True,
    )
    items = list(source.read())
    assert any(isinstance(i, DeadLetter) for i in items)
    _assert_clean(items)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"author_id": "1001", "x": 1}', '{"author_id": "P", "x": 1}'),
        ('{"author_id":1001}', '{"author_id":"P"}'),
        ('{"a": {"author_id": {"S": "1001"}}}', '{"a": {"author_id": {"S": "P"}}}'),
        ('{"author_id": {"N": "1001"}, "b": 2}', '{"author_id": {"S": "P"}, "b": 2}'),
        ('{"author_id": null}', '{"author_id": null}'),
        ('{"author_id": [1001, {"k": "]"}], "z": 1}', '{"author_id": "Q", "z": 1}'),
        ('{"text": "my \\"author_id\\": 1001"}', '{"text": "my \\"author_id\\": 1001"}'),
    ],
)
def test_scrub_replaces_every_shape_of_an_id_value(text, expected):
    one = Pseudonymiser("k")
    out = one.scrub(text, "x")
    assert out == expected.replace("P", one.author("x", "1001") or "").replace(
        "Q", one.author("x", '[1001, {"k": "]"}]') or ""
    )


@pytest.mark.unit
def test_scrub_redacts_names_and_cuts_includes():
    text = json.dumps(
        {"data": {"author_id": AUTHOR, "username": NAMES[0]}, "includes": _user_includes()}
    )
    out = Pseudonymiser("k").scrub(text, "x", names=("username",), cut=("includes",))
    assert AUTHOR not in out and NAMES[0] not in out and NAMES[1] not in out
    assert '"username": "<redacted>"' in out and '"includes": "<left out>"' in out
