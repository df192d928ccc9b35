"""`S3Sink`: records as a few large Parquet (or JSON Lines) objects that Glue and Athena query.

Layout (Hive partitions by processing date, UTC)::

    s3://BUCKET/PREFIX dt=2024-05-01/part-<digest>.parquet                      records
    s3://BUCKET/DEAD_LETTER_PREFIX dt=2024-05-01/part-<digest>.parquet          dead letters

Records are buffered and written when the sink is flushed or closed (or, before the next
write, once the buffer holds `max_buffer_records`), in objects of at most `max_object_records`
rows per partition: thousands of posts make a handful of objects, not one object per post.
Each object leaves the buffer once it is stored, so a failed flush keeps exactly what is not
stored yet; the runner retries the final flush (`close()`) under its retry policy, and a
retry writes the same remaining objects under the same keys.

The sink is a buffering sink (`buffered()`): the runner counts as ``written`` only what was
stored (``unstored`` in the report is what a failed final flush left), and commits a
checkpointing source's position only when the buffer is empty. What a rerun produces after a
run that failed or was killed with posts still buffered: the source restarts from the position
committed at the last empty buffer, so the posts buffered since are processed and stored
again; objects a failed flush did store are not rewritten (their posts come again in new
objects with a later ``processed_at``), so queries over the records prefix should keep the
latest row per ``post_id``. Nothing is lost.

The columns are `adverse_events.schema.RECORDS` in every object, so a Glue table
over the prefix never sees a schema drift.

Idempotent: an object's key is a digest of the sorted post ids and the *input* posts it holds
(not of processing time), so a retried or redelivered batch overwrites its own object instead
of adding rows. Within one sink, a post written twice is stored once (the newer).

Dead letters, the one difference from the other sinks: objects are immutable and a run does
not read back what earlier runs stored, so "a stored post replaces its old dead letter" and "a
dead letter is stored once per id" hold for everything buffered between two flushes (one run,
with the default `max_buffer_records`, unless it is larger). A dead letter flushed by an
earlier run stays in its object after a later run stores the post, and a dead letter re-sent
in a later run lands again in a new object. Queries over the dead-letter prefix should keep
the latest row per ``dead_letter_id`` and drop those whose post is in the records table.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from adverse_events.aws.clients import make_client
from adverse_events.aws.errors import translate
from adverse_events.errors import ConfigError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter

__all__ = ["S3Sink"]

FORMATS = ("parquet", "jsonl")


def _normalise_prefix(prefix: str, key: str) -> str:
    prefix = prefix.strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if "dt=" in prefix:
        raise ConfigError(f"{key} {prefix!r} must not contain 'dt=': the sink adds the partition")
    return prefix


def batch_digest(parts: Iterable[tuple[str, str]]) -> str:
    """A digest of (id, content) pairs, independent of their order."""
    h = hashlib.sha256()
    for item_id, content in sorted(parts):
        h.update(item_id.encode("utf-8") + b"\x00" + content.encode("utf-8") + b"\x01")
    return h.hexdigest()[:32]


class S3Sink(Backend):
    """Writes records and dead letters to S3, partitioned by ``dt=YYYY-MM-DD``.

    Args:
        bucket: the bucket name (no ``s3://``).
        prefix: key prefix of the records table (the Glue/Athena table location).
        format: ``"parquet"`` (snappy-compressed, the default) or ``"jsonl"``.
        dead_letter_prefix: key prefix of dead letters, kept apart from the records table.
        region / endpoint_url: where S3 is (``endpoint_url`` for moto, LocalStack, MinIO).
        client: a ready boto3 S3 client (then region and endpoint_url are ignored).
        max_buffer_records: flush (before the next write) once this many records and dead
            letters are buffered.
        max_object_records: most rows in one object (a flush of a large buffer writes several
            objects per partition, each stored and let go of on its own).
    """

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "lambda_predictions/",
        format: str = "parquet",
        *,
        dead_letter_prefix: str = "lambda_dead_letters/",
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        max_buffer_records: int = 10_000,
        max_object_records: int = 5_000,
    ):
        bucket = bucket.strip()
        if not bucket or bucket.startswith("s3://") or "/" in bucket:
            raise ConfigError(f"bucket must be a bucket name like 'my-bucket', got {bucket!r}")
        if format not in FORMATS:
            raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
        if max_buffer_records < 1:
            raise ConfigError(f"max_buffer_records must be at least 1, got {max_buffer_records}")
        self.bucket, self.format = bucket, format
        self.prefix = _normalise_prefix(prefix, "prefix")
        self.dead_letter_prefix = _normalise_prefix(dead_letter_prefix, "dead_letter_prefix")
        if self.prefix == self.dead_letter_prefix:
            raise ConfigError(
                "prefix and dead_letter_prefix must differ, so the records table "
                "never reads dead letters"
            )
        self.region, self.endpoint_url = region, endpoint_url
        self.max_buffer_records = max_buffer_records
        if max_object_records < 1:
            raise ConfigError(f"max_object_records must be at least 1, got {max_object_records}")
        self.max_object_records = max_object_records
        self._client = client
        self._records: dict[str, AdverseEventRecord] = {}
        self._letters: dict[str, DeadLetter] = {}
        self._letters_of: dict[str, set[str]] = {}  # post id -> its buffered dead letters
        self._lock = threading.Lock()
        #: keys of the objects this sink has written (for logs and tests).
        self.written_keys: list[str] = []

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client("s3", region=self.region, endpoint_url=self.endpoint_url)
        return self._client

    # -- writing --------------------------------------------------------------------------------
    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        """Buffer `records`, after flushing the buffer if it is full.

        The flush comes first, so a failed flush refuses this batch as a whole (the runner's
        retry, or its dead letters, are then exact) and the buffer keeps what it held.
        """
        if self._size() >= self.max_buffer_records:
            self.flush()
        with self._lock:
            for item in records:
                if isinstance(item, AdverseEventRecord):
                    self._records.pop(item.post_id, None)
                    self._records[item.post_id] = item
                    self._drop_buffered_letters(item.post_id)
                else:
                    self._letters.pop(item.dead_letter_id, None)
                    self._letters[item.dead_letter_id] = item
                    if item.post_id is not None:
                        self._letters_of.setdefault(item.post_id, set()).add(item.dead_letter_id)

    def _size(self) -> int:
        with self._lock:
            return len(self._records) + len(self._letters)

    def buffered(self) -> tuple[int, int]:
        """Records and dead letters accepted by `write()` but not stored yet."""
        with self._lock:
            return len(self._records), len(self._letters)

    def flush(self) -> list[str]:
        """Store everything buffered, in objects of at most `max_object_records` rows per
        partition; return the keys written.

        Each object leaves the buffer as soon as it is stored, so a failure keeps only what is
        not stored yet, and a retry writes the same remaining objects (same keys).
        """
        with self._lock:
            keys: list[str] = []
            for day, group in _by_day(
                list(self._records.values()), lambda r: r.processed_at
            ).items():
                for part in _parts(group, self.max_object_records):
                    keys.append(self._put_records(day, part))
                    self.written_keys.append(keys[-1])
                    for record in part:
                        del self._records[record.post_id]
            for day, group in _by_day(list(self._letters.values()), lambda d: d.failed_at).items():
                for part in _parts(group, self.max_object_records):
                    keys.append(self._put_letters(day, part))
                    self.written_keys.append(keys[-1])
                    for letter in part:
                        del self._letters[letter.dead_letter_id]
            if not self._letters:
                self._letters_of.clear()
            return keys

    def _drop_buffered_letters(self, post_id: str) -> None:
        """A stored post replaces its dead letters still in the buffer (not those in objects
        already flushed: see the module doc)."""
        for key in self._letters_of.pop(post_id, ()):
            self._letters.pop(key, None)

    def _put_records(self, day: str, records: list[AdverseEventRecord]) -> str:
        digest = batch_digest((r.post_id, r.post.model_dump_json()) for r in records)
        key = f"{self.prefix}dt={day}/part-{digest}.{self._extension}"
        if self.format == "parquet":
            from adverse_events.schema import records_table

            body = _parquet(records_table(records))
        else:
            body = _jsonl(r.to_row() for r in records)
        self._put(key, body)
        return key

    def _put_letters(self, day: str, letters: list[DeadLetter]) -> str:
        digest = batch_digest((d.dead_letter_id, d.payload) for d in letters)
        key = f"{self.dead_letter_prefix}dt={day}/part-{digest}.{self._extension}"
        if self.format == "parquet":
            from adverse_events.schema import dead_letters_table

            body = _parquet(dead_letters_table(letters))
        else:
            body = _jsonl(d.to_row() for d in letters)
        self._put(key, body)
        return key

    @property
    def _extension(self) -> str:
        return "parquet" if self.format == "parquet" else "jsonl"

    def _put(self, key: str, body: bytes) -> None:
        content_type = (
            "application/vnd.apache.parquet" if self.format == "parquet" else "application/x-ndjson"
        )
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except Exception as exc:  # noqa: BLE001 - translated at the edge
            raise translate(exc, backend=self.name, action=f"put s3://{self.bucket}/{key}") from exc

    # -- reading back (tests, small exports) ----------------------------------------------------
    def read_records(self) -> list[AdverseEventRecord]:
        """Every stored record, across objects and partitions (for tests and small exports)."""
        return [AdverseEventRecord.from_row(row) for row in self._read_rows(self.prefix)]

    def read_dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter.from_row(row) for row in self._read_rows(self.dead_letter_prefix)]

    def list_keys(self, prefix: str | None = None) -> list[str]:
        """Keys under `prefix` (default: the records prefix)."""
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix if prefix is None else prefix
            )
            for page in pages:
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, backend=self.name, action=f"list s3://{self.bucket}") from exc
        return sorted(keys)

    def _read_rows(self, prefix: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key in self.list_keys(prefix):
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except Exception as exc:  # noqa: BLE001
                raise translate(exc, backend=self.name, action=f"get {key}") from exc
            if key.endswith(".parquet"):
                import pyarrow.parquet as pq

                rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
            else:
                rows.extend(
                    json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()
                )
        return rows

    def close(self) -> None:
        """Flush what is buffered. Idempotent (a second close writes nothing)."""
        if self._records or self._letters:
            self.flush()

    def __repr__(self) -> str:
        return f"S3Sink(bucket={self.bucket!r}, prefix={self.prefix!r}, format={self.format!r})"


def _by_day(items: Iterable[Any], when: Any) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for item in items:
        moment: datetime = when(item)
        groups.setdefault(moment.strftime("%Y-%m-%d"), []).append(item)
    return groups


def _parts(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _parquet(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    lines = (json.dumps(row, default=_json_default, ensure_ascii=False) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
