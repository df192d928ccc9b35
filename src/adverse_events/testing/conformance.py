"""Conformance suites: the contract of each backend role as pytest tests.

Every backend's tests subclass the suite of its role and supply fixtures only; a third-party
backend passes the same suite. Example::

    from adverse_events.testing import SinkConformance

    class TestMySink(SinkConformance):
        @pytest.fixture
        def sink(self, tmp_path):
            return MySink(tmp_path / "out")

        def read_back(self, sink):
            return sink.read_records(), sink.read_dead_letters()
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from adverse_events.protocols import Classifier, Extractor, ResumableSink, Sink, Source
from adverse_events.records import AdverseEventRecord, DeadLetter, Post
from adverse_events.testing.doubles import make_dead_letter, make_record

__all__ = ["ClassifierConformance", "ExtractorConformance", "SinkConformance", "SourceConformance"]


def _closes_twice(backend: object) -> None:
    backend.close()  # type: ignore[attr-defined]
    backend.close()  # type: ignore[attr-defined]


class SourceConformance:
    """Fixture to supply: ``source`` (reads a finite input that holds at least one valid post)."""

    def test_is_a_source(self, source: Source) -> None:
        assert isinstance(source, Source)
        assert isinstance(source.name, str) and source.name

    def test_yields_posts_or_dead_letters(self, source: Source) -> None:
        items = list(source.read())
        assert items, "the fixture source must yield something"
        assert all(isinstance(item, (Post, DeadLetter)) for item in items)
        assert any(isinstance(item, Post) for item in items)

    def test_dead_letters_say_why(self, source: Source) -> None:
        for item in source.read():
            if isinstance(item, DeadLetter):
                assert item.reason and item.stage == "source"

    def test_post_ids_are_stable(self, source: Source) -> None:
        first = [i.post_id for i in source.read() if isinstance(i, Post)]
        second = [i.post_id for i in source.read() if isinstance(i, Post)]
        assert first == second

    def test_context_manager_and_idempotent_close(self, source: Source) -> None:
        with source as entered:  # type: ignore[attr-defined]
            assert entered is source
        _closes_twice(source)


class ClassifierConformance:
    """Fixtures to supply: ``classifier`` and ``texts`` (a few texts to classify)."""

    def test_is_a_classifier(self, classifier: Classifier) -> None:
        assert isinstance(classifier, Classifier)
        assert len(classifier.labels) >= 2

    def test_empty_batch(self, classifier: Classifier) -> None:
        assert classifier.classify([]) == []

    def test_one_prediction_per_text_in_order(
        self, classifier: Classifier, texts: Sequence[str]
    ) -> None:
        batch = classifier.classify(list(texts))
        assert len(batch) == len(texts)
        singles = [classifier.classify([t])[0] for t in texts]
        for together, alone in zip(batch, singles, strict=True):
            assert together.label == alone.label
            assert together.score == pytest.approx(alone.score, abs=1e-3)

    def test_predictions_are_consistent(self, classifier: Classifier, texts: Sequence[str]) -> None:
        for prediction in classifier.classify(list(texts)):
            assert 0.0 <= prediction.score <= 1.0
            assert prediction.label in classifier.labels
            if prediction.probabilities:
                assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-3)

    def test_context_manager_and_idempotent_close(self, classifier: Classifier) -> None:
        with classifier as entered:  # type: ignore[attr-defined]
            assert entered is classifier
        _closes_twice(classifier)


class ExtractorConformance:
    """Fixtures to supply: ``extractor`` and ``texts`` (texts that hold at least one mention)."""

    def test_is_an_extractor(self, extractor: Extractor) -> None:
        assert isinstance(extractor, Extractor)

    def test_empty_batch(self, extractor: Extractor) -> None:
        assert extractor.extract([]) == []

    def test_one_list_per_text_with_valid_spans(
        self, extractor: Extractor, texts: Sequence[str]
    ) -> None:
        found = extractor.extract(list(texts))
        assert len(found) == len(texts)
        assert any(found), "the fixture texts must hold at least one mention"
        for text, mentions in zip(texts, found, strict=True):
            for mention in mentions:
                assert 0 <= mention.start <= mention.end <= len(text)
                assert text[mention.start : mention.end] == mention.text

    def test_batch_equals_singles(self, extractor: Extractor, texts: Sequence[str]) -> None:
        together = extractor.extract(list(texts))
        alone = [extractor.extract([t])[0] for t in texts]
        strip = [[(m.start, m.end, m.category) for m in ms] for ms in together]
        assert strip == [[(m.start, m.end, m.category) for m in ms] for ms in alone]

    def test_context_manager_and_idempotent_close(self, extractor: Extractor) -> None:
        with extractor as entered:  # type: ignore[attr-defined]
            assert entered is extractor
        _closes_twice(extractor)


def _post_letter(post_id: str, stage: str = "classify") -> DeadLetter:
    post = make_record(post_id).post
    return DeadLetter(
        stage=stage,
        reason="injected",
        payload=post.model_dump_json(),
        post_id=post_id,
        source=post.source,
    )


class SinkConformance:
    """Fixture to supply: ``sink`` (empty); methods to supply: ``read_back(sink)`` and, for a
    sink that stores outside the object, ``reopen(sink)``.

    ``read_back`` returns ``(records, dead_letters)`` *as stored* (every stored row, so a row
    stored twice shows up twice), after the sink was closed. ``reopen`` returns a new sink on
    the same storage (a later run); the default returns `sink` itself.

    Dead-letter contract (the same in every sink): a dead letter is stored once per
    ``dead_letter_id`` however many writes carry it; storing a post removes its older dead
    letters (a later run got it through); a dead letter written after its post is kept.
    Set ``dead_letters_replaced_across_runs = False`` (with a documented reason) for a sink
    that keeps these two rules only within one run (one open-to-close lifetime).
    """

    dead_letters_replaced_across_runs = True

    def reopen(self, sink: Sink) -> Sink:
        return sink

    def read_back(
        self, sink: Sink
    ) -> tuple[Sequence[AdverseEventRecord], Sequence[DeadLetter]]:  # pragma: no cover
        raise NotImplementedError("subclasses return what the sink stored")

    def _stored(self, sink: Sink) -> tuple[dict[str, AdverseEventRecord], list[DeadLetter]]:
        sink.close()
        records, letters = self.read_back(sink)
        ids = [r.post_id for r in records]
        assert len(ids) == len(set(ids)), "a post id is stored more than once"
        return {r.post_id: r for r in records}, list(letters)

    def test_is_a_sink(self, sink: Sink) -> None:
        assert isinstance(sink, Sink)

    def test_stores_records_and_dead_letters(self, sink: Sink) -> None:
        sink.write([make_record("a"), make_record("b", score=0.1), make_dead_letter()])
        records, letters = self._stored(sink)
        assert set(records) == {"a", "b"}
        assert records["a"] == make_record("a")
        assert [d.reason for d in letters] == ["malformed JSON"]

    def test_idempotent_by_post_id(self, sink: Sink) -> None:
        sink.write([make_record("a"), make_dead_letter()])
        sink.write([make_record("a"), make_dead_letter()])
        records, letters = self._stored(sink)
        assert list(records) == ["a"] and len(letters) == 1

    def test_newer_write_wins(self, sink: Sink) -> None:
        sink.write([make_record("a", score=0.9)])
        sink.write([make_record("a", score=0.2), make_record("a", score=0.3)])
        records, _ = self._stored(sink)
        assert records["a"].prediction.score == pytest.approx(0.3)

    def test_a_dead_letter_is_stored_once_per_id(self, sink: Sink) -> None:
        first, second = make_dead_letter(line=1), make_dead_letter(line=2)
        sink.write([first])
        sink.write([first, second])
        sink.write([second, make_dead_letter(line=3)])
        _, letters = self._stored(sink)
        assert sorted(d.line or 0 for d in letters) == [1, 2, 3]

    def test_a_dead_letter_is_stored_once_per_id_across_runs(self, sink: Sink) -> None:
        if not self.dead_letters_replaced_across_runs:
            pytest.skip("this sink keeps dead letters once per id within a run only")
        first, second = make_dead_letter(line=1), make_dead_letter(line=2)
        sink.write([first, second])
        sink.close()
        sink = self.reopen(sink)
        sink.write([second, make_dead_letter(line=3)])
        _, letters = self._stored(sink)
        assert sorted(d.line or 0 for d in letters) == [1, 2, 3]

    def test_a_stored_post_replaces_its_dead_letter(self, sink: Sink) -> None:
        sink.write([_post_letter("a"), _post_letter("b"), make_dead_letter()])
        sink.write([make_record("a")])
        records, letters = self._stored(sink)
        assert set(records) == {"a"}
        assert sorted(d.post_id or "-" for d in letters) == ["-", "b"]

    def test_a_stored_post_replaces_its_dead_letter_of_an_earlier_run(self, sink: Sink) -> None:
        if not self.dead_letters_replaced_across_runs:
            pytest.skip("this sink replaces only the dead letters of the current run")
        sink.write(
            [
                _post_letter("a", stage="classify"),
                _post_letter("a", stage="sink"),
                _post_letter("b"),
            ]
        )
        sink.close()
        sink = self.reopen(sink)
        sink.write([make_record("a")])
        records, letters = self._stored(sink)
        assert set(records) == {"a"} and [d.post_id for d in letters] == ["b"]

    def test_a_dead_letter_written_after_its_post_is_kept(self, sink: Sink) -> None:
        sink.write([make_record("a")])
        sink.write([_post_letter("a")])
        records, letters = self._stored(sink)
        assert set(records) == {"a"} and [d.post_id for d in letters] == ["a"]

    def test_empty_write(self, sink: Sink) -> None:
        sink.write([])
        records, letters = self._stored(sink)
        assert not records and not letters

    def test_existing_ids_when_resumable(self, sink: Sink) -> None:
        if not isinstance(sink, ResumableSink):
            pytest.skip("sink does not support resume")
        sink.write([make_record("a"), make_record("b")])
        try:
            assert sink.existing_ids(["a", "c"]) == {"a"}
        finally:
            sink.close()

    def test_context_manager_and_idempotent_close(self, sink: Sink) -> None:
        with sink as entered:  # type: ignore[attr-defined]
            assert entered is sink
        _closes_twice(sink)
