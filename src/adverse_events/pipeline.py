"""The pipeline runner: source -> classifier -> (adverse events only) extractor -> sink.

Semantics (see docs/concepts.md):

* The source is read in batches of `batch_size`. Bad input never crashes a run: it becomes a
  `DeadLetter` (stage, reason, raw payload) written to the dead-letter sink.
* `TransientBackendError`s are retried with exponential backoff and jitter (tenacity); what
  still fails is dead-lettered. A `PermanentBackendError` or `InputError` on a batch is narrowed
  down by bisection, so only the offending items are dead-lettered.
* Only posts the classifier calls adverse events go to the extractor (what makes a paid
  extractor affordable).
* Writing batch N overlaps classifying batch N+1 (one writer thread, at most one batch in
  flight: bounded memory, backpressure on the source).
* ``resume=True`` skips posts the sink already holds; sinks are idempotent by post id, so a
  killed and restarted run loses nothing and duplicates nothing.
* Every backend is opened before the first read (models load or train, connections open), so
  a broken setup fails at once and ``seconds`` measures processing only.
* Ctrl-C stops reading, finishes the write in flight, closes the backends and returns the report
  with ``interrupted=True``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any, TypeVar

import pluggy
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adverse_events.errors import (
    AdverseEventsError,
    BackendError,
    ConfigError,
    InputError,
    TransientBackendError,
)
from adverse_events.protocols import Classifier, Extractor, ResumableSink, Sink, Source
from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction

__all__ = ["Pipeline", "RunReport"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunReport:
    """What a run did. Counts are posts unless named otherwise."""

    read: int = 0
    skipped: int = 0
    classified: int = 0
    adverse_events: int = 0
    extracted: int = 0
    written: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failed: bool = False
    error: str | None = None

    @property
    def posts_per_second(self) -> float:
        """Items read per second of wall time."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def adverse_event_rate(self) -> float:
        """Share of classified posts called adverse events."""
        return self.adverse_events / self.classified if self.classified else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["posts_per_second"] = round(self.posts_per_second, 1)
        data["adverse_event_rate"] = round(self.adverse_event_rate, 4)
        return data


def _library_version() -> str:
    from adverse_events import __version__

    return __version__


