"""The Ray engine's unit of work, a *shard*: items ``[start, stop)`` of one input file.

Ray-free, so every rule here is tested without a cluster:

* `Layout` says where outputs go, in the layout the S3 and Parquet sinks write (``dt=``
  partitions, `adverse_events.schema` columns). A shard's two objects are named
  from its input and item range, ``part-<input id>-<start>-<stop>.parquet``: a retried task or a
  re-run rewrites the same keys instead of adding rows.
* `Manifest` is one small JSON object per input, written ``started`` before its first shard and
  ``complete`` after its last: ``resume`` skips complete inputs, and a re-run first deletes what
  an unfinished attempt left (every object of that input in that partition), so a driver killed
  at any point and re-run ends with each post stored once.
* `read_shards` turns an input file into shards with the local source classes themselves (an
  ``s3://`` object is copied to a temporary file of the same name first), so field mapping,
  dead-letter reasons and line numbers are exactly the local runner's.
* `ShardProcessor` runs one shard through the local `Pipeline` (classify, extract adverse
  events only, its retry policy and bisection) into memory and writes the two objects.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

from adverse_events.config import PipelineConfig, StageConfig, build_backend
from adverse_events.engines._store import LocalStore, S3Store, Store, split_s3_uri
from adverse_events.errors import AdverseEventsError, ConfigError
from adverse_events.hooks import default_manager, new_manager
from adverse_events.records import AdverseEventRecord, DeadLetter, Post
from adverse_events.registry import Registry
from adverse_events.schema import dead_letters_table, records_table

__all__ = [
    "Layout",
    "Manifest",
    "ShardProcessor",
    "input_id",
    "read_shards",
    "retrying",
    "store_for",
]

#: counts a shard reports back, summed into the run's report.
COUNTS = (
    "read",
    "classified",
    "adverse_events",
    "extracted",
    "written",
    "dead_lettered",
    "retries",
    "batches",
)


def input_id(uri: str) -> str:
    """A short stable id of an input file, the stem of every object made from it."""
    return hashlib.sha1(uri.encode("utf-8")).hexdigest()[:16]


def store_for(
    uri: str,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> tuple[Store, str]:
    """The store holding `uri` and the key of `uri` in it."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        return S3Store(bucket, endpoint_url, region), key
    path = Path(uri).resolve()
    return LocalStore(path.parent), path.name


# -- where outputs go ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """Object keys of records, dead letters and manifests in one store."""

    store: Store
    records_prefix: str
    letters_prefix: str
    letters_partitioned: bool
    manifest_prefix: str

    @classmethod
    def for_sink(cls, sink: StageConfig) -> Layout:
        """The layout the `[sink]` table's own backend writes (``s3`` or ``parquet``)."""
        options = sink.options
        if sink.type == "s3":
            from adverse_events.sinks.s3 import S3Sink

            s3 = build_backend("sink", sink)  # validates bucket, prefixes and format
            if s3.format != "parquet":
                raise ConfigError(
                    '[sink] the ray engine writes Parquet: set format = "parquet" (or leave it out)'
                )
            assert isinstance(s3, S3Sink)
            store = S3Store(s3.bucket, options.get("endpoint_url"), options.get("region"))
            return cls(
                store,
                s3.prefix,
                s3.dead_letter_prefix,
                True,
                f"_ray_manifests/{s3.prefix or 'root/'}",
            )
        if sink.type == "parquet":
            root = Path(options.get("path", "out/parquet"))
            build_backend("sink", sink)  # validates the options
            return cls(
                LocalStore(root), "adverse_events/", "dead_letters/", False, "_ray_manifests/"
            )
        raise ConfigError(
            f"[sink] type = {sink.type!r}: the ray engine writes the S3 sink's "
            'Parquet layout; use type = "s3" (a bucket) or "parquet" (a folder '
            "every worker can reach)"
        )

    def records_key(self, dt: str, source_id: str, start: int, stop: int) -> str:
        return f"{self.records_prefix}dt={dt}/{_part(source_id, start, stop)}"

    def letters_key(self, dt: str, source_id: str, start: int, stop: int) -> str:
        folder = f"dt={dt}/" if self.letters_partitioned else ""
        return f"{self.letters_prefix}{folder}{_part(source_id, start, stop)}"

    def input_prefixes(self, dt: str, source_id: str) -> list[str]:
        """Key prefixes that hold every object made from one input in partition `dt`."""
        folder = f"dt={dt}/" if self.letters_partitioned else ""
        return [
            f"{self.records_prefix}dt={dt}/part-{source_id}-",
            f"{self.letters_prefix}{folder}part-{source_id}-",
        ]

    def manifest_key(self, source_id: str) -> str:
        return f"{self.manifest_prefix}{source_id}.json"


