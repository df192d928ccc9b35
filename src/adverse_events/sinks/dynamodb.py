"""`DynamoDBSink`: one item per post in a DynamoDB table, upserted by ``post_id``.

The table needs a string partition key (``post_id`` by default) and no sort key. Records are
stored as their flat row (`AdverseEventRecord.to_row`) with ``item_type = "record"``; dead
letters go to the same table with ``item_type = "dead_letter"`` under the key
``dead_letter#post#<post_id>`` (a post that failed in a later stage: the latest per post) or
``dead_letter#<dead_letter_id>`` (input the source could not map), or to their own table
(`dead_letter_table`). Storing a post deletes its ``dead_letter#post#`` item; a source-stage
dead letter that names the same id stays (it records a bad input line).

Writes use ``BatchWriteItem`` (25 items per request). DynamoDB's own partial protocol is
followed here: ``UnprocessedItems`` (and only those) are re-sent with exponential backoff and
jitter, up to `max_attempts` requests. Whatever is still unprocessed, or a request refused as a
whole (throttling, 5xx), raises `TransientBackendError` for the runner, the one retry owner;
the sink remembers which requests of the batch DynamoDB already accepted, so the runner's
retry (or its bisection) sends only the rest: a throttled batch keeps its progress. The resume
check (``BatchGetItem``, 100 keys a request) re-asks ``UnprocessedKeys`` with backoff the same
way. A put replaces the whole item, so writing the same post twice leaves one item (the newer):
idempotent.

Items over DynamoDB's 400 KB limit: a record that large is never sent; once the rest of the
batch is stored the write raises `PermanentBackendError` naming it, so the runner dead-letters
that post alone. A dead letter that large is stored with its payload cut to fit, followed by
the original's size and SHA-256 digest, so a dead letter can always be stored.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from adverse_events.aws.clients import make_client
from adverse_events.aws.errors import translate
from adverse_events.errors import ConfigError, PermanentBackendError, TransientBackendError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter
from adverse_events.sinks.base import split_latest

__all__ = ["DynamoDBSink"]

_BATCH = 25
_GET_BATCH = 100
DEAD_LETTER_KEY_PREFIX = "dead_letter#"
_DATETIME_FIELDS = frozenset({"created_at", "processed_at", "failed_at"})
#: DynamoDB's item size limit (attribute names + values), and what this sink aims below.
MAX_ITEM_BYTES = 400 * 1024
_LETTER_BUDGET = MAX_ITEM_BYTES - 8 * 1024


def item_size(item: dict[str, Any]) -> int:
    """An upper bound of an item's size as DynamoDB counts it (names + values, UTF-8)."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode("utf-8")) if isinstance(inner, str) else len(inner)
    if kind == "N":
        return len(str(inner)) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in inner.items())
    return sum(len(str(v).encode("utf-8")) + 1 for v in inner)  # SS / NS / BS


def _fit_payload(item: dict[str, Any]) -> dict[str, Any]:
    """A dead-letter item whose payload is cut so the item fits (digest of the original)."""
    size = item_size(item)
    if size <= _LETTER_BUDGET:
        return item
    payload = item["payload"]["S"].encode("utf-8")
    digest = hashlib.sha256(payload).hexdigest()
    keep = max(0, len(payload) - (size - _LETTER_BUDGET))
    cut = payload[:keep].decode("utf-8", errors="ignore")
    note = f"...[cut to fit DynamoDB's item limit: {len(payload)} bytes, sha256 {digest}]"
    return {**item, "payload": {"S": cut + note}}


def _signature(table: str, request: dict[str, Any]) -> str:
    return hashlib.sha1((table + json.dumps(request, sort_keys=True)).encode()).hexdigest()


