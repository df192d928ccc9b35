"""benchmarks/bench_common.py, the helper module every benchmark script imports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import benchmark_module

pytestmark = pytest.mark.unit


@pytest.fixture
def bench() -> Iterator[ModuleType]:
    with benchmark_module("bench_common") as module:
        yield module


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A miniature data folder: an ADE corpus whose negatives repeat a positive, and PsyTAR."""
    ade = tmp_path / "ade_corpus_v2"
    ade.mkdir()
    (ade / "DRUG-AE.rel").write_text(
        "1|it gave me a rash.|rash|0|1|it|0|1\n1|it gave me a rash.|rash|0|1|it|0|1\n"
        "2|dizzy on the drug.|dizzy|0|1|drug|0|1\n",
        encoding="utf-8",
    )
    (ade / "ADE-NEG.txt").write_text(
        "3 NEG fine so far.\n4 NEG dizzy on the drug.\n5 NEG fine so far.\n", encoding="utf-8"
    )
    psytar = tmp_path / "psytar"
    psytar.mkdir()
    (psytar / "sentences.csv").write_text(
        "post_id,sentence_index,text,ADR\nzoloft.1,0,it made me sick,1\nzoloft.1,1,  ,0\n"
        "lexapro.2,0,works well,0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ADVERSE_EVENTS_DATA", str(tmp_path))
    return tmp_path


def test_corpora_come_through_the_library_loaders(bench: ModuleType, corpus: Path) -> None:
    assert bench.data_dir() == corpus
    assert bench.psytar_sentences() == ["it made me sick", "works well"]
    assert [e.group for e in bench.psytar().examples] == ["zoloft.1", "lexapro.2"]
    assert len(bench.ade()) == 5 and len(bench.ade(relations=True)) == 6
    texts, labels = bench.ade_sentences()  # negatives first, de-duplicated, positives win
    assert texts == ["fine so far.", "dizzy on the drug.", "it gave me a rash."]
    assert labels == [0, 1, 1]
    both = bench.union([bench.psytar(), bench.psytar()])
    assert len(both) == 4 and both.positive_label == "adverse_event"


def test_the_machine_description(bench: ModuleType) -> None:
    assert list(bench.host()) == ["platform", "python", "cpus", "processor"]
    assert list(bench.host("python", "cpus")) == ["python", "cpus"]
    machine = bench.machine()
    assert machine["cpus"] >= 1 and machine["library_version"] and machine["measured_at"]
    assert len(bench.load_average()) == 3 and isinstance(bench.cpu_info()["flags"], list)


def test_finish_adds_the_machine_prints_and_writes(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "deeper" / "result.json"
    bench.finish({"benchmark": "x"}, out)
    written = json.loads(out.read_text())
    assert list(written) == ["benchmark", "machine", "library_version", "measured_at"]
    assert json.loads(capsys.readouterr().out) == written
    assert out.read_text().endswith("}\n")


def test_write_results_writes_json_and_markdown(bench: ModuleType, tmp_path: Path) -> None:
    table = bench.markdown_table([{"a": 1, "b": 2}, {"a": 3}])
    assert table.splitlines() == ["| a | b |", "| --- | --- |", "| 1 | 2 |", "| 3 |  |"]
    bench.write_results(tmp_path / "r", {"rows": 1}, table)
    assert json.loads((tmp_path / "r.json").read_text()) == {"rows": 1}
    assert (tmp_path / "r.md").read_text() == table + "\n"


def test_stopwatch_and_peak_memory(bench: ModuleType) -> None:
    with bench.Stopwatch() as clock, bench.PeakMemory() as memory:
        block = bytearray(8 << 20)
    assert clock.seconds > 0 and memory.peak >= len(block)
    with bench.frozen_gc():
        pass


def test_with_run_replaces_the_run_with_the_same_key_and_keeps_the_rest(
    bench: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "results.json"
    assert bench.with_run(path, {"name": "a", "seed": 1}, ("name", "seed")) == {
        "runs": [{"name": "a", "seed": 1}]
    }
    runs = [{"name": "a", "seed": 1, "f1": 0.1}, {"name": "a", "seed": 2}, {"name": "b", "seed": 1}]
    path.write_text(json.dumps({"benchmark": "x", "runs": runs}))
    report = bench.with_run(path, {"name": "a", "seed": 1, "f1": 0.2}, ("name", "seed"))
    assert report == {"benchmark": "x", "runs": [*runs[1:], {"name": "a", "seed": 1, "f1": 0.2}]}
    assert json.loads(path.read_text())["runs"] == runs  # not written