def _part(source_id: str, start: int, stop: int) -> str:
    return f"part-{source_id}-{start:010d}-{stop:010d}.parquet"


# -- one manifest per input ----------------------------------------------------------------------
@dataclass
class Manifest:
    """What the engine knows of one input: which attempt, and (once complete) what it made."""

    uri: str
    size: int
    version: str
    dt: str
    shard_rows: int
    status: str = "started"
    counts: dict[str, int] = field(default_factory=dict)
    shards: list[list[int]] = field(default_factory=list)
    updated_at: str = ""

    def matches(self, size: int, version: str) -> bool:
        """True when the input is still the one this manifest describes."""
        return self.size == size and self.version == version

    def dump(self) -> bytes:
        self.updated_at = datetime.now(timezone.utc).isoformat()
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def load(cls, body: bytes | None) -> Manifest | None:
        if body is None:
            return None
        return cls(**json.loads(body.decode("utf-8")))


# -- reading -------------------------------------------------------------------------------------
def read_shards(
    uri: str,
    source: StageConfig,
    shard_rows: int,
    store: Store,
    key: str,
    options: Any = None,
) -> Iterator[tuple[int, int, bool, list[Post | DeadLetter]]]:
    """``(start, stop, last, items)`` for each run of `shard_rows` items of one input file.

    The file is read by the `[source]` table's own backend; an empty file is one empty shard,
    so every input ends with a ``last`` shard and gets its manifest. Copying an ``s3://``
    object follows `options`' retry policy (`[pipeline]`; the defaults when None).
    """
    from adverse_events.config import PipelineOptions

    retry = retrying(options or PipelineOptions())
    with tempfile.TemporaryDirectory(prefix="ae-ray-") as tmp:
        path = retry(store.download, key, Path(tmp) / PurePosixPath(key).name)
        backend = build_backend(
            "source",
            StageConfig(type=source.type, options={**source.options, "path": str(path)}),
            table="source",
        )
        items = iter(backend.read())
        start, chunk = 0, list(islice(items, shard_rows))
        while True:
            following = list(islice(items, shard_rows))
            stop = start + len(chunk)
            yield start, stop, not following, chunk
            if not following:
                return
            start, chunk = stop, following


# -- processing and writing ----------------------------------------------------------------------
def retrying(options: Any) -> Any:
    """The runner's retry policy (`[pipeline]` max_retries, backoff_initial, backoff_max) for
    the engine's own storage calls: transient errors retried with exponential backoff + jitter."""
    from adverse_events.retrying import RetryPolicy

    policy = RetryPolicy(options.max_retries, options.backoff_initial, options.backoff_max)
    return policy.retrying()