def _to_item(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row as DynamoDB attribute values (floats as Decimal, datetimes as ISO text)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    item: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, float):
            value = Decimal(repr(value))
        item[key] = serializer.serialize(value)
    return item


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    row: dict[str, Any] = {}
    for key, value in item.items():
        plain = deserializer.deserialize(value)
        if isinstance(plain, Decimal):
            plain = int(plain) if key == "line" else float(plain)
        elif key in _DATETIME_FIELDS and isinstance(plain, str):
            plain = datetime.fromisoformat(plain)
        row[key] = plain
    return row


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DynamoDBSink(Backend):
    """Upserts records (and dead letters) into DynamoDB, keyed by post id.

    Args:
        table: the table name; its partition key is `key` (a string), no sort key.
        key: the partition key attribute name.
        dead_letter_table: a separate table for dead letters (same key name), or None to
            keep them in `table` under ``dead_letter#<id>`` keys.
        region / endpoint_url / client: where DynamoDB is (``endpoint_url`` for moto or
            DynamoDB Local), or a ready boto3 client.
        max_attempts: BatchWriteItem attempts for unprocessed items before giving up.
        backoff_initial: seconds before the first retry of unprocessed items (doubles).
        clear_dead_letters: delete a post's dead letter when the post is written (one extra
            delete request per record; turn off to halve write units when dead letters are
            kept elsewhere).
    """

    name = "dynamodb"

    def __init__(
        self,
        table: str,
        *,
        key: str = "post_id",
        dead_letter_table: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        max_attempts: int = 8,
        backoff_initial: float = 0.05,
        clear_dead_letters: bool = True,
    ):
        if not table or not table.strip():
            raise ConfigError("table must be a DynamoDB table name")
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        if backoff_initial < 0:
            raise ConfigError(f"backoff_initial must be 0 or more, got {backoff_initial}")
        self.table, self.key, self.dead_letter_table = table.strip(), key, dead_letter_table
        self.region, self.endpoint_url = region, endpoint_url
        self.max_attempts, self.backoff_initial = max_attempts, backoff_initial
        self.clear_dead_letters = clear_dead_letters
        self._client, self._client_given = client, client is not None
        self._sleep = time.sleep
        self._accepted: set[str] = set()  # signatures of requests DynamoDB accepted

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                "dynamodb", region=self.region, endpoint_url=self.endpoint_url
            )
        return self._client

    def open(self) -> None:
        _ = self.client

    # -- writing --------------------------------------------------------------------------------
    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        good, letters = split_latest(records)
        requests: list[tuple[str, dict[str, Any]]] = []
        too_big: dict[str, int] = {}
        for record in good:
            item = {**_to_item(record.to_row()), "item_type": {"S": "record"}}
            if self.key != "post_id":
                item[self.key] = item["post_id"]
            if item_size(item) > MAX_ITEM_BYTES:
                too_big[record.post_id] = item_size(item)
                continue
            requests.append((self.table, {"PutRequest": {"Item": item}}))
        letter_table = self.dead_letter_table or self.table
        letter_items: dict[str, dict[str, Any]] = {}  # one per key, the latest wins
        for letter in letters:
            item = {**_to_item(letter.to_row()), "item_type": {"S": "dead_letter"}}
            if letter.post_id is not None:
                item["letter_post_id"] = item.pop("post_id")
            item[self.key] = {"S": self._letter_key(letter)}
            letter_items[self._letter_key(letter)] = _fit_payload(item)
        requests += [
            (letter_table, {"PutRequest": {"Item": item}}) for item in letter_items.values()
        ]
        if good and self.clear_dead_letters:
            # a stored post removes its dead letter, unless this write brings a newer one
            lettered = {d.post_id for d in letters}
            stored = sorted({r.post_id for r in good} - set(too_big) - lettered)
            requests += [
                (
                    letter_table,
                    {
                        "DeleteRequest": {
                            "Key": {self.key: {"S": f"{DEAD_LETTER_KEY_PREFIX}post#{pid}"}}
                        }
                    },
                )
                for pid in stored
            ]
        self._send(requests)
        if too_big:
            named = ", ".join(f"{pid} ({size:,} bytes)" for pid, size in too_big.items())
            raise PermanentBackendError(
                f"items over DynamoDB's 400 KB limit, not stored: {named}", backend=self.name
            )
        self._accepted.clear()  # kept only while the runner may retry this batch

    def _send(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Send what DynamoDB has not accepted yet (puts before the deletes they follow)."""
        todo = [
            (table, request, sig)
            for table, request in requests
            if (sig := _signature(table, request)) not in self._accepted
        ]
        for chunk in _chunks(todo, _BATCH):
            self._batch_write(list(chunk))

    def _batch_write(self, chunk: list[tuple[str, dict[str, Any], str]]) -> None:
        """One BatchWriteItem, re-sending ``UnprocessedItems`` (only those) with backoff."""
        pending = {sig: (table, request) for table, request, sig in chunk}
        delay = self.backoff_initial
        for attempt in range(1, self.max_attempts + 1):
            request_items: dict[str, list[dict[str, Any]]] = {}
            for table, request in pending.values():
                request_items.setdefault(table, []).append(request)
            try:
                response = self.client.batch_write_item(RequestItems=request_items)
            except Exception as exc:  # noqa: BLE001 - translated at the edge
                raise translate(exc, backend=self.name, action="BatchWriteItem") from exc
            left = {
                _signature(table, request)
                for table, reqs in (response.get("UnprocessedItems") or {}).items()
                for request in reqs
            }
            self._accepted.update(sig for sig in pending if sig not in left)
            pending = {sig: pending[sig] for sig in left if sig in pending}
            if not pending:
                return
            if attempt < self.max_attempts:
                self._sleep(delay + random.uniform(0, delay))
                delay *= 2
        raise TransientBackendError(
            f"{len(pending)} items still unprocessed after {self.max_attempts} BatchWriteItem "
            "attempts (table throttled: raise its capacity or use on-demand mode)",
            backend=self.name,
        )

    def _letter_key(self, letter: DeadLetter) -> str:
        """One dead letter per post for a post that failed on its way (the latest wins, and
        storing the post deletes it); one per dead-letter id for input the source could not
        map (two bad lines that name the same id are two dead letters)."""
        if letter.post_id is not None and letter.stage != "source":
            return f"{DEAD_LETTER_KEY_PREFIX}post#{letter.post_id}"
        return DEAD_LETTER_KEY_PREFIX + letter.dead_letter_id

    # -- reading --------------------------------------------------------------------------------
    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        """Which of `post_ids` the table holds (BatchGetItem, 100 keys a request)."""
        found: set[str] = set()
        unique = list(dict.fromkeys(post_ids))
        for chunk in _chunks(unique, _GET_BATCH):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{self.key: {"S": pid}} for pid in chunk],
                    "ProjectionExpression": "#k",
                    "ExpressionAttributeNames": {"#k": self.key},
                }
            }
            found |= self._batch_get(request)
        return found

    def _batch_get(self, request: dict[str, Any]) -> set[str]:
        """One BatchGetItem, re-asking ``UnprocessedKeys`` (only those) with backoff."""
        found: set[str] = set()
        delay = self.backoff_initial
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.batch_get_item(RequestItems=request)
            except Exception as exc:  # noqa: BLE001
                raise translate(exc, backend=self.name, action="BatchGetItem") from exc
            found.update(
                item[self.key]["S"] for item in response.get("Responses", {}).get(self.table, [])
            )
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            if attempt < self.max_attempts:
                self._sleep(delay + random.uniform(0, delay))
                delay *= 2
        raise TransientBackendError(
            f"BatchGetItem left keys unprocessed after {self.max_attempts} attempts",
            backend=self.name,
        )

    def _scan(self, table: str, item_type: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": "item_type = :t",
            "ExpressionAttributeValues": {":t": {"S": item_type}},
        }
        try:
            for page in self.client.get_paginator("scan").paginate(**kwargs):
                items.extend(page.get("Items", []))
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, backend=self.name, action=f"Scan {table}") from exc
        return items

    def read_records(self) -> list[AdverseEventRecord]:
        """Every stored record (a full table scan: for tests and small tables)."""
        return [
            AdverseEventRecord.from_row(_from_item(item))
            for item in self._scan(self.table, "record")
        ]

    def read_dead_letters(self) -> list[DeadLetter]:
        letters = []
        for item in self._scan(self.dead_letter_table or self.table, "dead_letter"):
            row = _from_item(item)
            post_id = row.pop("letter_post_id", None)
            row = {k: v for k, v in row.items() if k not in {self.key, "item_type"}}
            letters.append(DeadLetter.from_row({**row, "post_id": post_id}))
        return letters

    def close(self) -> None:
        """Nothing is buffered; a client this sink made is dropped (one passed in is kept).
        Idempotent."""
        if not self._client_given:
            self._client = None

    def __repr__(self) -> str:
        return f"DynamoDBSink(table={self.table!r})"
