"""`DynamoDBStreamSource` and `DynamoDBPostStore` against moto in server mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from adverse_events.config import StageConfig, build_backend
from adverse_events.errors import ConfigError
from adverse_events.records import DeadLetter, Post
from adverse_events.testing import SourceConformance, make_post

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from adverse_events.sources.dynamodb_stream import (  # noqa: E402
    DynamoDBPostStore,
    DynamoDBStreamSource,
    sequence_number_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def store(moto_url: str, request: pytest.FixtureRequest) -> DynamoDBPostStore:
    name = "posts-" + request.node.name.replace("[", "-").replace("]", "")[:40]
    store = DynamoDBPostStore(name, endpoint_url=moto_url, create_table=True)
    store.ensure_table()
    return store


def _posts(n: int, start: int = 1) -> list[Post]:
    return [
        make_post(
            f"x:{i}",
            f"prozac day {i}",
            source="twitter",
            lang="en",
            drug_mentions=("fluoxetine",),
            metadata={"kind": "original", "score": 0.5},
            created_at=datetime(2024, 1, 1, 0, 0, i, tzinfo=timezone.utc),
        )
        for i in range(start, start + n)
    ]


def _lambda_record(name: str, image: dict | None, seq: str) -> dict:
    change: dict = {
        "Keys": {"id": {"S": "x"}},
        "SequenceNumber": seq,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if image is not None:
        change["NewImage"] = image
    return {
        "eventID": f"ev-{seq}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
    }


IMAGE = {
    "id": {"S": "x:1"},
    "text": {"S": "Zoloft made me sleepy"},
    "created_at": {"S": "2024-01-01T00:00:00+00:00"},
    "lang": {"S": "en"},
    "drug_mentions": {"L": [{"S": "sertraline"}]},
    "likes": {"N": "3"},
    "metadata": {"M": {"kind": {"S": "original"}, "score": {"N": "0.5"}}},
    "tags": {"SS": ["b", "a"]},
}


# -- Lambda events -----------------------------------------------------------------------------
def test_lambda_event_records_become_posts() -> None:
    event = {
        "Records": [
            _lambda_record("INSERT", IMAGE, "100"),
            _lambda_record("MODIFY", {**IMAGE, "id": {"S": "x:2"}}, "101"),
            _lambda_record("REMOVE", None, "102"),
            _lambda_record("INSERT", None, "103"),
            _lambda_record("INSERT", {"id": {"S": "x:4"}}, "104"),
            {"eventName": "INSERT"},
        ]
    }
    items = list(DynamoDBStreamSource(event).read())
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.post_id for p in posts] == ["x:1", "x:2"]
    post = posts[0]
    assert post.text == "Zoloft made me sleepy" and post.drug_mentions == ("sertraline",)
    assert post.created_at == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert post.metadata == {
        "likes": 3,
        "kind": "original",
        "score": 0.5,
        "tags": ["a", "b"],
        "event_id": "ev-100",
        "event_name": "INSERT",
        "sequence_number": "100",
    }
    letters = [i for i in items if isinstance(i, DeadLetter)]
    assert [sequence_number_of(d) for d in letters] == ["103", "104", None]
    assert "NEW_IMAGE" in letters[0].reason and "text" in letters[1].reason
    assert [sequence_number_of(p) for p in posts] == ["100", "101"]


def test_lambda_event_binary_attributes_are_base64_text() -> None:
    # Lambda delivers B / BS values as base64 strings (the stream API gives bytes): a post with
    # a binary attribute anywhere in its image is still a post, not a dead letter.
    image = {
        **IMAGE,
        "thumb": {"B": "aGVsbG8="},
        "parts": {"BS": ["AQI=", "aGVsbG8="]},
        "metadata": {"M": {"raw": {"B": "AQI="}}},
    }
    [post] = list(DynamoDBStreamSource([_lambda_record("INSERT", image, "7")]).read())
    assert isinstance(post, Post) and post.text == "Zoloft made me sleepy"
    assert post.metadata["thumb"] == "aGVsbG8=" and post.metadata["raw"] == "AQI="
    assert post.metadata["parts"] == ["AQI=", "aGVsbG8="]


@pytest.mark.parametrize("number", ["1e+127", "1.000000000000000000000000000000000000000001"])
def test_numbers_dynamodb_cannot_hold_are_dead_letters(number: str) -> None:
    # boto3 reads N values in DynamoDB's decimal context, which traps overflow and lost digits
    # (decimal.Overflow, decimal.Inexact): the record is bad input, not a crash of the source.
    records = [_lambda_record("INSERT", {**IMAGE, "likes": {"N": number}}, "8")]
    [letter] = list(DynamoDBStreamSource(records).read())
    assert isinstance(letter, DeadLetter) and letter.stage == "source"
    assert letter.reason.startswith("undecodable attribute value in NewImage")
    assert sequence_number_of(letter) == "8"


def test_attribute_names_are_configurable() -> None:
    image = {"tweet_id": {"S": "7"}, "tweet": {"S": "Prozac again"}, "ts": {"N": "1704067200"}}
    source = DynamoDBStreamSource(
        [_lambda_record("INSERT", image, "1")],
        id_attribute="tweet_id",
        text_attribute="tweet",
        time_attribute="ts",
    )
    [post] = list(source.read())
    assert post.post_id == "7" and post.text == "Prozac again"
    assert post.created_at == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_only_insert_when_asked() -> None:
    records = [
        _lambda_record("INSERT", IMAGE, "1"),
        _lambda_record("MODIFY", {**IMAGE, "id": {"S": "x:2"}}, "2"),
    ]
    assert [p.post_id for p in DynamoDBStreamSource(records, event_names=["INSERT"]).read()] == [
        "x:1"
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"event": [], "table_name": "t"},
        {"event": "nope"},
        {"table_name": "t", "iterator_type": "AT_SEQUENCE_NUMBER"},
        {"table_name": "t", "event_names": ["REMOVE"]},
    ],
)
def test_bad_options(options) -> None:
    with pytest.raises(ConfigError):
        DynamoDBStreamSource(**options)


# -- the stream through the DynamoDB Streams API ---------------------------------------------
def test_store_then_stream_round_trip_with_checkpoint(
    store: DynamoDBPostStore, moto_url: str, tmp_path
) -> None:
    assert store.put_posts(_posts(5)) == 5
    checkpoint = tmp_path / "checkpoint.json"
    options = {
        "table_name": store.table_name,
        "endpoint_url": moto_url,
        "checkpoint_path": checkpoint,
    }

    def read_and_commit(**more) -> list:
        """What the runner does once the sinks hold what was read."""
        source = DynamoDBStreamSource(**options, **more)
        items = list(source.read())
        source.commit(source.snapshot())
        return items

    uncommitted = list(DynamoDBStreamSource(max_records=3, **options).read())
    assert not checkpoint.exists(), "reading alone never saves the position"
    first = read_and_commit(max_records=3)
    assert [p.post_id for p in first] == [p.post_id for p in uncommitted] == ["x:1", "x:2", "x:3"]
    assert first[0].metadata["kind"] == "original" and first[0].drug_mentions == ("fluoxetine",)
    assert first[0].created_at == _posts(1)[0].created_at
    assert json.loads(checkpoint.read_text())["shards"]
    store.put_posts(_posts(2, start=6))
    second = read_and_commit()
    assert [p.post_id for p in second] == ["x:4", "x:5", "x:6", "x:7"]
    assert read_and_commit() == []


def test_store_is_idempotent(store: DynamoDBPostStore) -> None:
    posts = _posts(3)
    store.put_posts(posts + posts[:1])
    store.put_posts(posts)
    table = boto3.resource("dynamodb", endpoint_url=store.endpoint_url).Table(store.table_name)
    items = table.scan()["Items"]
    assert sorted(i["id"] for i in items) == ["x:1", "x:2", "x:3"]
    assert store.put_posts([]) == 0


def test_table_without_stream_is_a_config_error(moto_url: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=moto_url)
    client.create_table(
        TableName="no-stream",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    with pytest.raises(ConfigError, match="no stream"):
        list(DynamoDBStreamSource(table_name="no-stream", endpoint_url=moto_url).read())


def test_built_from_config(store: DynamoDBPostStore, moto_url: str) -> None:
    store.put_posts(_posts(2))
    stage = StageConfig(
        type="dynamodb-stream", options={"table_name": store.table_name, "endpoint_url": moto_url}
    )
    source = build_backend("source", stage)
    assert [p.post_id for p in source.read()] == ["x:1", "x:2"]


class TestLambdaConformance(SourceConformance):
    @pytest.fixture
    def source(self) -> DynamoDBStreamSource:
        return DynamoDBStreamSource(
            {"Records": [_lambda_record("INSERT", IMAGE, "1"), _lambda_record("INSERT", None, "2")]}
        )


class TestStreamApiConformance(SourceConformance):
    @pytest.fixture
    def source(self, store: DynamoDBPostStore, moto_url: str) -> DynamoDBStreamSource:
        store.put_posts(_posts(3))
        return DynamoDBStreamSource(table_name=store.table_name, endpoint_url=moto_url)
