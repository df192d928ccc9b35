"""A model directory with a prebuilt ONNX export: runs on ONNX Runtime + tokenizers alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adverse_events.classifiers.transformers import TransformersClassifier
from adverse_events.errors import ConfigError
from tests.helpers import run_without

TEXTS = [
    "This drug gave me a terrible headache and nausea.",
    "Picked up my refill today.",
    "",
    "hair loss " * 200,
]


@pytest.mark.unit
def test_prebuilt_matches_the_torch_model(tiny_trained: Path, prebuilt_dir: Path) -> None:
    fp32 = TransformersClassifier(str(tiny_trained), precision="fp32", runtime="torch")
    prebuilt = TransformersClassifier(str(prebuilt_dir))
    with fp32, prebuilt:
        want, got = fp32.classify(TEXTS), prebuilt.classify(TEXTS)
    assert prebuilt.prebuilt and prebuilt.resolved == {
        "device": "cpu",
        "precision": "int8",
        "runtime": "onnxruntime",
    }
    assert [p.label for p in got] == [p.label for p in want]
    assert max(abs(a.score - b.score) for a, b in zip(got, want, strict=True)) < 0.05
    assert prebuilt.truncated == 1  # the long post was cut, and counted


@pytest.mark.unit
def test_fast_tokenizer_gives_the_transformers_ids(tiny_trained: Path) -> None:
    from transformers import AutoTokenizer

    from adverse_events.classifiers.transformers.loading import FastTokenizer

    reference = AutoTokenizer.from_pretrained(str(tiny_trained))
    fast = FastTokenizer(tiny_trained, ["input_ids", "attention_mask"])
    texts = ["Héllo WORLD!!", "nausea, dizziness & 😀", "a" * 300]
    assert (
        fast(texts, add_special_tokens=False)["input_ids"]
        == reference(texts, add_special_tokens=False)["input_ids"]
    )
    assert fast("x")["input_ids"] == reference("x")["input_ids"]
    assert fast.pad_token_id == reference.pad_token_id


@pytest.mark.integration
def test_prebuilt_runs_without_torch_or_transformers(prebuilt_dir: Path) -> None:
    result = run_without(
        {"torch", "transformers"},
        f"""
        from adverse_events.classifiers.transformers import TransformersClassifier
        clf = TransformersClassifier({str(prebuilt_dir)!r})
        predictions = clf.classify({TEXTS!r})
        assert "torch" not in sys.modules and "transformers" not in sys.modules
        print(len(predictions), clf.resolved["runtime"])
    """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4", "onnxruntime"]


@pytest.mark.unit
@pytest.mark.parametrize(
    "option", [{"device": "cuda"}, {"precision": "fp32"}, {"runtime": "torch"}, {"compile": True}]
)
def test_prebuilt_rejects_what_it_cannot_do(prebuilt_dir: Path, option: dict) -> None:
    with pytest.raises(ConfigError, match="int8 ONNX export"):
        TransformersClassifier(str(prebuilt_dir), **option)


@pytest.mark.unit
def test_prebuilt_labels_come_from_its_model_info(prebuilt_dir: Path) -> None:
    info = json.loads((prebuilt_dir / "adverse_events.json").read_text())
    clf = TransformersClassifier(str(prebuilt_dir), threshold=0.9)
    assert list(clf.labels) == info["labels"] and clf.threshold == 0.9
