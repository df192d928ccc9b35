"""In-memory test doubles: scripted classifiers and extractors, and record factories."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from adverse_events.protocols import Backend
from adverse_events.records import AdverseEventRecord, DeadLetter, Mention, Post, Prediction
from adverse_events.sinks.memory import MemorySink
from adverse_events.sources.memory import MemorySource

__all__ = [
    "MemorySink",
    "MemorySource",
    "MockClassifier",
    "MockExtractor",
    "make_dead_letter",
    "make_post",
    "make_record",
]

POSITIVE, NEGATIVE = "adverse_event", "not_adverse_event"


class MockClassifier(Backend):
    """A classifier whose adverse-event probability for a text is ``fn(text)``.

    `fn` may raise `TransientBackendError`, `PermanentBackendError` or `InputError` to script
    failures. Every call's texts are appended to `calls`.
    """

    name = "mock"
    labels = (NEGATIVE, POSITIVE)

    def __init__(self, fn: Callable[[str], float], threshold: float = 0.5, model: str = "mock"):
        self.fn, self.threshold, self.model = fn, threshold, model
        self.calls: list[list[str]] = []

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(list(texts))
        scores = [float(self.fn(text)) for text in texts]
        return [
            Prediction(
                label=POSITIVE if score >= self.threshold else NEGATIVE,
                score=score,
                probabilities={NEGATIVE: 1.0 - score, POSITIVE: score},
                is_adverse_event=score >= self.threshold,
                model=self.model,
            )
            for score in scores
        ]


class MockExtractor(Backend):
    """An extractor whose mentions for a text are ``fn(text)``; failures scripted as above."""

    name = "mock"

    def __init__(self, fn: Callable[[str], Sequence[Mention]]):
        self.fn = fn
        self.calls: list[list[str]] = []

    def extract(self, texts: Sequence[str]) -> list[list[Mention]]:
        self.calls.append(list(texts))
        return [list(self.fn(text)) for text in texts]


def make_post(
    post_id: str = "p1", text: str = "this drug gave me a headache", **fields: object
) -> Post:
    """A valid post with sensible defaults."""
    defaults: dict[str, object] = {
        "source": "memory",
        "created_at": datetime(2024, 1, 1, tzinfo=timezone.utc),
    }
    return Post(post_id=post_id, text=text, **{**defaults, **fields})  # type: ignore[arg-type]


def make_record(
    post_id: str = "p1",
    text: str = "this drug gave me a headache",
    score: float = 0.9,
    mentions: Sequence[Mention] = (),
    processed_at: datetime | None = None,
) -> AdverseEventRecord:
    """A record with a mock prediction of `score` and the given mentions."""
    [prediction] = MockClassifier(lambda _: score).classify([text])
    return AdverseEventRecord(
        post=make_post(post_id, text),
        prediction=prediction,
        mentions=tuple(mentions),
        extractor="mock" if mentions else None,
        processed_at=processed_at or datetime(2024, 1, 2, tzinfo=timezone.utc),
    )


def make_dead_letter(line: int = 1, reason: str = "malformed JSON") -> DeadLetter:
    return DeadLetter(stage="source", reason=reason, payload="{not json", source="test", line=line)