class Pipeline:
    """Composes a source, a classifier, an optional extractor and sinks; `run()` runs it.

    Args:
        source: where posts come from.
        classifier: decides which posts describe adverse events.
        extractor: pulls drug and event mentions out of adverse-event posts (optional).
        sink: where records go (default: a `MemorySink`).
        dead_letter: where dead letters go (default: `sink`).
        batch_size: posts per batch through every stage.
        resume: skip posts the sink already holds (needs a sink with ``existing_ids``).
        max_retries: retries of a transient failure before its items are dead-lettered.
        backoff_initial: first wait of the exponential backoff, in seconds (jitter added).
        backoff_max: longest wait of the exponential backoff, in seconds.
        progress: show a progress bar (default: when stderr is a terminal).
        plugins: objects with `adverse_events.hooks.hookimpl` methods (metrics, audit logs).
        close: close every backend when the run ends.
    """

    def __init__(
        self,
        source: Source,
        classifier: Classifier,
        extractor: Extractor | None = None,
        sink: Sink | None = None,
        dead_letter: Sink | None = None,
        *,
        batch_size: int = 64,
        resume: bool = False,
        max_retries: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        progress: bool | None = None,
        plugins: Sequence[object] = (),
        close: bool = True,
    ):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {max_retries}")
        if sink is None:
            from adverse_events.sinks.memory import MemorySink

            sink = MemorySink()
        self.source, self.classifier, self.extractor = source, classifier, extractor
        self.sink = sink
        self.dead_letter = dead_letter if dead_letter is not None else sink
        self.batch_size, self.resume, self.max_retries = batch_size, resume, max_retries
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.close_backends = close
        self.hooks = self._plugin_manager(plugins).hook
        if resume and not isinstance(sink, ResumableSink):
            raise ConfigError(
                f"resume=True needs a sink that can list what it holds (existing_ids); "
                f"{type(sink).__name__} cannot: use duckdb, jsonl or memory, or resume=False"
            )

    @staticmethod
    def _plugin_manager(plugins: Sequence[object]) -> pluggy.PluginManager:
        from adverse_events.registry import make_plugin_manager

        pm = make_plugin_manager(load_entry_points=True)
        for plugin in plugins:
            pm.register(plugin)
        return pm

    # -- running --------------------------------------------------------------------------------
    def run(self) -> RunReport:
        """Run until the source is exhausted (or Ctrl-C); return what happened."""
        report = RunReport()
        try:
            self._open()
        except AdverseEventsError as exc:
            report.failed, report.error = True, str(exc)
            log.error("could not start: %s", exc)
            self._close(report)
            self.hooks.after_run(report=report)
            return report
        started = time.perf_counter()
        pending: Future[None] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ae-sink") as writer, \
                _Progress(self.progress) as bar:
            try:
                for items in self._batches():
                    records, letters = self._process(items, report)
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(self._write, records, letters, report)
                    bar.update(report)
                if pending is not None:
                    pending.result()
            except KeyboardInterrupt:
                report.interrupted = True
                log.warning("interrupted: finishing the write in flight, then stopping")
                self._drain(pending, report)
            except AdverseEventsError as exc:
                report.failed, report.error = True, str(exc)
                log.error("run failed: %s", exc)
                self._drain(pending, report)
            finally:
                report.seconds = time.perf_counter() - started
                bar.update(report)
                self._close(report)
        self.hooks.after_run(report=report)
        return report

    @staticmethod
    def _drain(pending: Future[None] | None, report: RunReport) -> None:
        if pending is None:
            return
        try:
            pending.result()
        except AdverseEventsError as exc:
            report.failed, report.error = True, str(exc)

    def _batches(self) -> Iterator[list[Post | DeadLetter]]:
        items = iter(self.source.read())
        while batch := list(islice(items, self.batch_size)):
            yield batch

    def _backends(self) -> list[object]:
        found = [self.source, self.classifier, self.extractor, self.sink, self.dead_letter]
        return [b for i, b in enumerate(found) if b is not None and b not in found[:i]]

    def _open(self) -> None:
        """Open every backend first: load (or train) models, connect, fail before reading."""
        for backend in self._backends():
            opener = getattr(backend, "open", None)
            if opener is not None:
                opener()

    def _close(self, report: RunReport) -> None:
        """Close every backend; a sink that fails to close (a buffering sink's last flush) may
        not have stored what the report counts as written, so the run failed."""
        if not self.close_backends:
            return
        for backend in self._backends():
            close = getattr(backend, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 - closing must not hide the run's outcome
                    log.exception("closing %r failed", backend)
                    if backend in (self.sink, self.dead_letter) and not report.failed:
                        report.failed, report.error = True, f"closing {backend!r}: {_describe(exc)}"

    # -- one batch ------------------------------------------------------------------------------
    def _process(
        self, items: list[Post | DeadLetter], report: RunReport
    ) -> tuple[list[AdverseEventRecord], list[DeadLetter]]:
        report.read += len(items)
        report.batches += 1
        letters = [item for item in items if isinstance(item, DeadLetter)]
        posts = list({p.post_id: p for p in items if isinstance(p, Post)}.values())
        if self.resume and posts:
            held = self.sink.existing_ids([p.post_id for p in posts])  # type: ignore[attr-defined]
            report.skipped += len(held)
            posts = [p for p in posts if p.post_id not in held]
        if not posts:
            return [], letters
        self.hooks.before_batch(posts=posts)
        predicted, failed = self._guarded("classify", posts, self._classify, report)
        letters += failed
        report.classified += len(predicted)
        adverse = [(post, pred) for post, pred in predicted if pred.is_adverse_event]
        report.adverse_events += len(adverse)
        mentions: dict[str, list[Mention]] = {}
        if self.extractor is not None and adverse:
            found, failed = self._guarded(
                "extract", [post for post, _ in adverse], self._extract, report
            )
            letters += failed
            mentions = {post.post_id: found_mentions for post, found_mentions in found}
            report.extracted += len(found)
            predicted = [
                (post, pred) for post, pred in predicted
                if not pred.is_adverse_event or post.post_id in mentions
            ]
        records = self._records(predicted, mentions)
        return records, letters

    def _records(
        self, predicted: list[tuple[Post, Prediction]], mentions: dict[str, list[Mention]]
    ) -> list[AdverseEventRecord]:
        now = datetime.now(timezone.utc)
        extractor = getattr(self.extractor, "name", None)
        version = _library_version()
        return [
            AdverseEventRecord(
                post=post,
                prediction=pred,
                mentions=tuple(mentions.get(post.post_id, ())),
                extractor=extractor if post.post_id in mentions else None,
                library_version=version,
                processed_at=now,
            )
            for post, pred in predicted
        ]

    def _classify(self, posts: Sequence[Post]) -> list[Prediction]:
        predictions = self.classifier.classify([p.text for p in posts])
        _check_length("classifier", self.classifier, posts, predictions)
        return predictions

    def _extract(self, posts: Sequence[Post]) -> list[list[Mention]]:
        assert self.extractor is not None
        found = self.extractor.extract([p.text for p in posts])
        _check_length("extractor", self.extractor, posts, found)
        return found

    # -- failure handling -----------------------------------------------------------------------
    def _retrying(self, report: RunReport) -> Retrying:
        def count(_: RetryCallState) -> None:
            report.retries += 1

        return Retrying(
            retry=retry_if_exception_type(TransientBackendError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)
            + wait_random(0, self.backoff_initial),
            before_sleep=count,
            reraise=True,
        )

    def _guarded(
        self,
        stage: str,
        posts: Sequence[Post],
        call: Callable[[Sequence[Post]], list[T]],
        report: RunReport,
    ) -> tuple[list[tuple[Post, T]], list[DeadLetter]]:
        """Run `call` on `posts` with retries; bisect permanent failures down to single posts."""
        try:
            results = self._retrying(report)(call, posts)
            return list(zip(posts, results, strict=True)), []
        except TransientBackendError as exc:
            reason = f"still failing after {self.max_retries} retries: {exc}"
            return [], [_letter(stage, post, reason) for post in posts]
        except Exception as exc:  # noqa: BLE001 - permanent, input, or a backend's own bug
            if len(posts) == 1:
                return [], [_letter(stage, posts[0], _describe(exc))]
        middle = len(posts) // 2
        left_ok, left_bad = self._guarded(stage, posts[:middle], call, report)
        right_ok, right_bad = self._guarded(stage, posts[middle:], call, report)
        return left_ok + right_ok, left_bad + right_bad

    def _write(
        self, records: list[AdverseEventRecord], letters: list[DeadLetter], report: RunReport
    ) -> None:
        """Write one batch (runs on the writer thread)."""
        if records:
            failed = self._write_records(records, report)
            letters = letters + failed
            report.written += len(records) - len(failed)
        if letters:
            for letter in letters:
                self.hooks.on_dead_letter(dead_letter=letter)
            self._retrying(report)(self.dead_letter.write, letters)
            report.dead_lettered += len(letters)
        self.hooks.after_batch(records=records, report=report)

    def _write_records(
        self, records: list[AdverseEventRecord], report: RunReport
    ) -> list[DeadLetter]:
        """Write records; a record the sink rejects for good becomes a dead letter."""
        try:
            self._retrying(report)(self.sink.write, records)
            return []
        except TransientBackendError:
            raise
        except (BackendError, InputError) as exc:
            if len(records) == 1:
                return [_letter("sink", records[0].post, _describe(exc))]
        middle = len(records) // 2
        return self._write_records(records[:middle], report) + self._write_records(
            records[middle:], report
        )


def _check_length(role: str, backend: object, posts: Sequence[Post], out: Sequence[Any]) -> None:
    if len(out) != len(posts):
        from adverse_events.errors import PermanentBackendError

        name = getattr(backend, "name", type(backend).__name__)
        raise PermanentBackendError(
            f"{role} returned {len(out)} results for {len(posts)} texts", backend=name
        )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AdverseEventsError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def _letter(stage: str, post: Post, reason: str) -> DeadLetter:
    return DeadLetter(stage=stage, reason=reason, payload=post.model_dump_json(),
                      post_id=post.post_id,
                      source=post.source)


class _Progress:
    """A rich progress line on a terminal; a log line every 10 s otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        self._last_log = time.monotonic()

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None)
        return self

    def update(self, report: RunReport) -> None:
        text = (f"read {report.read:,}  adverse events {report.adverse_events:,}  "
                f"written {report.written:,}  dead letters {report.dead_lettered:,}")
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        elif time.monotonic() - self._last_log >= 10:
            self._last_log = time.monotonic()
            log.info(text)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()
