"""Fine-tuning a tiny, locally built transformer for a few steps (no hub)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from adverse_events.classifiers.transformers import TransformersClassifier  # noqa: E402
from adverse_events.errors import ConfigError  # noqa: E402
from adverse_events.model_dir import read_model_info  # noqa: E402
from adverse_events.testing.tiny_models import make_tiny_transformer  # noqa: E402
from adverse_events.training.workflow import load_data, train  # noqa: E402

from .conftest import AE, OK  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_transformer(tmp_path_factory.mktemp("tiny"), AE + OK)


@pytest.mark.slow
def test_fine_tune_saves_a_model_directory_the_classifier_loads(
    tiny: Path, csv_file: Path, tmp_path: Path
) -> None:
    data = load_data([csv_file])
    result = train(
        data,
        str(tiny),
        tmp_path / "ft",
        split="grouped",
        seed=0,
        test_size=0.25,
        validation_size=0.25,
        options={
            "epochs": 2,
            "batch_size": 8,
            "max_seq_length": 32,
            "learning_rate": 1e-3,
            "progress": False,
            "device": "auto",
        },
    )
    out = result.output
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "adverse_events.json",
        "metrics.json",
        "pr_curve.png",
        "split/manifest.json",
    ):
        assert (out / name).is_file(), name
    assert not (out / "checkpoints").exists()
    info = read_model_info(out)
    assert info.kind == "transformers" and info.labels == ["not_adverse_event", "adverse_event"]
    assert info.data["settings"]["epochs"] == 2
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "not_adverse_event", "1": "adverse_event"}

    with TransformersClassifier(str(out), device="cpu") as classifier:
        predictions = classifier.classify(["I got a rash", "I take it with food"])
    assert classifier.threshold == pytest.approx(info.threshold)
    for p in predictions:
        assert p.is_adverse_event == (p.score >= info.threshold)
        assert p.label == ("adverse_event" if p.is_adverse_event else "not_adverse_event")


def test_unknown_model_is_a_config_error(csv_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load model"):
        train(
            load_data([csv_file]),
            str(tmp_path / "missing-model"),
            tmp_path / "out",
            test_size=0.25,
            validation_size=0.25,
            options={"progress": False},
        )


def test_gpu_precision_on_cpu_is_a_config_error(tiny: Path, csv_file: Path, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        train(
            load_data([csv_file]),
            str(tiny),
            tmp_path / "out",
            test_size=0.25,
            validation_size=0.25,
            options={"precision": "bf16", "progress": False},
        )
