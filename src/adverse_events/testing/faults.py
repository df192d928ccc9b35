"""Fault injection: wrappers that make any backend fail the way real services do.

Each wrapper holds a real backend and a `Faults` plan and fails *before* (or, for sinks, also
*after*) delegating to it. Nothing here sleeps or blocks, so a suite of thousands of injected
failures runs in seconds (hang-free); waits belong to the runner's backoff, which tests set to 0.

Kinds of failure (`Faults` fields):

* ``transient``: share of calls that raise `TransientBackendError` (throttling, 5xx): the
  runner retries them.
* ``permanent``: share of calls that raise `PermanentBackendError` (validation, 4xx).
* ``bug``: share of calls that raise a plain `RuntimeError`: a backend's own bug, which no
  backend should leak but the runner must survive.
* ``poison(key)`` / ``stuck(key)``: items that always fail, permanently / transiently, in every
  batch that holds them (key: the text for classifiers and extractors, the post id for sinks).
* ``script``: kinds (``"transient"``, ``"permanent"``, ``"bug"`` or None for no failure) that
  the first calls draw, in order, before the shares apply: deterministic tests.
* ``landed``: for sinks, share of *successful* writes that still raise a transient error after
  the data landed (a lost acknowledgement): the runner re-sends, the sink must stay idempotent.

Example::

    faults = Faults(transient=0.1, poison=lambda text: "poison" in text, seed=7)
    Pipeline(source, FaultyClassifier(classifier, faults), sink=FaultySink(sink, faults)).run()
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from adverse_events.errors import PermanentBackendError, TransientBackendError
from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction

__all__ = [
    "Faults",
    "FaultyClassifier",
    "FaultyExtractor",
    "FaultySink",
    "FaultySource",
    "InjectedBug",
]


class InjectedBug(RuntimeError):
    """The plain exception a 'bug' fault raises (not an `AdverseEventsError`)."""


def _never(_: str) -> bool:
    return False


@dataclass
class Faults:
    """A seeded plan of failures, shared by the wrappers that use it; `counts` tallies them."""

    transient: float = 0.0
    permanent: float = 0.0
    bug: float = 0.0
    landed: float = 0.0
    poison: Callable[[str], bool] = _never
    stuck: Callable[[str], bool] = _never
    script: Sequence[str | None] = ()
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._script = list(self.script)

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def before(self, backend: str, keys: Sequence[str]) -> None:
        """Raise the failure this call draws, if any (called before delegating)."""
        with self._lock:
            if any(self.poison(k) for k in keys):
                self._count("poison")
                raise PermanentBackendError("injected: poison item", backend=backend)
            if any(self.stuck(k) for k in keys):
                self._count("stuck")
                raise TransientBackendError("injected: stuck item", backend=backend)
            kind = self._script.pop(0) if self._script else self._draw()
            if kind is None:
                return
            self._count(kind)
            if kind == "transient":
                raise TransientBackendError("injected: throttled", backend=backend)
            if kind == "permanent":
                raise PermanentBackendError("injected: rejected", backend=backend)
            raise InjectedBug(f"injected bug in {backend}")

    def _draw(self) -> str | None:
        draw = self._random.random()
        for kind, share in (
            ("transient", self.transient),
            ("permanent", self.permanent),
            ("bug", self.bug),
        ):
            if draw < share:
                return kind
            draw -= share
        return None

    def after(self, backend: str) -> None:
        """Raise a transient error after a call succeeded (a lost acknowledgement), maybe."""
        with self._lock:
            if self.landed and self._random.random() < self.landed:
                self._count("landed")
                raise TransientBackendError("injected: acknowledgement lost", backend=backend)


class _Wrapper(Backend):
    """Delegates open/close and unknown attributes to the wrapped backend."""

    def __init__(self, inner: Any, faults: Faults):
        self.inner, self.faults = inner, faults
        self.name = getattr(inner, "name", type(inner).__name__)

    def open(self) -> None:
        opener = getattr(self.inner, "open", None)
        if opener is not None:
            opener()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, attribute: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(attribute)
        return getattr(inner, attribute)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


class FaultyClassifier(_Wrapper):
    """A classifier that fails as `faults` says; keys are the texts."""

    @property
    def labels(self) -> Sequence[str]:
        return self.inner.labels  # type: ignore[no-any-return]

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        self.faults.before(self.name, texts)
        return self.inner.classify(texts)  # type: ignore[no-any-return]


class FaultyExtractor(_Wrapper):
    """An extractor that fails as `faults` says; keys are the texts."""

    def extract(self, texts: Sequence[str]) -> list[list[Mention]]:
        self.faults.before(self.name, texts)
        return self.inner.extract(texts)  # type: ignore[no-any-return]


def _key(item: AdverseEventRecord | DeadLetter) -> str:
    return (
        item.post_id
        if isinstance(item, AdverseEventRecord)
        else (item.post_id or item.dead_letter_id)
    )


class FaultySink(_Wrapper):
    """A sink whose writes (and resume checks, and closes) fail as `faults` says.

    `close_failures` makes the first so many ``close()`` calls raise a transient error before
    delegating (a buffering sink's last flush that fails). Keys are post ids.
    """

    def __init__(self, inner: Any, faults: Faults, *, close_failures: int = 0):
        super().__init__(inner, faults)
        self.close_failures = close_failures

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None:
        self.faults.before(self.name, [_key(r) for r in records])
        self.inner.write(records)
        self.faults.after(self.name)

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]:
        self.faults.before(self.name, [])
        return self.inner.existing_ids(post_ids)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.close_failures > 0:
            self.close_failures -= 1
            raise TransientBackendError("injected: flush on close failed", backend=self.name)
        self.inner.close()


class FaultySource(_Wrapper):
    """A source that raises `error` (an exception instance, e.g. ``KeyboardInterrupt()``) when
    `read()` is about to hand out item number `fail_at` (1-based), once; passes checkpoints on."""

    def __init__(
        self,
        inner: Any,
        faults: Faults | None = None,
        *,
        fail_at: int | None = None,
        error: BaseException | None = None,
    ):
        super().__init__(inner, faults or Faults())
        self.fail_at, self.error = fail_at, error

    def read(self) -> Iterator[Post | DeadLetter]:
        for count, item in enumerate(self.inner.read(), start=1):
            if count == self.fail_at and self.error is not None:
                error, self.error = self.error, None
                raise error
            yield item

    def snapshot(self) -> Any:
        snapshot = getattr(self.inner, "snapshot", None)
        return snapshot() if snapshot is not None else None

    def commit(self, state: Any) -> None:
        commit = getattr(self.inner, "commit", None)
        if commit is not None:
            commit(state)
