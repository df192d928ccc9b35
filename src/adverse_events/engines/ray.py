"""`RayEngine`: the same pipeline file on a Ray cluster, for backfills (``pip install
'adverse-events[ray]'``).

The plan, on Ray Data (no scheduler of our own)::

    input files ──▶ read tasks: the [source] backend splits each file into shards of
                    `shard_rows` posts / dead letters (local path, or s3:// copied to a temp file)
                ──▶ an actor pool (`concurrency` actors, `num_cpus` / `num_gpus` each): builds the
                    [classifier] and [extractor] once, runs each shard through the local Pipeline
                    (its retries and bisection), writes the shard's records and dead letters as
                    Parquet in the S3 sink's layout, returns counts
                ──▶ the driver sums counts into a RunReport, shows progress, and writes an input's
                    manifest once its last shard is stored

With ``extract_concurrency > 0`` the pool only classifies and passes each shard's records on
to a second pool of CPU actors, which extract the adverse events (the local Pipeline again, given
the first pool's predictions) and write; a GPU classifier then never waits on a CPU extractor.

Exactly once: objects are named from their input and item range, so a retried task rewrites its
own keys; an input's manifest says ``started`` (with its partition) before its first shard and
``complete`` after its last; ``resume`` skips complete inputs, and any other input is first
cleared of what an earlier attempt left, then redone. Ray's own retries are set deliberately:
read tasks and actor calls are retried `max_task_retries` times and an actor that dies is
restarted `max_restarts` times; after that the run fails and a re-run picks up from the
manifests.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adverse_events.config import EngineOptions, PipelineConfig, build_backend
from adverse_events.engines._shards import COUNTS, Layout, Manifest, input_id, retrying, today
from adverse_events.engines._store import ObjectInfo, S3Store, split_s3_uri
from adverse_events.engines._workers import ShardActor, read_batch
from adverse_events.errors import AdverseEventsError, ConfigError, PluginError
from adverse_events.pipeline import RunReport
from adverse_events.progress import RunProgress, describe

__all__ = ["RayEngine"]

log = logging.getLogger(__name__)

#: file name endings each source type reads from a folder or prefix.
EXTENSIONS = {"jsonl": (".jsonl", ".ndjson", ".json"), "csv": (".csv",), "parquet": (".parquet",)}


@dataclass
class _Input:
    """One input file and the manifest of this run's attempt at it."""

    uri: str
    info: ObjectInfo
    manifest: Manifest
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_stop: int | None = None

    @property
    def id(self) -> str:
        return input_id(self.uri)

    @property
    def complete(self) -> bool:
        stored = sum(row["stop"] - row["start"] for row in self.done.values())
        return self.last_stop is not None and stored == self.last_stop


