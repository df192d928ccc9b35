"""`DynamoDBStreamSource`: posts from a DynamoDB Stream, a Lambda event's or read directly.

It ties the package's pieces together: the records of a Lambda event, or those `StreamReader`
reads through the DynamoDB Streams API, become posts and dead letters (`RecordMapper`); the
position read so far is a `CheckpointingSource` snapshot the runner commits once the sinks
hold every post before it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.protocols import Backend
from adverse_events.records import DeadLetter, Post
from adverse_events.sources._mapping import FieldMap
from adverse_events.sources._resilience import JsonCheckpoint
from adverse_events.sources.dynamodb_stream.reader import StreamReader
from adverse_events.sources.dynamodb_stream.records import RecordMapper

__all__ = ["DynamoDBStreamSource"]


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
        self._mapper = RecordMapper(self.fields, metadata_attribute, self.event_names)
        self._api: StreamReader | None = None  # the DynamoDB Streams API, made on first use
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
        return self._mapper.to_item(record, index)

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

    def _streams_api(self) -> StreamReader:
        """The DynamoDB Streams API reader (its clients open on first use, drop on close)."""
        if self._api is None:
            self._api = StreamReader(
                backend=self.name,
                region_name=self.region_name,
                endpoint_url=self.endpoint_url,
                iterator_type=self.iterator_type,
                follow=self.follow,
                poll_interval=self.poll_interval,
                batch_limit=self.batch_limit,
                sleep=self._sleep,
                clock=self._clock,
            )
        return self._api

    def resolve_stream_arn(self) -> str:
        """The stream to read: `stream_arn`, or the table's latest stream."""
        if self.stream_arn:
            return self.stream_arn
        self.stream_arn = self._streams_api().stream_arn_of(self.table_name)
        return self.stream_arn

    def _from_stream(self) -> Iterator[Post | DeadLetter]:
        api = self._streams_api()
        arn = self.resolve_stream_arn()
        checkpoint = JsonCheckpoint(self.checkpoint_path, "DynamoDB stream checkpoint")
        if checkpoint.get("stream_arn") not in (None, arn):
            raise ConfigError(
                f"checkpoint {self.checkpoint_path} belongs to stream "
                f"{checkpoint.get('stream_arn')}, not {arn}; use another file"
            )
        checkpoint.set("stream_arn", arn)
        self._position = checkpoint
        with closing(api.records(arn, checkpoint, self._expired)) as records:
            for record in records:
                item = self.to_item(record)
                if item is None:
                    self.stats["skipped"] += 1
                    continue
                yield item

    def _expired(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    def close(self) -> None:
        for reader in self._readers:
            reader.close()  # type: ignore[attr-defined]
        self._readers.clear()
        if self._api is not None:
            self._api.close()
            self._api = None

    def __repr__(self) -> str:
        where = (
            f"{len(self.records)} event records"
            if self.records is not None
            else f"stream_arn={self.stream_arn!r}"
            if self.stream_arn
            else f"table_name={self.table_name!r}"
        )
        return f"DynamoDBStreamSource({where})"
