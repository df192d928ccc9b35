"""`DynamoDBStreamSource`: posts from a DynamoDB Stream; `DynamoDBPostStore`: posts into its table.

The reference design writes each incoming post to a DynamoDB table (partition key ``id``, stream
enabled) whose stream triggers the classifier. `DynamoDBPostStore` writes that table;
`DynamoDBStreamSource` reads its stream, two ways:

* ``event=...``: the records of one AWS Lambda invocation (the DynamoDB Streams event shape).
  Each post keeps its record's ``event_id``, ``event_name`` and ``sequence_number`` in
  ``Post.metadata`` (dead letters keep the whole record as their payload), so the Lambda handler
  can report ``batchItemFailures`` by sequence number (see `sequence_number_of`).
* ``stream_arn=...`` or ``table_name=...``: reads the stream through the DynamoDB Streams API
  (shard iterators, parent shards before children) with a checkpoint file, for running outside
  Lambda. ``follow=False`` reads to the current end and stops; ``follow=True`` keeps polling.
  The source is a `CheckpointingSource`: `snapshot()` is the sequence number of the last
  record handed out per shard, and the runner `commit()`s it to `checkpoint_path` only once the
  sinks hold every post before it. A restart after a crash re-reads at most the batch in flight
  (the idempotent sinks store it once) and never skips a record.

INSERT and MODIFY records become posts (from NEW_IMAGE, so the stream view type must be
NEW_IMAGE or NEW_AND_OLD_IMAGES); REMOVE records are skipped. Attribute names are options;
typed attribute values are read with boto3's `TypeDeserializer`. Needs
``pip install 'adverse-events[aws]'``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from adverse_events.aws.clients import make_client
from adverse_events.aws.errors import translate
from adverse_events.errors import (
    AdverseEventsError,
    ConfigError,
    InputError,
    TransientBackendError,
)
from adverse_events.protocols import Backend
from adverse_events.records import MAX_NESTING_DEPTH, DeadLetter, Post
from adverse_events.sources._mapping import FieldMap
from adverse_events.sources._resilience import Backoff, JsonCheckpoint

__all__ = ["DynamoDBPostStore", "DynamoDBStreamSource", "sequence_number_of"]

log = logging.getLogger(__name__)


class _StreamDeserializer(TypeDeserializer):
    """boto3's deserializer, also taking ``B`` values as base64 text (how Lambda events hold
    them; the DynamoDB Streams API hands bytes)."""

    def _deserialize_b(self, value: Any) -> Binary:
        if isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise ValueError(f"binary value is not base64: {value[:40]!r}") from exc
        return super()._deserialize_b(value)  # type: ignore[no-any-return]


_DESERIALIZER = _StreamDeserializer()


def sequence_number_of(item: Post | DeadLetter) -> str | None:
    """The stream sequence number a post or dead letter came from (for ``batchItemFailures``)."""
    if isinstance(item, Post):
        value = item.metadata.get("sequence_number")
        return str(value) if value is not None else None
    try:
        record = json.loads(item.payload)
        return str(record["dynamodb"]["SequenceNumber"])
    except (json.JSONDecodeError, KeyError, TypeError, RecursionError):
        found = _SEQUENCE.search(item.payload[:4096])  # a payload cut to its size limit
        return found.group(1) if found else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _record_text(record: Any) -> str:
    """A record as dead-letter payload: JSON with its ids first, so a payload cut to
    `MAX_PAYLOAD_BYTES` still names its sequence number (see `sequence_number_of`)."""
    if not (isinstance(record, Mapping) and isinstance(record.get("dynamodb"), Mapping)):
        return _json_or_marker(record)
    change = record["dynamodb"]
    first = {k: change[k] for k in ("SequenceNumber", "Keys") if k in change}
    ordered = {k: record[k] for k in ("eventID", "eventName") if k in record}
    text = _json_or_marker({**ordered, "dynamodb": {**first, **change}, **record})
    if text.startswith("<"):  # too deep for JSON: keep the record without its images
        note = "<left out: nested too deeply for JSON>"
        images = {k: note for k in ("NewImage", "OldImage") if k in change}
        text = _json_or_marker({**ordered, "dynamodb": {**first, **change, **images}})
    return text


def _json_or_marker(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__} that JSON cannot hold (nested too deeply?)>"


_SEQUENCE = re.compile(r'"SequenceNumber": "(\d+)"')


def _plain(value: Any) -> Any:
    """Deserialised DynamoDB values -> JSON-friendly (Decimal -> int/float, sets -> lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _translate(exc: Exception, what: str, backend: str) -> AdverseEventsError:
    """botocore's exceptions -> the library's, through the one AWS error map."""
    return translate(exc, backend=backend, action=what)


class DynamoDBStreamSource(Backend):
    """Posts from DynamoDB Stream records: a Lambda `event`, or a stream read directly.

    Args:
        event: a Lambda event (``{"Records": [...]}``) or its list of records.
        stream_arn / table_name: read this stream (or the table's latest stream) through the
            DynamoDB Streams API instead.
        region_name, endpoint_url: AWS client options (endpoint_url for a local stand-in).
        checkpoint_path: JSON file with the last sequence number stored per shard (committed by
            the runner after each write; read at the start of `read()`).
        iterator_type: where a shard without a checkpoint starts: ``TRIM_HORIZON`` or ``LATEST``.
        follow: keep polling for new records (default: stop at the current end).
        poll_interval: seconds between polls when following.
        max_records, max_seconds: end `read()` after so many posts or seconds.
        id_attribute, text_attribute, ...: the table's attribute names.
        metadata_attribute: a map attribute merged into ``Post.metadata``.
        event_names: record types that become posts (REMOVE is never one).
        sleep, clock: injectable for tests.
    """

    name = "dynamodb-stream"

    def __init__(
        self,
        event: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        stream_arn: str | None = None,
        table_name: str | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        checkpoint_path: str | os.PathLike[str] | None = None,
        iterator_type: str = "TRIM_HORIZON",
        follow: bool = False,
        poll_interval: float = 1.0,
        max_records: int | None = None,
        max_seconds: float | None = None,
        batch_limit: int = 1000,
        id_attribute: str = "id",
        text_attribute: str = "text",
        time_attribute: str | None = "created_at",
        author_attribute: str | None = "author_id",
        lang_attribute: str | None = "lang",
        url_attribute: str | None = "url",
        drugs_attribute: str | None = "drug_mentions",
        metadata_attribute: str | None = "metadata",
        event_names: Sequence[str] = ("INSERT", "MODIFY"),
        source_name: str | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ):
        given = [
            n
            for n, v in (("event", event), ("stream_arn", stream_arn), ("table_name", table_name))
            if v is not None
        ]
        if len(given) != 1:
            raise ConfigError(
                "dynamodb-stream: give exactly one of event (Lambda), stream_arn "
                f"or table_name; got {given or 'none'}"
            )
        if iterator_type not in ("TRIM_HORIZON", "LATEST"):
            raise ConfigError(
                f"iterator_type must be TRIM_HORIZON or LATEST, got {iterator_type!r}"
            )
        unknown = set(event_names) - {"INSERT", "MODIFY"}
        if unknown:
            raise ConfigError(f"event_names may hold INSERT and MODIFY only, got {sorted(unknown)}")
        if not 1 <= batch_limit <= 1000:
            raise ConfigError(f"batch_limit must be 1 to 1000, got {batch_limit}")
        self.records = self._event_records(event) if event is not None else None
        self.stream_arn, self.table_name = stream_arn, table_name
        self.region_name, self.endpoint_url = region_name, endpoint_url
        self.checkpoint_path, self.iterator_type = checkpoint_path, iterator_type
        self.follow, self.poll_interval = follow, poll_interval
        self.max_records, self.max_seconds = max_records, max_seconds
        self.batch_limit = batch_limit
        self.metadata_attribute, self.event_names = metadata_attribute, tuple(event_names)
        self.fields = FieldMap(
            source=source_name or self.name,
            id_field=id_attribute,
            text_field=text_attribute,
            time_field=time_attribute or None,
            author_field=author_attribute or None,
            lang_field=lang_attribute or None,
            url_field=url_attribute or None,
            drugs_field=drugs_attribute or None,
        )
        self._sleep, self._clock = sleep or time.sleep, clock or time.time
        self._clients: dict[str, Any] = {}
        self._readers: list[Iterator[Post | DeadLetter]] = []
        self._position: JsonCheckpoint | None = None  # where the reader is
        self._committed: JsonCheckpoint | None = None  # what the checkpoint file holds
        self.stats: dict[str, int] = {}

    # -- checkpoints (`CheckpointingSource`) ----------------------------------------------------
    def snapshot(self) -> dict[str, Any] | None:
        """Per shard, the sequence number just after the last record handed out (None for a
        Lambda event: Lambda keeps the position itself)."""
        return self._position.snapshot() if self._position is not None else None

    def commit(self, state: dict[str, Any] | None) -> None:
        """Save `state` to `checkpoint_path`: the runner calls it once the sinks hold the posts."""
        if state is None or self.checkpoint_path is None:
            return
        if self._committed is None:
            self._committed = JsonCheckpoint(self.checkpoint_path, "DynamoDB stream checkpoint")
        self._committed.replace(state)
        self._committed.save()

    @staticmethod
    def _event_records(event: Any) -> list[Any]:
        records = event.get("Records") if isinstance(event, Mapping) else event
        if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
            raise ConfigError(
                "event must be a Lambda DynamoDB Streams event ({'Records': [...]}) "
                "or its list of records"
            )
        return list(records)

    # -- records -> posts ---------------------------------------------------------------------
    def to_item(self, record: Any, index: int | None = None) -> Post | DeadLetter | None:
        """One stream record -> a post, a dead letter, or None (REMOVE / not selected)."""
        try:
            return self._to_post(record)
        except InputError as exc:
            reason, post_id = exc.reason, exc.post_id
        except RecursionError:
            reason, post_id = f"NewImage nested deeper than {MAX_NESTING_DEPTH} levels", None
        return DeadLetter(
            stage="source",
            reason=reason,
            payload=self.fields.scrub(_record_text(record)),
            post_id=post_id,
            source=self.fields.source,
            line=index,
        )

    def _to_post(self, record: Any) -> Post | None:
        if not isinstance(record, Mapping) or not isinstance(record.get("dynamodb"), Mapping):
            raise InputError("not a DynamoDB Streams record (no 'dynamodb' object)")
        event_name = record.get("eventName")
        if event_name == "REMOVE" or event_name not in self.event_names:
            if event_name not in ("REMOVE", "INSERT", "MODIFY"):
                raise InputError(f"unknown eventName {event_name!r}")
            return None
        change = record["dynamodb"]
        image = change.get("NewImage")
        if not isinstance(image, Mapping):
            raise InputError(
                f"{event_name} record has no NewImage: set the stream view type to "
                "NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
        try:
            row = {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in image.items()}
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise InputError(f"undecodable attribute value in NewImage: {exc}") from exc
        extra = row.pop(self.metadata_attribute, None) if self.metadata_attribute else None
        post = self.fields.to_post(row)
        metadata = {
            **(extra if isinstance(extra, dict) else {}),
            **post.metadata,
            "event_id": _text_or_none(record.get("eventID")),
            "event_name": event_name,
            "sequence_number": _text_or_none(change.get("SequenceNumber")),
        }
        try:  # validated again: the metadata attribute is input too (depth, unicode)
            return Post.model_validate({**dict(post), "metadata": metadata})
        except ValidationError as exc:
            raise InputError(
                f"invalid post: {exc.errors()[0]['msg']}", post_id=post.post_id
            ) from exc

    # -- reading --------------------------------------------------------------------------------
    def read(self) -> Iterator[Post | DeadLetter]:
        """Posts and dead letters: the event's records in order, or the stream's."""
        reader = self._bounded(
            self._from_event() if self.records is not None else self._from_stream()
        )
        self._readers.append(reader)
        return reader

    def _bounded(self, items: Iterator[Post | DeadLetter]) -> Iterator[Post | DeadLetter]:
        self.stats = {"posts": 0, "dead_letters": 0, "skipped": 0}
        self._deadline = None if self.max_seconds is None else self._clock() + self.max_seconds
        try:
            if self.max_records == 0:
                return
            for item in items:
                yield item
                key = "posts" if isinstance(item, Post) else "dead_letters"
                self.stats[key] += 1
                if self.max_records is not None and self.stats["posts"] >= self.max_records:
                    return
        finally:
            items.close()  # type: ignore[attr-defined]

    def _from_event(self) -> Iterator[Post | DeadLetter]:
        for index, record in enumerate(self.records or [], start=1):
            item = self.to_item(record, index)
            if item is None:
                self.stats["skipped"] += 1
            else:
                yield item

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = make_client(
                service, region=self.region_name, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def _aws(self, backoff: Backoff, what: str, call: Callable[[], Any]) -> Any:
        """Call AWS, backing off on throttling and network errors (5 tries).

        Polling a stream is this source's own protocol, as reconnecting is the X stream's: the
        runner cannot re-enter a half-read iterator, so the reader waits and polls again (the
        DynamoDB Streams guidance for ``GetRecords`` throttling). botocore's retries are off
        (`make_client`), so each try is one request."""
        while True:
            try:
                result = call()
                backoff.success()
                return result
            except (ClientError, BotoCoreError) as exc:
                error = _translate(exc, what, self.name)
                if not isinstance(error, TransientBackendError) or backoff.failures >= 5:
                    raise error from exc
                log.warning("%s; retrying", error)
                backoff.http_error()

    def resolve_stream_arn(self) -> str:
        if self.stream_arn:
            return self.stream_arn
        backoff = Backoff(sleep=self._sleep, clock=self._clock, http_initial=0.5, http_max=10)
        table = self._aws(
            backoff,
            f"describe table {self.table_name}",
            lambda: self._client("dynamodb").describe_table(TableName=self.table_name),
        )["Table"]
        arn = table.get("LatestStreamArn")
        if not arn or not table.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise ConfigError(
                f"table {self.table_name!r} has no stream; enable one with view "
                "type NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
        self.stream_arn = arn
        return arn

    def _shards(self, arn: str, backoff: Backoff) -> list[dict[str, Any]]:
        """The stream's shards, parents before children."""
        client, shards, start = self._client("dynamodbstreams"), [], None
        while True:
            kwargs = {"StreamArn": arn, **({"ExclusiveStartShardId": start} if start else {})}
            desc = self._aws(backoff, "describe stream", partial(client.describe_stream, **kwargs))[
                "StreamDescription"
            ]
            shards += desc.get("Shards", [])
            start = desc.get("LastEvaluatedShardId")
            if not start:
                break
        known = {s["ShardId"] for s in shards}
        ordered: list[dict[str, Any]] = []
        done: set[str] = set()
        pending = list(shards)
        while pending:
            ready = [s for s in pending if s.get("ParentShardId") not in known - done]
            ready = ready or pending  # a cycle cannot happen; never loop forever anyway
            for shard in ready:
                ordered.append(shard)
                done.add(shard["ShardId"])
            pending = [s for s in pending if s["ShardId"] not in done]
        return ordered

    def _from_stream(self) -> Iterator[Post | DeadLetter]:
        backoff = Backoff(sleep=self._sleep, clock=self._clock, http_initial=0.5, http_max=10)
        arn = self.resolve_stream_arn()
        checkpoint = JsonCheckpoint(self.checkpoint_path, "DynamoDB stream checkpoint")
        if checkpoint.get("stream_arn") not in (None, arn):
            raise ConfigError(
                f"checkpoint {self.checkpoint_path} belongs to stream "
                f"{checkpoint.get('stream_arn')}, not {arn}; use another file"
            )
        checkpoint.set("stream_arn", arn)
        self._position = checkpoint
        iterators: dict[str, str | None] = {}
        while True:
            for shard in self._shards(arn, backoff):
                yield from self._read_shard(shard["ShardId"], arn, checkpoint, iterators, backoff)
                if self._expired():
                    return
            if not self.follow or self._expired():
                return
            self._sleep(self.poll_interval)

    def _expired(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    def _iterator(
        self, shard_id: str, arn: str, checkpoint: JsonCheckpoint, backoff: Backoff
    ) -> str:
        client = self._client("dynamodbstreams")
        last = (checkpoint.get("shards") or {}).get(shard_id, {}).get("sequence_number")
        kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if last:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=last)
        else:
            kwargs["ShardIteratorType"] = self.iterator_type
        try:
            return str(client.get_shard_iterator(**kwargs)["ShardIterator"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                return str(
                    self._aws(
                        backoff, "get shard iterator", lambda: client.get_shard_iterator(**kwargs)
                    )["ShardIterator"]
                )
            log.warning(
                "checkpoint of shard %s is older than the stream keeps (24 h); "
                "starting at its oldest record",
                shard_id,
            )
            kwargs = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
            return str(
                self._aws(
                    backoff, "get shard iterator", lambda: client.get_shard_iterator(**kwargs)
                )["ShardIterator"]
            )

    def _read_shard(
        self,
        shard_id: str,
        arn: str,
        checkpoint: JsonCheckpoint,
        iterators: dict[str, str | None],
        backoff: Backoff,
    ) -> Iterator[Post | DeadLetter]:
        shards = dict(checkpoint.get("shards") or {})
        if shards.get(shard_id, {}).get("closed"):
            return
        client = self._client("dynamodbstreams")
        iterator = iterators.get(shard_id) or self._iterator(shard_id, arn, checkpoint, backoff)
        while iterator:
            try:
                page = client.get_records(ShardIterator=iterator, Limit=self.batch_limit)
                backoff.success()
            except (ClientError, BotoCoreError) as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code == "ExpiredIteratorException":
                    iterator = self._iterator(shard_id, arn, checkpoint, backoff)
                    continue
                page = None
                error = _translate(exc, "get records", self.name)
                if not isinstance(error, TransientBackendError) or backoff.failures >= 5:
                    raise error from exc
                backoff.http_error()
            if page is None:
                continue
            records = page.get("Records", [])
            for record in records:
                state = {
                    **shards.get(shard_id, {}),
                    "sequence_number": record["dynamodb"]["SequenceNumber"],
                }
                shards[shard_id] = state
                checkpoint.set("shards", dict(shards))
                item = self.to_item(record)
                if item is None:
                    self.stats["skipped"] += 1
                    continue
                yield item
            iterator = page.get("NextShardIterator")
            iterators[shard_id] = iterator
            if iterator is None:
                shards[shard_id] = {**shards.get(shard_id, {}), "closed": True}
                checkpoint.set("shards", dict(shards))
            if not records or self._expired():
                return

    def close(self) -> None:
        for reader in self._readers:
            reader.close()  # type: ignore[attr-defined]
        self._readers.clear()
        self._clients.clear()

    def __repr__(self) -> str:
        where = (
            f"{len(self.records)} event records"
            if self.records is not None
            else f"stream_arn={self.stream_arn!r}"
            if self.stream_arn
            else f"table_name={self.table_name!r}"
        )
        return f"DynamoDBStreamSource({where})"


class DynamoDBPostStore(Backend):
    """Writes posts to the reference design's table (partition key ``id``, stream enabled).

    Idempotent: a post is one item keyed by its id, so writing it again leaves one item (and, on
    DynamoDB, an unchanged item produces no new stream record). The item layout is what
    `DynamoDBStreamSource` reads with its default attribute names.
    """

    name = "dynamodb-posts"

    def __init__(
        self,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        create_table: bool = False,
        stream_view_type: str = "NEW_IMAGE",
        id_attribute: str = "id",
    ):
        if not table_name:
            raise ConfigError("dynamodb post store: table_name is required")
        if stream_view_type not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            raise ConfigError(
                "stream_view_type must be NEW_IMAGE or NEW_AND_OLD_IMAGES (the "
                f"stream source reads new images), got {stream_view_type!r}"
            )
        self.table_name, self.region_name, self.endpoint_url = table_name, region_name, endpoint_url
        self.create_table, self.stream_view_type = create_table, stream_view_type
        self.id_attribute = id_attribute
        self._resource: Any = None
        self._ready = False

    def _table(self) -> Any:
        if self._resource is None:
            self._resource = boto3.resource(
                "dynamodb", region_name=self.region_name, endpoint_url=self.endpoint_url
            )
        if not self._ready and self.create_table:
            self.ensure_table()
        self._ready = True
        return self._resource.Table(self.table_name)

    def ensure_table(self) -> str:
        """Create the table (on-demand, stream on) unless it exists; return its stream ARN."""
        if self._resource is None:
            self._resource = boto3.resource(
                "dynamodb", region_name=self.region_name, endpoint_url=self.endpoint_url
            )
        client = self._resource.meta.client
        try:
            client.create_table(
                TableName=self.table_name,
                KeySchema=[{"AttributeName": self.id_attribute, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": self.id_attribute, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={
                    "StreamEnabled": True,
                    "StreamViewType": self.stream_view_type,
                },
            )
            client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise _translate(exc, f"create table {self.table_name}", self.name) from exc
        except BotoCoreError as exc:
            raise _translate(exc, f"create table {self.table_name}", self.name) from exc
        try:
            table = client.describe_table(TableName=self.table_name)["Table"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"describe table {self.table_name}", self.name) from exc
        self._ready = True
        return str(table.get("LatestStreamArn", ""))

    def item(self, post: Post) -> dict[str, Any]:
        """The DynamoDB item of a post (floats become Decimals; empty values are left out)."""
        data = post.model_dump(mode="json", exclude={"post_id"})
        data[self.id_attribute] = post.post_id
        data["drug_mentions"] = list(post.drug_mentions)
        data = {k: v for k, v in data.items() if v not in (None, {}, "")}
        return json.loads(json.dumps(data), parse_float=Decimal)

    def put_posts(self, posts: Iterable[Post]) -> int:
        """Write posts (batched, last one wins per id); returns how many were written."""
        latest = {post.post_id: post for post in posts}
        if not latest:
            return 0
        table = self._table()
        try:
            with table.batch_writer(overwrite_by_pkeys=[self.id_attribute]) as batch:
                for post in latest.values():
                    batch.put_item(Item=self.item(post))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"write to {self.table_name}", self.name) from exc
        return len(latest)

    def close(self) -> None:
        self._resource = None
        self._ready = False

    def __repr__(self) -> str:
        return f"DynamoDBPostStore(table_name={self.table_name!r})"