class RayEngine:
    """Runs a `PipelineConfig` on Ray Data and returns the runner's `RunReport`.

    Args:
        config: the pipeline file (its `[engine]` table holds the Ray options).
        options: overrides `config.engine` (the CLI's ``--address`` lands here).
        plugins: objects with `adverse_events.hooks.hookimpl` methods, shipped to every actor:
            backend tables (``adverse_events_backends``) and lifecycle hooks.
        progress: show a progress line (default: when stderr is a terminal).
    """

    def __init__(
        self,
        config: PipelineConfig,
        *,
        options: EngineOptions | None = None,
        plugins: Sequence[object] = (),
        progress: bool | None = None,
    ):
        self.config = config
        self.options = options or config.engine
        self.plugins = list(plugins)
        chosen = config.pipeline.progress if progress is None else progress
        self.progress = sys.stderr.isatty() if chosen is None else chosen
        self.layout = Layout.for_sink(config.sink)
        if config.dead_letter is not None:
            raise ConfigError(
                "[dead_letter] the ray engine writes dead letters where the [sink] "
                "does (its dead-letter prefix or folder); remove [dead_letter]"
            )
        if config.source.type not in EXTENSIONS:
            raise ConfigError(
                f"[source] type = {config.source.type!r}: the ray engine reads "
                f"files; use one of {sorted(EXTENSIONS)}"
            )
        if "path" not in config.source.options:
            raise ConfigError("[source] needs a path: a file, folder, glob or s3:// prefix")

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> RunReport:
        """Plan, execute, report. A failure is a failed report, never a traceback."""
        report = RunReport()
        started = time.perf_counter()
        owns_ray = False
        try:
            ray = _import_ray()
            self._bootstrap_models()
            inputs = self._plan(self._list_inputs(), report)
            owns_ray = self._connect(ray)
            started = time.perf_counter()
            with RunProgress(self.progress, "starting Ray", logger=log) as bar:
                self._execute(ray, inputs, report, bar)
        except KeyboardInterrupt:
            report.interrupted = True
            log.warning("interrupted: complete inputs keep their manifests; re-run with resume")
        except AdverseEventsError as exc:
            report.failed, report.error = True, str(exc)
            log.error("run failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - Ray reports a failed task as its own errors
            report.failed, report.error = True, f"{type(exc).__name__}: {exc}"
            log.error("run failed: %s", report.error)
        finally:
            report.seconds = time.perf_counter() - started
            if owns_ray:
                _import_ray().shutdown()
        return report

    def _connect(self, ray: Any) -> bool:
        """Join the cluster (`address`, else RAY_ADDRESS, else a local one); True if we own it."""
        if ray.is_initialized():
            return False
        ray.init(
            address=self.options.address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=True,
        )
        return True

    def _bootstrap_models(self) -> None:
        """A model that trains itself on first use (``train_data`` and no ``model_dir`` yet)
        trains once here, on the driver, so the actors only load it."""
        for table in ("classifier", "extractor"):
            stage = getattr(self.config, table)
            if stage is None or not stage.options.get("train_data"):
                continue
            model_dir = stage.options.get("model_dir")
            if model_dir and not Path(model_dir).exists():
                log.info("training the %s once, before the actors start", table)
                with build_backend(table, stage, table=table):
                    pass

    # -- planning (driver) -----------------------------------------------------------------------
    def _list_inputs(self) -> list[tuple[str, ObjectInfo]]:
        path = str(self.config.source.options["path"])
        endings = EXTENSIONS[self.config.source.type]
        if path.startswith("s3://"):
            found = self._list_s3(path, endings)
        else:
            found = _list_local(path, endings)
        if not found:
            raise ConfigError(f"[source] path {path!r}: no {'/'.join(endings)} files found")
        id_field = self.config.source.options.get("id_field", "post_id")
        if len(found) > 1 and not id_field:
            raise ConfigError(
                '[source] id_field = "" derives ids from line numbers, which '
                "repeat across files; name the column holding a unique post id"
            )
        return found

    def _list_s3(self, uri: str, endings: tuple[str, ...]) -> list[tuple[str, ObjectInfo]]:
        bucket, key = split_s3_uri(uri)
        store = S3Store(bucket, self.options.s3_endpoint_url, self.options.s3_region)
        listed = retrying(self.config.pipeline)(store.list_objects, key)
        exact = [o for o in listed if o.key == key]
        if not exact:
            folder = key if not key or key.endswith("/") else key + "/"
            exact = [
                o for o in listed if o.key.startswith(folder) and o.key.lower().endswith(endings)
            ]
        return [(store.uri(o.key), o) for o in exact]

    def _plan(self, found: list[tuple[str, ObjectInfo]], report: RunReport) -> list[_Input]:
        """Skip complete inputs (resume), clear what unfinished attempts left, mark the rest
        ``started``."""
        store, options = self.layout.store, self.config.pipeline
        retry = retrying(options)
        todo: list[_Input] = []
        for uri, info in found:
            source_id = input_id(uri)
            key = self.layout.manifest_key(source_id)
            old = Manifest.load(retry(store.get, key))
            same = old is not None and old.matches(info.size, info.version)
            if old is not None and old.status == "complete" and same and options.resume:
                report.skipped += int(old.counts.get("read", 0))
                continue
            if old is not None:
                self._clear(old.dt, source_id)
            dt = old.dt if old is not None and old.status == "started" and same else today()
            manifest = Manifest(uri, info.size, info.version, dt, self.options.shard_rows)
            retry(store.put, key, manifest.dump())
            todo.append(_Input(uri, info, manifest))
        log.info("%d input file(s), %d to process", len(found), len(todo))
        return todo

    def _clear(self, dt: str, source_id: str) -> None:
        store, retry = self.layout.store, retrying(self.config.pipeline)
        for prefix in self.layout.input_prefixes(dt, source_id):
            stale = [o.key for o in retry(store.list_objects, prefix)]
            if stale:
                log.info(
                    "removing %d object(s) an earlier attempt left under %s", len(stale), prefix
                )
                retry(store.delete, stale)

    # -- execution -------------------------------------------------------------------------------
    def _dataset(self, ray: Any, inputs: list[_Input]) -> Any:
        """files -> read tasks -> actor pool -> one counts row per shard."""
        opts = self.options
        rows = [{"uri": i.uri, "input_id": i.id, "dt": i.manifest.dt} for i in inputs]
        files = ray.data.from_items(rows, override_num_blocks=len(rows))
        context = files.context  # this dataset's own copy; later stages inherit it
        context.enable_progress_bars = False  # ours is the one progress line
        context.print_on_execution_start = False
        # One shard per block: Ray Data would otherwise pack a read task's shards into one
        # block of up to 128 MiB, and the whole file would go to a single actor.
        context.target_max_block_size = 1
        endpoint = (opts.s3_endpoint_url, opts.s3_region)
        with warnings.catch_warnings():
            # Ray 2.60 deprecates passing max_restarts & co. as extra remote args but has no
            # other way to set them yet; the extra pins ray below 2.64, which drops them.
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            shards = files.map_batches(
                read_batch,
                batch_size=1,
                batch_format="pyarrow",
                fn_kwargs={
                    "source": self.config.source,
                    "shard_rows": opts.shard_rows,
                    "endpoint": endpoint,
                    "options": self.config.pipeline,
                },
                num_cpus=opts.read_num_cpus,
                max_retries=opts.max_task_retries,
            )
            two_pools = bool(opts.extract_concurrency) and self.config.extractor is not None
            kwargs = {"config": self.config, "layout": self.layout, "plugins": self.plugins}
            retries = {"max_restarts": opts.max_restarts, "max_task_retries": opts.max_task_retries}
            done = shards.map_batches(
                ShardActor,
                batch_size=1,
                batch_format="pyarrow",
                fn_constructor_kwargs={**kwargs, "mode": "classify" if two_pools else "all"},
                compute=ray.data.ActorPoolStrategy(size=opts.concurrency),
                num_cpus=opts.num_cpus,
                num_gpus=opts.num_gpus or None,
                **retries,
            )
            if not two_pools:
                return done
            return done.map_batches(  # the second pool: extract adverse events, write
                ShardActor,
                batch_size=1,
                batch_format="pyarrow",
                fn_constructor_kwargs={**kwargs, "mode": "extract"},
                compute=ray.data.ActorPoolStrategy(size=opts.extract_concurrency),
                num_cpus=opts.extract_num_cpus,
                **retries,
            )

    def _execute(self, ray: Any, inputs: list[_Input], report: RunReport, bar: RunProgress) -> None:
        if not inputs:
            return
        by_id = {i.id: i for i in inputs}
        for row in self._dataset(ray, inputs).iter_rows():
            item = by_id[row["input_id"]]
            if row["start"] in item.done:
                continue  # a shard is reported once; defensive against a re-emitted block
            item.done[row["start"]] = row
            if row["last"]:
                item.last_stop = row["stop"]
            for name in COUNTS:
                setattr(report, name, getattr(report, name, 0) + int(row[name]))
            if item.complete:
                self._finish(item)
            done = sum(i.complete for i in inputs)
            bar.show(f"inputs {done}/{len(inputs)}  {describe(report)}")
        missing = [i.uri for i in inputs if not i.complete]
        if missing:
            raise AdverseEventsError(f"{len(missing)} input(s) not completed: {missing[:3]}")

    def _finish(self, item: _Input) -> None:
        """Mark an input complete: its manifest is the last object written for it."""
        manifest = item.manifest
        manifest.status = "complete"
        manifest.shards = sorted([r["start"], r["stop"]] for r in item.done.values())
        manifest.counts = {name: sum(int(r[name]) for r in item.done.values()) for name in COUNTS}
        retrying(self.config.pipeline)(
            self.layout.store.put, self.layout.manifest_key(item.id), manifest.dump()
        )


# -- helpers ---------------------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is the part we use
    except ImportError as exc:
        raise PluginError("the ray engine needs: pip install 'adverse-events[ray]'") from exc
    return ray


def _list_local(path: str, endings: tuple[str, ...]) -> list[tuple[str, ObjectInfo]]:
    """A file, every matching file under a folder, or the files a glob names; sorted."""
    target = Path(path)
    if target.is_file():
        files = [target]
    elif target.is_dir():
        files = [
            p
            for p in target.rglob("*")
            if p.is_file()
            and p.name.lower().endswith(endings)
            and not p.name.startswith((".", "_"))
        ]
    elif any(ch in path for ch in "*?["):
        files = [Path(p) for p in glob.glob(path, recursive=True) if Path(p).is_file()]
    else:
        raise ConfigError(f"[source] path {path!r}: no such file or folder")
    found = []
    for file in sorted(p.resolve() for p in files):
        stat = os.stat(file)
        found.append((str(file), ObjectInfo(file.name, stat.st_size, str(stat.st_mtime_ns))))
    return found
