"""The runner's failure handling: retrying is bisecting, under one budget per batch.

Retrying is bisecting under one budget of ``max_retries + 1`` transient failures in a row per
batch. A batch call that fails is split in halves, both halves are called before going deeper,
and the halves that failed are split again, down to single items: a throttled moment costs a
split, one stuck post still ends as one dead letter, and random faults lose nothing. Every call
of a batch (its retries and its bisection) shares the budget, and a success refills it: once it
is spent, the items not yet processed are dead-lettered as transient (replayable) without
another call, so a throttled backend is called at most ``max_retries + 1`` times per batch while
a flapping one keeps making progress. Permanent failures and `InputError` do not use the budget.

Calls that cannot be split (a sink's ``close``, ``existing_ids``, the dead-letter write) are
retried as they are (`RetryPolicy.retrying`), also at most ``max_retries + 1`` times. The
`Pipeline` runner is the one retry owner; backends report and do not retry on their own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from adverse_events.errors import AdverseEventsError, TransientBackendError
from adverse_events.records import DeadLetter, Post
from adverse_events.report import RunReport

__all__ = ["RetryPolicy", "dead_letter_of", "describe_error"]

T = TypeVar("T")
Item = TypeVar("Item")


@dataclass(frozen=True)
class RetryPolicy:
    """How the runner retries what fails, and what it dead-letters in the end.

    Args:
        max_retries: retries of a transient failure before its items are dead-lettered.
        backoff_initial: first wait of the exponential backoff, in seconds (jitter added).
        backoff_max: longest wait of the exponential backoff, in seconds.
    """

    max_retries: int
    backoff_initial: float
    backoff_max: float

    def retrying(self, report: RunReport | None = None) -> Retrying:
        """A tenacity policy for a call that cannot be bisected: transient errors retried with
        backoff and jitter, at most ``max_retries + 1`` attempts, each retry counted in
        ``report.retries`` (when a report is given); the last error is raised."""

        def count(_: RetryCallState) -> None:
            if report is not None:
                report.retries += 1

        return Retrying(
            retry=retry_if_exception_type(TransientBackendError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_exponential(multiplier=self.backoff_initial, max=self.backoff_max)
            + wait_random(0, self.backoff_initial),
            before_sleep=count,
            reraise=True,
        )

    def bisect(
        self,
        items: Sequence[Item],
        call: Callable[[Sequence[Item]], list[T]],
        letter: Callable[[Item, str, bool], DeadLetter],
        catch: tuple[type[BaseException], ...],
        report: RunReport,
    ) -> tuple[list[tuple[Item, T]], list[DeadLetter]]:
        """Call `call` on `items`; split what fails in halves until the culprits are single items.

        Retrying is bisecting: after a transient failure (and a backoff) both halves are
        called, then the halves that failed are split again, so a throttled moment costs a
        split while one stuck post still ends as one dead letter. A batch's calls share one
        budget of ``max_retries + 1`` transient failures in a row (a success refills it): once
        it is spent, the items not yet processed are dead-lettered as transient (replayable)
        without another call, so a throttled backend is called at most ``max_retries + 1``
        times per batch, while a flapping one keeps making progress. Permanent failures and
        `InputError` do not use the budget; exceptions outside `catch` propagate (a sink's own
        bug fails the run).

        Returns the (item, result) pairs in the order of `items`, and the dead letters (made by
        `letter(item, reason, transient)`) of the items that failed.
        """
        budget = _Budget(self.max_retries + 1)
        attempt = _Attempt(call, catch, report, budget, self.backoff)
        outcome = attempt(items)
        letters = [] if outcome is _OK else _narrow(items, outcome, attempt, letter)
        position = {id(item): i for i, item in enumerate(items)}  # halves finish out of order
        return sorted(attempt.done, key=lambda pair: position[id(pair[0])]), letters

    def backoff(self, failures: int) -> None:
        """Wait before the next try: exponential in the failures so far, plus jitter."""
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
        time.sleep(delay + random.uniform(0, self.backoff_initial))


def dead_letter_of(stage: str, post: Post, reason: str, transient: bool = False) -> DeadLetter:
    """The dead letter of a post that failed at `stage` (the post as JSON is its payload)."""
    return DeadLetter(
        stage=stage,
        reason=reason,
        payload=post.model_dump_json(),
        post_id=post.post_id,
        source=post.source,
        transient=transient,
    )


def describe_error(exc: BaseException) -> str:
    """An error as a report or a dead letter names it: the library's own by their message,
    anything else (a backend's own bug) as ``unexpected <type>: <message>``."""
    if isinstance(exc, AdverseEventsError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


@dataclass
class _Budget:
    """Transient failures in a row one batch may still have (shared by its retries and its
    bisection; a success refills it to `size`)."""

    size: int
    left: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        self.left = self.size


#: What `_Attempt` returns for a call that succeeded, and for one it did not make because the
#: budget was spent (a failed call returns its exception).
_OK, _NOT_TRIED = object(), object()


class _Attempt(Generic[Item, T]):
    """One call of a batch's bisection: results land in `done`, transient failures spend the
    budget (with a backoff before the next call while some is left)."""

    def __init__(
        self,
        call: Callable[[Sequence[Item]], list[T]],
        catch: tuple[type[BaseException], ...],
        report: RunReport,
        budget: _Budget,
        backoff: Callable[[int], None],
    ):
        self.call, self.catch, self.report, self.budget = call, catch, report, budget
        self.backoff, self.failures = backoff, 0
        self.done: list[tuple[Item, T]] = []

    def __call__(self, items: Sequence[Item]) -> object:
        """Call on `items`: `_OK`, the exception it failed with, or `_NOT_TRIED`."""
        if self.budget.left <= 0:
            return _NOT_TRIED
        try:
            results = self.call(items)
        except TransientBackendError as exc:
            self.failures += 1
            self.budget.left -= 1
            self.budget.reason = f"still failing after {self.failures - 1} retries: {exc}"
            if self.budget.left > 0:
                self.report.retries += 1
                self.backoff(self.failures)
            return exc
        except self.catch as exc:
            return exc
        self.done.extend(zip(items, results, strict=True))
        self.failures, self.budget.left = 0, self.budget.size  # progress: a full budget again
        return _OK


def _narrow(
    items: Sequence[Item],
    outcome: object,
    attempt: _Attempt[Item, T],
    letter: Callable[[Item, str, bool], DeadLetter],
) -> list[DeadLetter]:
    """Dead letters for the culprits among `items`, whose call ended in `outcome` (an
    exception, or `_NOT_TRIED`); what succeeds on the way lands in `attempt.done`."""
    if outcome is _NOT_TRIED:
        return [letter(item, f"not tried: {attempt.budget.reason}", True) for item in items]
    transient = isinstance(outcome, TransientBackendError)
    if transient and attempt.budget.left <= 0:
        return [letter(item, attempt.budget.reason, True) for item in items]
    if len(items) == 1:
        if not transient:
            return [letter(items[0], describe_error(outcome), False)]  # type: ignore[arg-type]
        again = attempt(items)  # a single item: its retry is calling it again
        return [] if again is _OK else _narrow(items, again, attempt, letter)
    middle = len(items) // 2
    halves = (items[:middle], items[middle:])
    outcomes = [attempt(half) for half in halves]  # both halves before going deeper
    return [
        dead
        for half, result in zip(halves, outcomes, strict=True)
        if result is not _OK
        for dead in _narrow(half, result, attempt, letter)
    ]
