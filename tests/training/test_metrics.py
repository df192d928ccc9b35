"""Metrics for the adverse-event class, threshold choice, calibration and the PR curve."""

from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events.errors import ConfigError
from adverse_events.training import metrics as m

pytestmark = pytest.mark.unit

Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
S = [0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1, 0.1, 0.05]


def test_precision_recall_f1_and_confusion_matrix() -> None:
    out = m.evaluate(Y, S, 0.5)
    assert out["confusion_matrix"] == {"tp": 3, "fp": 1, "fn": 1, "tn": 5}
    assert out["precision"] == pytest.approx(0.75) and out["recall"] == pytest.approx(0.75)
    assert out["f1"] == pytest.approx(0.75)
    assert 0.5 < out["roc_auc"] <= 1 and 0.5 < out["pr_auc"] <= 1


def test_per_source_breakdown() -> None:
    sources = ["a"] * 5 + ["b"] * 5
    out = m.evaluate(Y, S, 0.5, sources=sources)
    assert set(out["by_source"]) == {"a", "b"}
    assert out["by_source"]["a"]["examples"] == 5
    assert out["by_source"]["b"]["roc_auc"] is None  # b holds negatives only


def test_best_f1_threshold() -> None:
    threshold = m.choose_threshold(Y, S)
    assert m.evaluate(Y, S, threshold)["f1"] >= max(
        m.evaluate(Y, S, t)["f1"] for t in (0.1, 0.3, 0.5, 0.7, 0.9)
    )


def test_target_recall_threshold_keeps_the_most_precision() -> None:
    threshold = m.choose_threshold(Y, S, target_recall=1.0)
    assert threshold == pytest.approx(0.3)
    assert m.evaluate(Y, S, threshold)["recall"] == 1.0
    assert m.evaluate(Y, S, m.choose_threshold(Y, S, target_recall=0.5))["recall"] >= 0.5


def test_bad_target_recall() -> None:
    with pytest.raises(ConfigError, match="target recall"):
        m.choose_threshold(Y, S, target_recall=1.5)


def test_reliability_table() -> None:
    table = m.reliability_table([0, 1, 1, 0], [0.05, 0.95, 0.85, 0.15], bins=10)
    counts = [b["count"] for b in table["bins"]]
    assert sum(counts) == 4 and counts[0] == 1 and counts[9] == 1
    assert table["ece"] == pytest.approx(0.1)


def test_length_mismatch() -> None:
    with pytest.raises(ConfigError, match="labels but"):
        m.evaluate([1, 0], [0.5])


def test_pr_curve_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = m.write_pr_curve(Y, S, tmp_path / "pr.png", threshold=0.5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_agreement_counts_labels_at_the_threshold_and_the_largest_difference() -> None:
    reference = [0.9, 0.6, 0.4, 0.1]
    candidate = [0.88, 0.45, 0.41, 0.1]  # the second text changes side of 0.5
    out = m.agreement(reference, candidate)
    assert out == {"texts": 4, "label_agreement": 0.75, "max_score_difference": 0.15}
    assert m.agreement(reference, candidate, threshold=0.3)["label_agreement"] == 1.0
    assert m.agreement([0.5], [0.123456], digits=2)["max_score_difference"] == 0.38


def test_agreement_needs_scores_of_the_same_texts() -> None:
    with pytest.raises(ConfigError, match="2 reference scores but 1"):
        m.agreement([0.1, 0.2], [0.1])
    with pytest.raises(ConfigError, match="no scores"):
        m.agreement([], [])
