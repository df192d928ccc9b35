"""A dead letter always fits: one built from a huge input is stored by DynamoDB (400 KB items)."""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from adverse_events.records import MAX_PAYLOAD_BYTES, DeadLetter  # noqa: E402
from adverse_events.sinks.dynamodb import DynamoDBSink  # noqa: E402
from adverse_events.testing.aws import MotoServer  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TABLE = "adverse_events"


def test_dead_letter_of_a_huge_input_fits_in_a_dynamodb_item():
    payload = "é" * 600_000  # 1.2 MB of UTF-8: three DynamoDB items' worth
    letter = DeadLetter(
        stage="sink",
        reason="too big " * 2000,
        payload=payload,
        post_id="p" * 5000 + "\ud800",
        source="jsonl",
    )
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    assert len(letter.payload.encode("utf-8")) <= MAX_PAYLOAD_BYTES
    assert letter.payload.endswith(f"[payload truncated: 1200000 bytes, sha256 {digest}]")
    with MotoServer() as server:
        server.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "post_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "post_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sink = DynamoDBSink(TABLE, endpoint_url=server.url)
        sink.write([letter])
        (stored,) = sink.read_dead_letters()
    assert stored.payload == letter.payload and stored.reason == letter.reason
