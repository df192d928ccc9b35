"""TransformersClassifier on a model directory: conformance, threshold, labels (tiny model)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from adverse_events.classifiers.transformers import TransformersClassifier  # noqa: E402
from adverse_events.errors import ConfigError  # noqa: E402
from adverse_events.model_dir import ModelInfo, write_model_info  # noqa: E402
from adverse_events.registry import get_registry  # noqa: E402
from adverse_events.testing import ClassifierConformance  # noqa: E402
from adverse_events.testing.tiny_models import make_tiny_transformer  # noqa: E402

TEXTS = ["the drug gave me a rash", "I take it with food", "dizzy and sick all day", ""]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_tiny_transformer(tmp_path_factory.mktemp("tiny"), TEXTS * 3)
    write_model_info(
        root,
        ModelInfo(
            kind="transformers",
            labels=["not_adverse_event", "adverse_event"],
            positive_label="adverse_event",
            threshold=0.3,
        ),
    )
    return root


class TestTransformersConformance(ClassifierConformance):
    @pytest.fixture
    def classifier(self, model_dir: Path) -> TransformersClassifier:
        return TransformersClassifier(str(model_dir), device="cpu", batch_size=2)

    @pytest.fixture
    def texts(self) -> list[str]:
        return TEXTS + ["word " * 500]


def test_registered_as_transformers() -> None:
    assert get_registry().resolve("classifier", "transformers") is TransformersClassifier


def test_applies_the_saved_threshold_and_the_override(model_dir: Path) -> None:
    saved = TransformersClassifier(str(model_dir), device="cpu")
    assert saved.threshold == 0.3 and saved.labels == ("not_adverse_event", "adverse_event")
    for p in saved.classify(TEXTS):
        assert p.is_adverse_event == (p.score >= 0.3)
        assert p.score == pytest.approx(p.probabilities["adverse_event"])
    assert all(
        p.is_adverse_event
        for p in TransformersClassifier(str(model_dir), threshold=0.0).classify(TEXTS)
    )


def test_without_model_info_guesses_the_positive_label(tmp_path: Path) -> None:
    root = make_tiny_transformer(tmp_path, TEXTS * 3, labels=("Not-Related", "Related"))
    classifier = TransformersClassifier(str(root), device="cpu")
    prediction = classifier.classify(["a rash"])[0]
    assert classifier.labels == ("Not-Related", "Related")
    assert prediction.label in ("Not-Related", "Related")


def test_bad_options_and_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        TransformersClassifier("x", threshold=-1)
    with pytest.raises(ConfigError, match="cannot load"):
        TransformersClassifier(str(tmp_path / "missing")).classify(["x"])
