"""The four backend roles as `typing.Protocol`s; the runner needs no inheritance.

A backend is any object with these attributes. `Backend` is an optional mixin that gives the
context-manager behaviour every backend must have (``with Backend(...) as b:`` closes it).
Conventions every backend follows (the conformance suites in `adverse_events.testing` check them):

* ``__init__`` only validates options; clients, models and connections open lazily on first use.
* ``close()`` is idempotent.
* Classifiers, extractors and sinks take sequences: batch in, batch out, same order.
* Sinks are idempotent by ``post_id``: writing the same post twice leaves one row (the newer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction

__all__ = ["Backend", "Classifier", "Extractor", "ResumableSink", "Sink", "Source"]


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
