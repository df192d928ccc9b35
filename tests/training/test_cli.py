"""`adverse-events train` and `adverse-events evaluate`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_train_then_evaluate_tfidf(ade_dir: Path, csv_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "train",
            str(ade_dir),
            str(csv_file),
            "--model",
            "tfidf",
            "--output",
            str(out),
            "--split",
            "grouped",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "F1" in result.output and "groups on both sides: 0" in result.output
    info = json.loads((out / "adverse_events.json").read_text())
    assert info["kind"] == "tfidf" and set(info["data"]["by_source"]) == {"ade_corpus_v2", "posts"}
    result = runner.invoke(app, ["evaluate", str(out), str(csv_file)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["examples"] == 24 and "posts" in metrics["by_source"]
    assert (out / "eval" / "pr_curve.png").is_file()


def test_random_split_on_ade_keeps_relation_copies(ade_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "random"
    result = runner.invoke(
        app, ["train", str(ade_dir), "--model", "tfidf", "--output", str(out), "--split", "random"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads((out / "adverse_events.json").read_text())
    assert info["data"]["examples"] == 28  # 16 relation rows + 12 negatives
    assert info["split"]["protocol"] == "random"


def test_label_mapping_and_positive_label(tmp_path: Path) -> None:
    data = tmp_path / "multi.csv"
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    rows = ["text,kind,post_id"] + [
        f"{t} {' '.join(random.Random(i).sample(words, 5))},{k},p{i}"
        for i in range(16)
        for t, k in (("gave me a rash", "ADR"), ("works great", "EF"), ("did nothing", "INF"))
    ]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "train",
            str(data),
            "--model",
            "tfidf",
            "--output",
            str(out),
            "--label-column",
            "kind",
            "--label-name",
            "ADR=ae",
            "--label-name",
            "EF=other",
            "--label-name",
            "INF=other",
            "--positive-label",
            "ae",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads((out / "adverse_events.json").read_text())
    assert info["labels"] == ["ae", "other"] and info["positive_label"] == "ae"


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["train", str(tmp_path / "nope.csv"), "--model", "tfidf", "--output", str(tmp_path / "m")],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = runner.invoke(app, ["evaluate", str(tmp_path), str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_folds_report_mean_and_sd_of_every_test_fold(tmp_path: Path) -> None:
    data = tmp_path / "posts.csv"
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    rows = ["text,label,post_id"] + [
        f"{t} {' '.join(random.Random(i).sample(words, 4))},{y},p{i % 20}"
        for i in range(80)
        for t, y in (("this drug gave me a rash", 1), ("feeling fine", 0))
    ]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "train",
            str(data),
            "--model",
            "tfidf",
            "--output",
            str(out),
            "--label-name",
            "1=adverse_event",
            "--label-name",
            "0=not_adverse_event",
            "--folds",
            "4",
            "--cross-fit",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4-fold grouped cross-validation" in result.output and "cv.json" in result.output
    cv = json.loads((out / "cv.json").read_text())
    assert cv["folds"] == 4 and len(cv["per_fold"]) == 4
    removed = json.loads((out / "adverse_events.json").read_text())["split"]["removed"]
    kept = 160 - sum(removed.values())  # duplicates and near-duplicates are dropped first
    assert sum(f["examples"] for f in cv["per_fold"]) == kept  # each text tested exactly once
    f1s = [f["f1"] for f in cv["per_fold"]]
    assert cv["mean"]["f1"] == pytest.approx(sum(f1s) / 4)
    assert (out / "adverse_events.json").is_file()  # the model itself is trained as usual


def test_one_fold_is_refused(tmp_path: Path, csv_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            str(csv_file),
            "--model",
            "tfidf",
            "--output",
            str(tmp_path / "m"),
            "--folds",
            "1",
        ],
    )
    assert result.exit_code == 2 and "--folds" in result.output