class ShardProcessor:
    """Classifies, extracts and stores shards; builds its backends once, from the config.

    Args:
        config: the pipeline file; its `[classifier]` and `[extractor]` are built here.
        layout: where the two objects of a shard go.
        plugins: objects with `adverse_events.hooks.hookimpl` methods: backend tables
            (``adverse_events_backends``) and lifecycle hooks, as `Pipeline` takes them.
    """

    def __init__(
        self,
        config: PipelineConfig,
        layout: Layout,
        plugins: Sequence[object] = (),
        *,
        roles: tuple[str, ...] = ("classifier", "extractor"),
    ):
        # One manager per worker, for its backends and every shard's lifecycle hooks.
        self.hooks = new_manager(plugins, entry_points=True) if plugins else default_manager()
        registry = Registry(self.hooks)
        self.config, self.layout, self.plugins = config, layout, list(plugins)
        self.classifier: Any = None
        self.extractor: Any = None
        if "classifier" in roles:
            self.classifier = build_backend("classifier", config.classifier, registry, "classifier")
        if "extractor" in roles and config.extractor is not None:
            self.extractor = build_backend("extractor", config.extractor, registry, "extractor")
        for backend in (self.classifier, self.extractor):
            opener = getattr(backend, "open", None)
            if opener is not None:
                opener()  # one model load per worker, before the first shard

    def process(
        self, source_id: str, dt: str, start: int, stop: int, items: list[Post | DeadLetter]
    ) -> dict[str, int]:
        """Run one shard and store it; returns its counts (see `COUNTS`)."""
        records, letters, counts = self.run_pipeline(items)
        return self.write(source_id, dt, start, stop, records, letters, counts)

    def write(
        self,
        source_id: str,
        dt: str,
        start: int,
        stop: int,
        records: list[AdverseEventRecord],
        letters: list[DeadLetter],
        counts: dict[str, int],
    ) -> dict[str, int]:
        """Store a shard's two objects; returns `counts` with what was written."""
        records_key = self.layout.records_key(dt, source_id, start, stop)
        letters_key = self.layout.letters_key(dt, source_id, start, stop)
        self._store(records_key, records_table(records) if records else None)
        self._store(letters_key, dead_letters_table(letters) if letters else None)
        return {**counts, "written": len(records), "dead_lettered": len(letters)}

    def extract(
        self,
        records: list[AdverseEventRecord],
        letters: list[DeadLetter],
        counts: dict[str, int],
    ) -> tuple[list[AdverseEventRecord], list[DeadLetter], dict[str, int]]:
        """The second pool's step: extract the adverse-event records another worker classified.

        The local runner does it, given the predictions already made (`_KnownPredictions`), so
        retries, bisection and the records it builds are the same as in one pool.
        """
        adverse = [r for r in records if r.prediction.is_adverse_event]
        if not adverse or self.extractor is None:
            return records, letters, counts

        known = _KnownPredictions({r.post.text: r.prediction for r in adverse})
        report, sink = self._in_memory([r.post for r in adverse], known)
        kept = [r for r in records if not r.prediction.is_adverse_event]
        counts = {
            **counts,
            "extracted": int(report.extracted),
            "retries": counts.get("retries", 0) + int(report.retries),
        }
        return (
            kept + list(sink.records.values()),
            letters + list(sink.dead_letters.values()),
            counts,
        )

    def _in_memory(self, items: list[Any], classifier: Any) -> tuple[Any, Any]:
        """The local runner (its retries, bisection, extract-only-for-AEs) over `items`, into a
        `MemorySink`; a failed run is a `ShardFailed`."""
        from adverse_events.pipeline import Pipeline
        from adverse_events.sinks.memory import MemorySink
        from adverse_events.sources.memory import MemorySource

        options, sink = self.config.pipeline, MemorySink()
        report = Pipeline(
            MemorySource(items),
            classifier,
            self.extractor,
            sink,
            batch_size=options.batch_size,
            max_retries=options.max_retries,
            backoff_initial=options.backoff_initial,
            backoff_max=options.backoff_max,
            progress=False,
            hooks=self.hooks,
            close=False,
        ).run()
        if report.failed:
            raise ShardFailed(report.error or "the pipeline failed on a shard")
        return report, sink

    def run_pipeline(
        self,
        items: list[Post | DeadLetter],
    ) -> tuple[list[AdverseEventRecord], list[DeadLetter], dict[str, int]]:
        """The local runner over one shard, into memory (no write there can fail)."""
        report, sink = self._in_memory(items, self.classifier)
        records, letters = list(sink.records.values()), list(sink.dead_letters.values())
        counts = {name: int(getattr(report, name, 0)) for name in COUNTS}
        counts.update(read=len(items), written=len(records), dead_lettered=len(letters))
        return records, letters, counts

    def _store(self, key: str, table: Any) -> None:
        """Write `table` to `key`, or delete `key` when there is nothing (an earlier attempt
        of this shard may have stored what this one no longer has, e.g. a dead letter)."""
        store = self.layout.store
        if table is None:
            retrying(self.config.pipeline)(store.delete, [key])
        else:
            retrying(self.config.pipeline)(store.put, key, _parquet(table))

    def close(self) -> None:
        for backend in (self.classifier, self.extractor):
            closer = getattr(backend, "close", None)
            if closer is not None:
                closer()


class _KnownPredictions:
    """A classifier that answers with the predictions the classify pool made, by text (one
    prediction per text: classifiers are deterministic per text)."""

    name = "known-predictions"
    labels: Sequence[str] = ()

    def __init__(self, by_text: dict[str, Any]):
        self.by_text = by_text

    def classify(self, texts: Sequence[str]) -> list[Any]:
        return [self.by_text[text] for text in texts]


class ShardFailed(AdverseEventsError):
    """A shard could not be processed at all (a backend could not open, a bug): the run fails,
    and a re-run redoes that input."""


def _parquet(table: Any) -> bytes:
    """Snappy-compressed Parquet, as the S3 sink writes it."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())
