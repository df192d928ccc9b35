"""The pipeline runner: source -> classifier -> (adverse events only) extractor -> sink.

Semantics (see docs/concepts.md):

* The source is read in batches of `batch_size`. Bad input never crashes a run: it becomes a
  `DeadLetter` (stage, reason, raw payload) written to the dead-letter sink.
* The runner is the one retry owner: `TransientBackendError`s are retried with exponential
  backoff and jitter (tenacity), at most `max_retries` times, and backends do not retry on
  their own, so a throttled backend is called at most ``max_retries + 1`` times per batch.
  A transient failure that outlasts the retries dead-letters the batch with
  ``DeadLetter.transient`` set (replayable; the Lambda handler hands those back to Lambda).
  What fails otherwise (permanent, `InputError`, or a classifier's or extractor's own bug) is
  narrowed down by bisection, so only the offending items are dead-lettered. Retrying is
  bisecting under one budget per batch (`adverse_events.retrying`).
* Only posts the classifier calls adverse events go to the extractor (what makes a paid
  extractor affordable).
* Writing batch N overlaps classifying batch N+1 (one writer thread, at most one batch in
  flight: bounded memory, backpressure on the source).
* A `CheckpointingSource`'s position is committed only after the sink and the dead-letter sink
  stored everything read before it: at-least-once delivery, exactly-once tables (sinks are
  idempotent by post id).
* ``resume=True`` skips posts the sink already holds (the check runs under the retry policy).
* Every backend is opened before the first read (models load or train, connections open), so
  a broken setup fails at once and ``seconds`` measures processing only.
* Whatever happens (Ctrl-C, a failed write, a backend's own bug), the write in flight finishes
  before anything is closed, the sinks close under the retry policy (a buffering sink stores
  on close), and `run()` returns a `RunReport` (``interrupted`` / ``failed`` set) instead of
  raising. Its counts add up: read = written + dead_lettered + skipped + duplicates_in_input.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Any, TypeVar

import pluggy
from tenacity import Retrying

from adverse_events.errors import (
    AdverseEventsError,
    BackendError,
    ConfigError,
    InputError,
)
from adverse_events.hooks import new_manager
from adverse_events.progress import RunProgress, describe
from adverse_events.protocols import (
    BufferingSink,
    CheckpointingSource,
    Classifier,
    Extractor,
    ResumableSink,
    Sink,
    Source,
)
from adverse_events.recent import RecentIds
from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction
from adverse_events.report import RunReport
from adverse_events.retrying import RetryPolicy, dead_letter_of, describe_error
from adverse_events.version import library_version

__all__ = ["Pipeline", "RunReport"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: How many stored post ids a run remembers to count re-sent posts as duplicates.
_DEDUPE_WINDOW = 1_000_000


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
        plugins: objects with `adverse_events.hooks.hookimpl` methods (metrics, audit logs),
            registered on a manager built once for this pipeline.
        hooks: a ready plugin manager whose lifecycle hooks the run calls (built once, shared:
            `adverse_events.hooks.default_manager` has the installed entry-point plugins).
            Default: a manager without entry-point plugins, so making a pipeline scans nothing.
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
        hooks: pluggy.PluginManager | None = None,
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
        self.plugin_manager = self._plugin_manager(hooks, plugins)
        self.hooks = self.plugin_manager.hook
        if resume and not isinstance(sink, ResumableSink):
            raise ConfigError(
                f"resume=True needs a sink that can list what it holds (existing_ids); "
                f"{type(sink).__name__} cannot: use duckdb, jsonl or memory, or resume=False"
            )

    @staticmethod
    def _plugin_manager(
        hooks: pluggy.PluginManager | None, plugins: Sequence[object]
    ) -> pluggy.PluginManager:
        """The manager given, or one built now for `plugins` (no entry-point scan either way)."""
        if hooks is not None and plugins:
            raise ConfigError(
                "pass plugins= or hooks=, not both: build one manager with "
                "adverse_events.hooks.new_manager(plugins, entry_points=True)"
            )
        return hooks if hooks is not None else new_manager(plugins)

    # -- running --------------------------------------------------------------------------------
    def run(self) -> RunReport:
        """Run until the source is exhausted (or Ctrl-C); return what happened.

        Never raises for what a backend does: a failure (a backend's own bug included) ends the
        run with ``failed=True`` and the error in the report, after the write in flight has
        finished and every backend is closed.
        """
        report = RunReport()
        self._written = RecentIds(_DEDUPE_WINDOW)
        self._held: Any = None  # a checkpoint waiting for a buffering sink to store
        if not self._start(report):
            return report
        started = time.perf_counter()
        inflight: _InFlight | None = None
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ae-sink") as writer,
            RunProgress(self.progress, logger=log) as bar,
        ):
            try:
                for items, state in self._batches():
                    records, letters = self._process(items, report)
                    self._settle(inflight, report)
                    inflight = _InFlight(
                        writer.submit(self._write, records, letters, report), state
                    )
                    bar.show(describe(report))
                self._settle(inflight, report)
                inflight = None
            except KeyboardInterrupt:
                report.interrupted = True
                log.warning("interrupted: finishing the write in flight, then stopping")
            except AdverseEventsError as exc:
                report.fail(str(exc))
                log.error("run failed: %s", exc)
            except Exception as exc:  # noqa: BLE001 - a backend's own bug still gets a report
                report.fail(describe_error(exc))
                log.exception("run failed")
            finally:
                self._drain(inflight, report)
                report.seconds = time.perf_counter() - started
                bar.show(describe(report))
                self._close(report)
                if self.close_backends:
                    self._after_close(report)
        self.hooks.after_run(report=report)
        return report

    def _start(self, report: RunReport) -> bool:
        """Open every backend; on failure close them, finish the report and say False."""
        try:
            self._open()
            return True
        except Exception as exc:  # noqa: BLE001 - a broken setup is a failed run, not a crash
            report.fail(describe_error(exc))
            log.error("could not start: %s", report.error)
        self._close(report)
        self.hooks.after_run(report=report)
        return False

    def _settle(self, inflight: _InFlight | None, report: RunReport) -> None:
        """Wait for the write in flight; once it stored everything, commit its checkpoint."""
        if inflight is None:
            return
        inflight.future.result()  # raises what the write raised
        self._commit(inflight.state, report)
        inflight.settled = True

    def _drain(self, inflight: _InFlight | None, report: RunReport) -> None:
        """After a failure or Ctrl-C: let the write in flight finish (a second Ctrl-C does not
        cut it short), commit its checkpoint if it stored everything, never raise."""
        if inflight is None or inflight.settled:
            return
        while True:
            try:
                wait([inflight.future])
                break
            except KeyboardInterrupt:
                report.interrupted = True
                log.warning("still finishing the write in flight")
        try:
            self._settle(inflight, report)
        except Exception as exc:  # noqa: BLE001 - the report carries it
            report.fail(describe_error(exc))
            log.error("the write in flight failed: %s", report.error)

    def _commit(self, state: Any, report: RunReport) -> None:
        """Save the source's position once everything read before it is stored (a buffering
        sink holding items defers it to the next moment its buffer is empty)."""
        if state is None or not isinstance(self.source, CheckpointingSource):
            return
        if any(self._buffered()):
            self._held = state
            return
        self._held = None
        self.source.commit(state)
        report.checkpoints += 1

    def _buffered(self) -> tuple[int, int]:
        """(records, dead letters) the sinks accepted but have not stored yet."""
        records = letters = 0
        for sink in {id(s): s for s in (self.sink, self.dead_letter)}.values():
            if isinstance(sink, BufferingSink):
                held_records, held_letters = sink.buffered()
                records, letters = records + held_records, letters + held_letters
        return records, letters

    def _after_close(self, report: RunReport) -> None:
        """Count what a failed final flush left as unstored; commit a held checkpoint."""
        records, letters = self._buffered()
        if records or letters:
            report.written -= records
            report.dead_lettered -= letters
            report.unstored += records + letters
            report.fail(report.error or f"{records + letters} items still buffered after close")
        elif self._held is not None:
            try:
                self._commit(self._held, report)
            except Exception as exc:  # noqa: BLE001 - the report carries it
                report.fail(describe_error(exc))

    def _batches(self) -> Iterator[tuple[list[Post | DeadLetter], Any]]:
        """Batches of the source, each with the source's position just after it (or None)."""
        items = iter(self.source.read())
        checkpoints = isinstance(self.source, CheckpointingSource)
        while batch := list(islice(items, self.batch_size)):
            yield batch, (self.source.snapshot() if checkpoints else None)  # type: ignore[attr-defined]

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
        """Close every backend. A sink's close may store what it buffered (S3), so it runs
        under the retry policy, and a sink that still fails to close fails the run."""
        if not self.close_backends:
            return
        sinks = (self.sink, self.dead_letter)
        for backend in self._backends():
            close = getattr(backend, "close", None)
            if close is None:
                continue
            try:
                if backend in sinks:
                    self._retrying(report)(close)
                else:
                    close()
            except Exception as exc:  # noqa: BLE001 - closing must not hide the run's outcome
                log.error("closing %r failed: %s", backend, describe_error(exc))
                if backend in sinks:
                    report.fail(f"closing {backend!r}: {describe_error(exc)}")

    # -- one batch ------------------------------------------------------------------------------
    def _process(
        self, items: list[Post | DeadLetter], report: RunReport
    ) -> tuple[list[AdverseEventRecord], list[DeadLetter]]:
        report.read += len(items)
        report.batches += 1
        letters = [item for item in items if isinstance(item, DeadLetter)]
        every = [item for item in items if isinstance(item, Post)]
        posts = list({p.post_id: p for p in every}.values())  # the newest copy of each id
        report.duplicates_in_input += len(every) - len(posts)
        if self.resume and posts:
            held = self._retrying(report)(self.sink.existing_ids, [p.post_id for p in posts])  # type: ignore[attr-defined]
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
                (post, pred)
                for post, pred in predicted
                if not pred.is_adverse_event or post.post_id in mentions
            ]
        records = self._records(predicted, mentions)
        return records, letters

    def _records(
        self, predicted: list[tuple[Post, Prediction]], mentions: dict[str, list[Mention]]
    ) -> list[AdverseEventRecord]:
        now = datetime.now(timezone.utc)
        extractor = getattr(self.extractor, "name", None)
        version = library_version()
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

    # -- failure handling (`adverse_events.retrying`) ------------------------------------------
    def _policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.backoff_initial, self.backoff_max)

    def _retrying(self, report: RunReport) -> Retrying:
        """The retry policy of a call that cannot be bisected (close, existing_ids, letters)."""
        return self._policy().retrying(report)

    def _guarded(
        self,
        stage: str,
        posts: Sequence[Post],
        call: Callable[[Sequence[Post]], list[T]],
        report: RunReport,
    ) -> tuple[list[tuple[Post, T]], list[DeadLetter]]:
        """Run `call` on `posts`; retry and bisect what fails down to the posts that cause it."""

        def letter(post: Post, reason: str, transient: bool) -> DeadLetter:
            return dead_letter_of(stage, post, reason, transient)

        return self._policy().bisect(posts, call, letter, (Exception,), report)

    def _write(
        self, records: list[AdverseEventRecord], letters: list[DeadLetter], report: RunReport
    ) -> None:
        """Write one batch (runs on the writer thread)."""
        if records:
            failed = self._write_records(records, report)
            letters = letters + failed
            rejected = {letter.post_id for letter in failed}
            self._count_written([r.post_id for r in records if r.post_id not in rejected], report)
        if letters:
            for letter in letters:
                self.hooks.on_dead_letter(dead_letter=letter)
            self._retrying(report)(self.dead_letter.write, letters)
            report.dead_lettered += len(letters)
        self.hooks.after_batch(records=records, report=report)

    def _write_records(
        self, records: list[AdverseEventRecord], report: RunReport
    ) -> list[DeadLetter]:
        """Write records; a record the sink still rejects becomes a dead letter (bisection).

        Anything but a `BackendError` or `InputError` is a sink's bug and fails the run.
        """

        def write(batch: Sequence[AdverseEventRecord]) -> list[None]:
            self.sink.write(batch)
            return [None] * len(batch)

        def letter(record: AdverseEventRecord, reason: str, transient: bool) -> DeadLetter:
            return dead_letter_of("sink", record.post, reason, transient)

        catch = (BackendError, InputError)
        return self._policy().bisect(records, write, letter, catch, report)[1]

    def _count_written(self, post_ids: list[str], report: RunReport) -> None:
        """Count stored posts; an id already stored in this run counts as a duplicate."""
        for post_id in post_ids:
            if self._written.seen(post_id):
                report.duplicates_in_input += 1
            else:
                report.written += 1


@dataclass
class _InFlight:
    """The write on the writer thread and the source position to commit once it is done."""

    future: Future[None]
    state: Any
    settled: bool = False


def _check_length(role: str, backend: object, posts: Sequence[Post], out: Sequence[Any]) -> None:
    if len(out) != len(posts):
        from adverse_events.errors import PermanentBackendError

        name = getattr(backend, "name", type(backend).__name__)
        raise PermanentBackendError(
            f"{role} returned {len(out)} results for {len(posts)} texts", backend=name
        )
