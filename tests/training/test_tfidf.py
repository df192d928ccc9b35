"""The TF-IDF model: fit, safe save/load round trip, multi-class, and the training workflow."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from adverse_events.errors import ConfigError
from adverse_events.model_dir import read_model_info
from adverse_events.training import datasets as ds
from adverse_events.training.tfidf import TfidfModel, TfidfOptions, fit_tfidf
from adverse_events.training.workflow import load_data, train

from .conftest import AE, OK

pytestmark = pytest.mark.unit
LABELS = [ds.NEGATIVE, ds.POSITIVE]


def test_fit_scores_events_higher() -> None:
    model = fit_tfidf(AE + OK, [1] * len(AE) + [0] * len(OK), LABELS, TfidfOptions(min_df=1))
    proba = model.predict_proba(["the drug gave me a rash and headache", "I take it with food"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1)
    assert proba[0, 1] > 0.5 > proba[1, 1]
    assert [m["name"] for m in model.members] == ["logistic_regression", "nbsvm"]


def test_save_load_round_trip_without_pickle(tmp_path: Path) -> None:
    model = fit_tfidf(AE + OK, [1] * len(AE) + [0] * len(OK), LABELS, TfidfOptions(min_df=1))
    model.save(tmp_path)
    with zipfile.ZipFile(tmp_path / "tfidf.npz") as npz:  # plain .npy arrays, no objects
        assert all(name.endswith(".npy") for name in npz.namelist())
    described = json.loads((tmp_path / "tfidf.json").read_text())
    assert described["vectorizers"][1]["settings"]["analyzer"] == "char_wb"
    loaded = TfidfModel.load(tmp_path)
    texts = ["I got dizzy", "the price went up", ""]
    assert np.allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-5)


def test_load_refuses_settings_outside_the_allow_list(tmp_path: Path) -> None:
    fit_tfidf(AE + OK, [1] * len(AE) + [0] * len(OK), LABELS, TfidfOptions(min_df=1)).save(tmp_path)
    described = json.loads((tmp_path / "tfidf.json").read_text())
    described["vectorizers"][0]["settings"]["analyzer"] = "os.system"
    (tmp_path / "tfidf.json").write_text(json.dumps(described))
    with pytest.raises(ConfigError, match="not allowed"):
        TfidfModel.load(tmp_path)


def test_multiclass() -> None:
    texts = (
        AE[:6]
        + OK[:6]
        + [
            "it stopped working",
            "no effect at all",
            "did nothing for me",
            "useless after a week",
            "stopped helping",
            "no change",
        ]
    )
    y = [0] * 6 + [1] * 6 + [2] * 6
    model = fit_tfidf(texts, y, ["adverse_event", "other", "ineffective"], TfidfOptions(min_df=1))
    proba = model.predict_proba(["gave me a rash", "did nothing at all"])
    assert proba.shape == (2, 3) and proba[0].argmax() == 0 and proba[1].argmax() == 2
    assert len(model.members) == 1  # NB-SVM is binary only


def test_one_label_only_is_an_error() -> None:
    with pytest.raises(ConfigError, match="only one label"):
        fit_tfidf(AE, [1] * len(AE), LABELS)


def test_train_workflow_writes_a_model_directory(csv_file: Path, tmp_path: Path) -> None:
    data = load_data([csv_file])
    result = train(
        data,
        "tfidf",
        tmp_path / "model",
        split="grouped",
        seed=0,
        options={"min_df": 1},
        test_size=0.25,
        validation_size=0.25,
    )
    out = result.output
    for name in (
        "adverse_events.json",
        "tfidf.json",
        "tfidf.npz",
        "metrics.json",
        "pr_curve.png",
        "split/manifest.json",
        "split/test.jsonl",
    ):
        assert (out / name).is_file(), name
    info = read_model_info(out)
    assert info.kind == "tfidf" and info.positive_label == ds.POSITIVE
    assert info.split["protocol"] == "grouped" and info.split["shared_groups"] == 0
    assert set(info.metrics) == {"test", "validation"}
    assert info.data["by_source"]["posts"][ds.POSITIVE] > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["by_source"]["posts"]["examples"] == info.metrics["test"]["examples"]


def test_plain_recipe_without_cross_fitting(csv_file: Path, tmp_path: Path) -> None:
    result = train(
        load_data([csv_file]),
        "tfidf",
        tmp_path / "m",
        options={"min_df": 1},
        cross_fit=None,
        test_size=0.25,
        validation_size=0.25,
    )
    metrics = json.loads((result.output / "metrics.json").read_text())
    assert metrics["threshold_rule"] == "best F1"
    assert (
        metrics["validation"]["examples"]
        == result.split.manifest()["parts"]["validation"]["examples"]
    )


def test_target_recall_sets_a_threshold_that_reaches_it(csv_file: Path, tmp_path: Path) -> None:
    data = load_data([csv_file])
    result = train(
        data,
        "tfidf",
        tmp_path / "m",
        target_recall=1.0,
        options={"min_df": 1},
        test_size=0.25,
        validation_size=0.25,
    )
    assert result.info.metrics["validation"]["recall"] == 1.0


def test_unknown_option(csv_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown TF-IDF option"):
        train(
            load_data([csv_file]),
            "tfidf",
            tmp_path / "m",
            options={"epochs": 3},
            test_size=0.25,
            validation_size=0.25,
        )
