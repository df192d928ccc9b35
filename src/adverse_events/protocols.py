"""The four backend roles as `typing.Protocol`s; the runner needs no inheritance.

A backend is any object with these attributes. `Backend` is an optional mixin that gives the
context-manager behaviour every backend must have (``with Backend(...) as b:`` closes it).
Conventions every backend follows (the conformance suites in `adverse_events.testing` check them):

* ``__init__`` only validates options; clients, models and connections open lazily on first use.
* ``close()`` is idempotent.
* Classifiers, extractors and sinks take sequences: batch in, batch out, same order.
* Sinks are idempotent by ``post_id``: writing the same post twice leaves one row (the newer).
  A stored post replaces its old dead letter; a dead letter is stored once per id.
* Sources that remember a position implement `CheckpointingSource`: the runner, not the source,
  saves the position, and only once the sink and the dead-letter sink hold everything before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction

__all__ = [
    "Backend",
    "BufferingSink",
    "CheckpointingSource",
    "Classifier",
    "Extractor",
    "ResumableSink",
    "Sink",
    "Source",
]


class Backend:
    """Mixin: context-manager support around ``open()`` / ``close()``."""

    name: str = "backend"

    def open(self) -> None:
        """Acquire clients or connections eagerly (optional; backends open lazily anyway)."""

    def close(self) -> None:
        """Release resources. Idempotent."""

    def __enter__(self) -> Any:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Source(Protocol):
    """Yields posts, or dead letters for input it cannot parse. `read()` may never end."""

    name: str

    def read(self) -> Iterator[Post | DeadLetter]: ...


@runtime_checkable
class CheckpointingSource(Source, Protocol):
    """A source that remembers where it is (X ``since_id``, DynamoDB shard sequence numbers, a
    replay offset), so a restarted run continues instead of starting over.

    * `snapshot()` returns the position just after the last item `read()` handed out, as a
      JSON-serialisable value (``None``: nothing to remember yet). It must not block or save.
    * `commit(state)` durably saves a state `snapshot()` returned earlier; the next `read()` (in
      this process or a new one) starts after it. The runner calls it only after the sink and
      the dead-letter sink have stored every item handed out before that snapshot, so a crash
      at any moment re-reads (at least once) and never skips. A source never saves its own
      position ahead of that.
    """

    def snapshot(self) -> Any: ...

    def commit(self, state: Any) -> None: ...


@runtime_checkable
class Classifier(Protocol):
    """Decides which texts describe an adverse event. Same length and order out as in."""

    name: str
    labels: Sequence[str]

    def classify(self, texts: Sequence[str]) -> list[Prediction]: ...


@runtime_checkable
class Extractor(Protocol):
    """Finds drug and event mentions (with codes) in texts. One list of mentions per text."""

    name: str

    def extract(self, texts: Sequence[str]) -> list[list[Mention]]: ...


@runtime_checkable
class Sink(Protocol):
    """Stores records and dead letters, idempotently by post id (dead letters by their id)."""

    name: str

    def write(self, records: Sequence[AdverseEventRecord | DeadLetter]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ResumableSink(Sink, Protocol):
    """A sink that can say which posts it already holds, so ``resume=True`` can skip them."""

    def existing_ids(self, post_ids: Sequence[str]) -> set[str]: ...


@runtime_checkable
class BufferingSink(Sink, Protocol):
    """A sink whose `write()` may only buffer (S3: a few large objects), storing on a later
    write, `flush()` or `close()`.

    `buffered()` says how many ``(records, dead letters)`` were accepted but are not stored yet.
    The runner commits a source's checkpoint only while it is ``(0, 0)``, and after the final
    close counts what is still buffered as ``unstored``, not as written.
    """

    def buffered(self) -> tuple[int, int]: ...
