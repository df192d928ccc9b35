"""Pipeline semantics: batching, extraction only for AEs, retries, bisection, resume, hooks."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adverse_events import (
    ConfigError,
    DeadLetter,
    InputError,
    Mention,
    PermanentBackendError,
    Pipeline,
    Post,
    TransientBackendError,
)
from adverse_events.hooks import hookimpl
from adverse_events.sinks import DuckDBSink, JsonlSink, MemorySink
from adverse_events.sources import JsonlSource, MemorySource
from adverse_events.testing import MockClassifier, MockExtractor, make_post

FAST = {"backoff_initial": 0, "backoff_max": 0, "progress": False}


def is_ae(text: str) -> float:
    return 0.9 if "headache" in text else 0.1


def headache(text: str) -> list[Mention]:
    start = text.find("headache")
    return [Mention(text="headache", start=start, end=start + 8, category="ADVERSE_EVENT")]


def posts(n: int, ae_every: int = 2) -> list[Post]:
    return [
        make_post(f"p{i}", f"post {i} headache" if i % ae_every == 0 else f"post {i}")
        for i in range(n)
    ]


def test_runs_end_to_end_and_extracts_only_adverse_events():
    extractor = MockExtractor(headache)
    sink = MemorySink()
    report = Pipeline(
        MemorySource(posts(10)), MockClassifier(is_ae), extractor, sink, batch_size=4, **FAST
    ).run()
    assert (report.read, report.classified, report.adverse_events, report.written) == (
        10,
        10,
        5,
        10,
    )
    assert report.dead_lettered == 0 and report.batches == 3 and not report.failed
    assert sum(len(c) for c in extractor.calls) == 5
    assert all("headache" in t for call in extractor.calls for t in call)
    assert sink.records["p0"].ae_type == "headache" and sink.records["p0"].extractor == "mock"
    assert sink.records["p1"].mentions == () and sink.records["p1"].extractor is None
    assert sink.closed


def test_source_dead_letters_go_to_the_dead_letter_sink():
    main, letters = MemorySink(), MemorySink()
    source = MemorySource([*posts(3), {"text": "no id"}])
    report = Pipeline(source, MockClassifier(is_ae), sink=main, dead_letter=letters, **FAST).run()
    assert report.written == 3 and report.dead_lettered == 1
    assert not main.dead_letters and len(letters.dead_letters) == 1


def test_transient_errors_are_retried():
    failures = iter([True, True, False])

    def flaky(text: str) -> float:
        if next(failures, False):
            raise TransientBackendError("throttled", backend="mock")
        return 0.1

    report = Pipeline(MemorySource(posts(1)), MockClassifier(flaky), **FAST).run()
    assert report.retries == 2 and report.written == 1 and report.dead_lettered == 0


def test_persistent_transient_errors_are_dead_lettered():
    def down(text: str) -> float:
        raise TransientBackendError("503", backend="mock")

    sink = MemorySink()
    report = Pipeline(
        MemorySource(posts(3)), MockClassifier(down), sink=sink, max_retries=2, **FAST
    ).run()
    # the runner is the one retry owner: [3] fails, then its halves [1] and [2] fail, and the
    # budget of max_retries + 1 failures in a row is spent: 3 calls in all, no more
    assert report.written == 0 and report.dead_lettered == 3 and report.retries == 2
    assert all(d.transient for d in sink.dead_letters.values())
    reasons = {d.reason for d in sink.dead_letters.values()}
    assert reasons == {"still failing after 2 retries: [mock] 503"}
    assert {d.stage for d in sink.dead_letters.values()} == {"classify"}


def test_permanent_errors_are_bisected_to_the_bad_item():
    def picky(text: str) -> float:
        if "poison" in text:
            raise PermanentBackendError("validation failed", backend="mock")
        return 0.1

    items = posts(7) + [make_post("bad", "poison pill")]
    sink = MemorySink()
    report = Pipeline(
        MemorySource(items), MockClassifier(picky), sink=sink, batch_size=8, **FAST
    ).run()
    assert report.written == 7 and report.dead_lettered == 1
    [letter] = sink.dead_letters.values()
    assert letter.post_id == "bad" and "validation failed" in letter.reason
    assert json.loads(letter.payload)["text"] == "poison pill"


def test_extractor_failures_dead_letter_the_post_not_the_batch():
    def extract(text: str) -> list[Mention]:
        if "post 0 " in text:
            raise InputError("too long")
        return headache(text)

    sink = MemorySink()
    report = Pipeline(
        MemorySource(posts(4)), MockClassifier(is_ae), MockExtractor(extract), sink, **FAST
    ).run()
    assert set(sink.records) == {"p1", "p2", "p3"}
    assert [d.stage for d in sink.dead_letters.values()] == ["extract"]
    assert report.written == 3 and report.dead_lettered == 1


def test_wrong_result_count_is_a_permanent_error():
    class Short(MockClassifier):
        def classify(self, texts):
            return super().classify(texts)[:-1]

    sink = MemorySink()
    Pipeline(MemorySource(posts(2)), Short(is_ae), sink=sink, **FAST).run()
    assert {d.post_id for d in sink.dead_letters.values()} == {"p0", "p1"}
    assert all("returned 0 results for 1 texts" in d.reason for d in sink.dead_letters.values())


def test_resume_skips_what_the_sink_holds(tmp_path):
    path = tmp_path / "ae.duckdb"
    Pipeline(MemorySource(posts(5)), MockClassifier(is_ae), sink=DuckDBSink(path), **FAST).run()
    classifier = MockClassifier(is_ae)
    report = Pipeline(
        MemorySource(posts(8)), classifier, sink=DuckDBSink(path), resume=True, **FAST
    ).run()
    assert report.skipped == 5 and report.written == 3
    assert sorted(t for call in classifier.calls for t in call) == [
        "post 5",
        "post 6 headache",
        "post 7",
    ]


def test_resume_needs_a_resumable_sink():
    class WriteOnly:
        name = "write-only"

        def write(self, records): ...

        def close(self): ...

    with pytest.raises(ConfigError, match="existing_ids"):
        Pipeline(MemorySource(), MockClassifier(is_ae), sink=WriteOnly(), resume=True)


def test_duplicate_posts_are_written_once_newest_wins():
    items = [make_post("a", "old"), make_post("b", "x"), make_post("a", "new headache")]
    sink = MemorySink()
    Pipeline(MemorySource(items), MockClassifier(is_ae), sink=sink, batch_size=2, **FAST).run()
    assert set(sink.records) == {"a", "b"} and sink.records["a"].post.text == "new headache"


def test_hooks_see_batches_and_dead_letters():
    seen: dict[str, list[object]] = {"before": [], "after": [], "dead": [], "run": []}

    class Audit:
        @hookimpl
        def before_batch(self, posts):
            seen["before"].append(len(posts))

        @hookimpl
        def after_batch(self, records, report):
            seen["after"].append(len(records))

        @hookimpl
        def on_dead_letter(self, dead_letter):
            seen["dead"].append(dead_letter.reason)

        @hookimpl
        def after_run(self, report):
            seen["run"].append(report.written)

    source = MemorySource([*posts(3), {"post_id": "x", "text": ""}])
    Pipeline(source, MockClassifier(is_ae), batch_size=2, plugins=[Audit()], **FAST).run()
    assert seen["before"] == [2, 1] and seen["after"] == [2, 1]
    assert seen["dead"] == ["text field 'text' is empty or not text"] and seen["run"] == [3]


def test_ctrl_c_flushes_and_reports_interrupted(tmp_path):
    def endless():
        for i in range(10):
            yield make_post(f"p{i}", "text")
        raise KeyboardInterrupt

    class Interrupting(MemorySource):
        def read(self):
            return endless()

    sink = JsonlSink(tmp_path / "r.jsonl")
    report = Pipeline(Interrupting(), MockClassifier(is_ae), sink=sink, batch_size=4, **FAST).run()
    assert report.interrupted and not report.failed
    assert {r.post_id for r in sink.read_records()} == {f"p{i}" for i in range(8)}


def test_sink_failure_fails_the_run_without_losing_the_report():
    class Broken(MemorySink):
        def write(self, records):
            raise TransientBackendError("disk full", backend="broken")

    report = Pipeline(
        MemorySource(posts(2)), MockClassifier(is_ae), sink=Broken(), max_retries=1, **FAST
    ).run()
    assert report.failed and "disk full" in (report.error or "")


def test_writes_overlap_with_classification():
    """The writer thread is not the main thread (so the next batch can be classified)."""
    threads: set[str] = set()

    class Recording(MemorySink):
        def write(self, records):
            threads.add(threading.current_thread().name)
            super().write(records)

    Pipeline(
        MemorySource(posts(4)), MockClassifier(is_ae), sink=Recording(), batch_size=2, **FAST
    ).run()
    assert all(name.startswith("ae-sink") for name in threads)


def test_bad_options():
    with pytest.raises(ConfigError, match="batch_size"):
        Pipeline(MemorySource(), MockClassifier(is_ae), batch_size=0)


# -- the invariant: every valid post written exactly once, every bad line dead-lettered -------

line = st.one_of(
    st.builds(
        lambda i, ae: {"post_id": f"p{i}", "text": f"post {i}" + (" headache" if ae else "")},
        st.integers(0, 40),
        st.booleans(),
    ).map(json.dumps),
    st.sampled_from(["{broken", '{"post_id": "e", "text": ""}', '{"text": "no id"}', "[1, 2]"]),
)


@given(
    lines=st.lists(line, min_size=1, max_size=60),
    failures=st.lists(st.booleans(), max_size=30),
    batch_size=st.integers(1, 9),
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_no_loss_no_duplicates(tmp_path_factory, lines, failures, batch_size):
    path = tmp_path_factory.mktemp("prop") / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    script = iter(failures)

    def flaky(text: str) -> float:
        if next(script, False):
            raise TransientBackendError("throttled", backend="mock")
        return is_ae(text)

    sink = MemorySink()
    report = Pipeline(
        JsonlSource(path),
        MockClassifier(flaky),
        MockExtractor(headache),
        sink,
        batch_size=batch_size,
        max_retries=len(failures) + 1,
        **FAST,
    ).run()
    valid = {}
    bad_lines = set()
    for number, raw in enumerate(lines, start=1):
        try:
            row = json.loads(raw)
            ok = isinstance(row, dict) and row.get("text") and row.get("post_id")
        except ValueError:
            ok = False
        if ok:
            valid[row["post_id"]] = row["text"]
        else:
            bad_lines.add(number)
    assert {pid: r.post.text for pid, r in sink.records.items()} == valid
    assert {d.line for d in sink.dead_letters.values()} == bad_lines
    assert all(isinstance(d, DeadLetter) and d.reason for d in sink.dead_letters.values())
    assert report.read == len(lines) and report.dead_lettered == len(bad_lines)
    assert all(
        (r.ae_type == "headache") == ("headache" in r.post.text) for r in sink.records.values()
    )


def test_backends_open_before_reading_and_a_failed_open_fails_the_run():
    events: list[str] = []

    class Tracking(MockClassifier):
        def open(self):
            events.append("classifier.open")

    class Source(MemorySource):
        def read(self):
            events.append("source.read")
            return super().read()

    Pipeline(Source(posts(1)), Tracking(is_ae), **FAST).run()
    assert events == ["classifier.open", "source.read"]

    class Broken(MockClassifier):
        def open(self):
            raise ConfigError("model_dir 'm' holds no model")

    sink = MemorySink()
    report = Pipeline(MemorySource(posts(2)), Broken(is_ae), sink=sink, **FAST).run()
    assert report.failed and "holds no model" in (report.error or "")
    assert report.read == 0 and sink.closed


@pytest.mark.parametrize("make_sink", [JsonlSink, DuckDBSink], ids=["jsonl", "duckdb"])
def test_a_lone_surrogate_from_json_does_not_crash_the_run(tmp_path, make_sink):
    """JSON may escape half an emoji ("\\ud83d", a truncated tweet); UTF-8 sinks cannot store it."""
    source = tmp_path / "posts.jsonl"
    source.write_text(
        '{"post_id": "a", "text": "ok"}\n'
        '{"post_id": "b", "text": "cut \\ud83d headache", "meta": ["\\udc00"]}\n'
    )
    sink = make_sink(tmp_path / "out")
    report = Pipeline(JsonlSource(source), MockClassifier(is_ae), sink=sink, **FAST).run()
    assert not report.failed and report.written == 2
    assert {r.post_id: r.post.text for r in sink.read_records()} == {
        "a": "ok",
        "b": "cut \ufffd headache",
    }


def test_a_sink_that_cannot_flush_on_close_fails_the_run():
    """A buffering sink (S3) stores on close(); a failure there must not report success."""

    class Buffering(MemorySink):
        def close(self):
            raise TransientBackendError("flush failed: 503", backend="buffering")

    report = Pipeline(MemorySource(posts(2)), MockClassifier(is_ae), sink=Buffering(), **FAST).run()
    assert report.failed and "flush failed" in (report.error or "")
