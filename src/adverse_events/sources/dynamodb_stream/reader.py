"""Reading a DynamoDB stream through the DynamoDB Streams API: shards, iterators, polling.

`StreamReader` finds a table's stream, lists its shards (parents before children), opens a
shard iterator after each shard's checkpointed sequence number (or at ``iterator_type``) and
pages through ``GetRecords``, noting each record's sequence number in the checkpoint before
handing the record out. AWS errors go through the one AWS error map
(`adverse_events.aws.errors.translate`); throttling and network errors are waited out here (5
tries), because polling a stream is this source's own protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from adverse_events.aws.clients import make_client
from adverse_events.aws.errors import translate
from adverse_events.errors import ConfigError, TransientBackendError
from adverse_events.sources._resilience import Backoff, JsonCheckpoint

__all__ = ["StreamReader"]

log = logging.getLogger(__name__)


class StreamReader:
    """The DynamoDB Streams API side of `DynamoDBStreamSource` (clients open on first use).

    Args:
        backend: the backend name errors carry.
        region_name, endpoint_url: AWS client options (endpoint_url for a local stand-in).
        iterator_type: where a shard without a checkpoint starts: ``TRIM_HORIZON`` or ``LATEST``.
        follow: keep polling for new records (default: stop at the current end).
        poll_interval: seconds between polls when following.
        batch_limit: records per ``GetRecords`` call.
        sleep, clock: injectable for tests.
    """

    def __init__(
        self,
        *,
        backend: str,
        region_name: str | None,
        endpoint_url: str | None,
        iterator_type: str,
        follow: bool,
        poll_interval: float,
        batch_limit: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ):
        self.backend = backend
        self.region_name, self.endpoint_url = region_name, endpoint_url
        self.iterator_type, self.follow = iterator_type, follow
        self.poll_interval, self.batch_limit = poll_interval, batch_limit
        self._sleep, self._clock = sleep, clock
        self._clients: dict[str, Any] = {}

    def _backoff(self) -> Backoff:
        return Backoff(sleep=self._sleep, clock=self._clock, http_initial=0.5, http_max=10)

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
                error = translate(exc, backend=self.backend, action=what)
                if not isinstance(error, TransientBackendError) or backoff.failures >= 5:
                    raise error from exc
                log.warning("%s; retrying", error)
                backoff.http_error()

    def stream_arn_of(self, table_name: str | None) -> str:
        """The ARN of the table's latest stream; `ConfigError` when it has none."""
        table = self._aws(
            self._backoff(),
            f"describe table {table_name}",
            lambda: self._client("dynamodb").describe_table(TableName=table_name),
        )["Table"]
        arn = table.get("LatestStreamArn")
        if not arn or not table.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise ConfigError(
                f"table {table_name!r} has no stream; enable one with view "
                "type NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
        return str(arn)

    def records(
        self, arn: str, checkpoint: JsonCheckpoint, expired: Callable[[], bool]
    ) -> Generator[Any, None, None]:
        """The stream's records, shard by shard, each noted in `checkpoint` before it is
        handed out; to the current end, or on and on when following (until `expired()`)."""
        backoff = self._backoff()
        iterators: dict[str, str | None] = {}
        while True:
            for shard in self._shards(arn, backoff):
                yield from self._read_shard(
                    shard["ShardId"], arn, checkpoint, iterators, backoff, expired
                )
                if expired():
                    return
            if not self.follow or expired():
                return
            self._sleep(self.poll_interval)

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
        expired: Callable[[], bool],
    ) -> Iterator[Any]:
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
                error = translate(exc, backend=self.backend, action="get records")
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
                yield record
            iterator = page.get("NextShardIterator")
            iterators[shard_id] = iterator
            if iterator is None:
                shards[shard_id] = {**shards.get(shard_id, {}), "closed": True}
                checkpoint.set("shards", dict(shards))
            if not records or expired():
                return

    def close(self) -> None:
        """Drop the clients (a later read opens new ones)."""
        self._clients.clear()
