"""scripts/build_models.py on a small slice: every artifact, a manifest that pins them, loadable."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adverse_events.classifiers.transformers import TransformersClassifier
from tests.conftest import REPO

# the build trains three models: seconds on an idle machine, minutes on a busy one
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def built(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adverse_events.testing.tiny_models import make_tiny_transformer, synthetic_texts

    root = tmp_path_factory.mktemp("build")
    base = make_tiny_transformer(root / "base", synthetic_texts(200)[0], max_length=128)
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_models.py"),
            "--limit",
            "150",
            "--data-dir",
            str(shared_data),
            "--encoder",
            str(base),
            "--out",
            str(root / "models"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "models"


def test_every_artifact_is_built_and_pinned(built: Path, shared_data: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    assert sorted(manifest["models"]) == ["encoder", "lexicon", "tfidf"]
    for kind, entry in manifest["models"].items():
        for name, meta in entry["files"].items():
            assert hashlib.sha256((built / kind / name).read_bytes()).hexdigest() == meta["sha256"]
    for item in manifest["inputs"]:
        digest = hashlib.sha256((shared_data / item["file"]).read_bytes()).hexdigest()
        assert item["sha256"] == digest and item["licence"] == "CC BY 4.0"
    assert manifest["arguments"]["limit"] == 150
    assert manifest["models"]["encoder"]["runtime"]["precision"] == "int8"
    assert "label_agreement" in manifest["models"]["encoder"]["metrics"]["int8_vs_fp32"]


def test_no_training_text_is_shipped(built: Path, shared_data: Path) -> None:
    sentence = "I am detoxing from Lexapro now."  # a PsyTAR sentence
    assert sentence in (shared_data / "psytar" / "sentences.csv").read_text()
    for file in built.rglob("*"):
        if file.is_file():
            assert sentence.encode() not in file.read_bytes(), file


def test_the_built_encoder_classifies(built: Path) -> None:
    clf = TransformersClassifier(str(built / "encoder"))
    with clf:
        predictions = clf.classify(["My head hurts since the new pills.", "Hello"])
    assert clf.resolved["runtime"] == "onnxruntime" and len(predictions) == 2
