"""TfidfClassifier: conformance, threshold, bootstrapping, and real data from ../shared/data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from adverse_events.classifiers.tfidf import TfidfClassifier
from adverse_events.config import parse_config
from adverse_events.errors import ConfigError
from adverse_events.model_dir import read_model_info, write_model_info
from adverse_events.registry import get_registry
from adverse_events.testing import ClassifierConformance, MemorySink, MemorySource, make_post

AE = [
    "this drug gave me a terrible headache",
    "I got a rash all over after starting it",
    "the pills made me dizzy and sick",
    "caused severe nausea and vomiting",
    "I gained weight on this medication",
    "insomnia every night since the higher dose",
]
OK = [
    "I take it every morning with food",
    "my doctor prescribed it for depression",
    "the pharmacy was out of stock today",
    "it works well for my anxiety",
    "I switched brands last year",
    "the price went up again",
]


def _write_posts(path: Path) -> Path:
    """60 distinct texts (pairs of sentences) in 12 reviews."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "text", "adr"])
        n = 0
        for pool, label in ((AE, 1), (OK, 0)):
            for i, first in enumerate(pool):
                for j, second in enumerate(pool):
                    if i != j:
                        writer.writerow([f"r{n % 12}", f"{first}, also {second}", label])
                        n += 1
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tfidf")
    data = _write_posts(root / "posts.csv")
    out = root / "model"
    TfidfClassifier(out, train_data=[data], label_column="adr", group_column="review").open()
    return out


class TestTfidfConformance(ClassifierConformance):
    @pytest.fixture
    def classifier(self, model_dir: Path) -> TfidfClassifier:
        return TfidfClassifier(model_dir)

    @pytest.fixture
    def texts(self) -> list[str]:
        return ["I got a rash", "I take it with food", "", "dizzy " * 300]


def test_registered_as_tfidf() -> None:
    assert get_registry().resolve("classifier", "tfidf") is TfidfClassifier


def test_bootstrap_trained_and_saved_a_model(model_dir: Path) -> None:
    info = read_model_info(model_dir)
    assert info.kind == "tfidf" and info.split["protocol"] == "grouped"
    assert (model_dir / "tfidf.npz").is_file()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert "5-fold out-of-fold" in metrics["threshold_rule"]  # cross-fitted threshold
    assert metrics["validation"]["examples"] > metrics["test"]["examples"]


def test_threshold_from_the_model_dir_and_override(model_dir: Path, tmp_path: Path) -> None:
    classifier = TfidfClassifier(model_dir)
    assert classifier.threshold == pytest.approx(read_model_info(model_dir).threshold)
    always = TfidfClassifier(model_dir, threshold=0.0).classify(["anything"])[0]
    never = TfidfClassifier(model_dir, threshold=1.0).classify(["anything"])[0]
    assert always.is_adverse_event and always.label == "adverse_event"
    assert not never.is_adverse_event and never.label == "not_adverse_event"


def test_events_score_higher(model_dir: Path) -> None:
    event, other = TfidfClassifier(model_dir).classify(
        ["I got a rash and headache", "I take it with food every morning"]
    )
    assert event.score > other.score
    assert event.model == "tfidf:model"


def test_missing_model_dir_without_train_data(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        TfidfClassifier(tmp_path / "nope")


def test_wrong_kind(model_dir: Path, tmp_path: Path) -> None:
    info = read_model_info(model_dir).model_copy(update={"kind": "transformers"})
    write_model_info(tmp_path, info)
    with pytest.raises(ConfigError, match="use type = 'transformers'"):
        TfidfClassifier(tmp_path)


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        TfidfClassifier("x", threshold=2.0)
    with pytest.raises(ConfigError, match="batch_size"):
        TfidfClassifier("x", batch_size=0)


def test_runs_in_a_pipeline_from_config(model_dir: Path) -> None:
    config = parse_config(
        {
            "source": {"type": "memory"},
            "classifier": {"type": "tfidf", "model_dir": str(model_dir)},
            "sink": {"type": "memory"},
        }
    )
    assert config.classifier.type == "tfidf"
    pipeline = config.build()
    assert isinstance(pipeline.classifier, TfidfClassifier)


def test_pipeline_run_with_memory_backends(model_dir: Path) -> None:
    from adverse_events.pipeline import Pipeline

    sink = MemorySink()
    posts = [make_post("p1", "I got a rash and headache"), make_post("p2", "the price went up")]
    report = Pipeline(
        MemorySource(posts), TfidfClassifier(model_dir), None, sink, progress=False
    ).run()
    assert report.classified == 2 and not report.failed


@pytest.mark.slow
def test_psytar_reviews_grouped(shared_data: Path, tmp_path: Path) -> None:
    """Trained on PsyTAR sentences, measured on held-out reviews (docs/benchmarks.md)."""
    out = tmp_path / "psytar"
    classifier = TfidfClassifier(
        out,
        train_data=[shared_data / "psytar" / "sentences.csv"],
        label_column="ADR",
        group_column="post_id",
    )
    classifier.open()
    info = read_model_info(out)
    assert info.split["shared_groups"] == 0
    assert info.metrics["test"]["f1"] > 0.7  # measured 0.77-0.80 depending on settings
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["roc_auc"] > 0.85


@pytest.mark.slow
def test_ade_corpus_evaluation_through_the_classifier(shared_data: Path, tmp_path: Path) -> None:
    from adverse_events.training.workflow import evaluate_model, load_data, train

    data = load_data([shared_data / "ade_corpus_v2"])
    small = data.subset(range(0, len(data), 4))  # a quarter, to stay fast
    result = train(small, "tfidf", tmp_path / "ade", split="grouped", cross_fit=None)
    assert result.info.metrics["test"]["f1"] > 0.5
    test = result.split.part("test")
    metrics = evaluate_model(result.output, test, output=tmp_path / "eval")
    assert metrics["f1"] == pytest.approx(result.info.metrics["test"]["f1"], abs=1e-6)
    assert (tmp_path / "eval" / "pr_curve.png").is_file()
