"""Fixtures: a tiny prebuilt ONNX model directory, made locally with no download."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def tiny_trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny DistilBERT classifier trained a few steps on synthetic posts (torch weights)."""
    from adverse_events.testing.tiny_models import build_classifier_dir, synthetic_texts

    texts, labels = synthetic_texts(200)
    out = tmp_path_factory.mktemp("tiny") / "fp32"
    return build_classifier_dir(out, texts, labels, steps=30)


@pytest.fixture(scope="session")
def prebuilt_dir(tiny_trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_trained` as the shipped encoder is laid out: int8 ONNX + tokenizer + metadata."""
    from adverse_events.classifiers.transformers import onnx

    return onnx.prebuild(tiny_trained, tmp_path_factory.mktemp("prebuilt") / "encoder")
