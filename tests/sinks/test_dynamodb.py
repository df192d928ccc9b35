"""DynamoDBSink against moto in server mode (real HTTP), through the shared SinkConformance."""

from __future__ import annotations

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from adverse_events.errors import (  # noqa: E402
    ConfigError,
    PermanentBackendError,
    TransientBackendError,
)
from adverse_events.records import DeadLetter  # noqa: E402
from adverse_events.sinks.dynamodb import DynamoDBSink  # noqa: E402
from adverse_events.testing import SinkConformance, make_dead_letter, make_record  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = pytest.mark.integration
TABLE = "adverse_events"


@pytest.fixture(scope="module")
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture
def dynamodb(moto_server):
    moto_server.reset()
    client = moto_server.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


class TestDynamoDBSink(SinkConformance):
    @pytest.fixture
    def sink(self, dynamodb, moto_server):
        return DynamoDBSink(TABLE, endpoint_url=moto_server.url)

    def read_back(self, sink):
        return sink.read_records(), sink.read_dead_letters()

    def reopen(self, sink):
        return DynamoDBSink(sink.table, endpoint_url=sink.endpoint_url)


def test_many_records_in_batches_of_25(dynamodb, moto_server):
    sink = DynamoDBSink(TABLE, endpoint_url=moto_server.url)
    sink.write([make_record(f"p{i}") for i in range(60)])
    assert len(sink.read_records()) == 60
    assert sink.existing_ids([f"p{i}" for i in range(0, 200, 10)]) == {
        f"p{i}" for i in range(0, 60, 10)
    }


def test_writing_a_post_clears_its_dead_letter(dynamodb, moto_server):
    sink = DynamoDBSink(TABLE, endpoint_url=moto_server.url)
    letter = DeadLetter(stage="classify", reason="timeout", payload="{}", post_id="a")
    sink.write([letter, make_dead_letter()])
    assert len(sink.read_dead_letters()) == 2
    sink.write([make_record("a")])
    assert [d.reason for d in sink.read_dead_letters()] == ["malformed JSON"]


class _Throttled:
    """A client whose BatchWriteItem leaves everything unprocessed `times` times."""

    def __init__(self, real, times):
        self.real, self.times, self.calls = real, times, 0

    def batch_write_item(self, RequestItems):
        self.calls += 1
        if self.calls <= self.times:
            return {"UnprocessedItems": RequestItems}
        return self.real.batch_write_item(RequestItems=RequestItems)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_unprocessed_items_are_retried(dynamodb, moto_server):
    client = _Throttled(moto_server.client("dynamodb"), times=2)
    sink = DynamoDBSink(TABLE, client=client, backoff_initial=0.001, clear_dead_letters=False)
    sink.write([make_record("a")])
    assert client.calls == 3
    assert [r.post_id for r in sink.read_records()] == ["a"]


def test_still_unprocessed_is_transient(dynamodb, moto_server):
    client = _Throttled(moto_server.client("dynamodb"), times=99)
    sink = DynamoDBSink(TABLE, client=client, backoff_initial=0.001, max_attempts=3)
    with pytest.raises(TransientBackendError, match="unprocessed after 3"):
        sink.write([make_record("a")])


def test_missing_table_is_permanent(moto_server):
    moto_server.reset()
    sink = DynamoDBSink("nope", endpoint_url=moto_server.url)
    with pytest.raises(PermanentBackendError, match="ResourceNotFound"):
        sink.write([make_record("a")])


def test_bad_options():
    with pytest.raises(ConfigError):
        DynamoDBSink("")
    with pytest.raises(ConfigError):
        DynamoDBSink("t", max_attempts=0)


def test_two_bad_lines_naming_the_same_post_are_two_dead_letters(dynamodb, moto_server):
    sink = DynamoDBSink(TABLE, endpoint_url=moto_server.url)
    letters = [
        DeadLetter(
            stage="source",
            reason="text field 'text' is empty",
            payload="{}",
            post_id="e",
            line=line,
        )
        for line in (3, 9)
    ]
    sink.write(letters)
    assert sorted(d.line for d in sink.read_dead_letters()) == [3, 9]
