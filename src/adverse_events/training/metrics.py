"""Metrics for the adverse-event class, thresholds chosen on validation data, calibration.

Everything is about one question: is this text an adverse event? `scores` are P(positive label)
and `y_true` is 1 for the positive label, 0 otherwise, also for multi-class models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import ConfigError, PluginError

#: 0/1 labels and scores: lists or numpy arrays.
Labels = Sequence[int] | np.ndarray
Scores = Sequence[float] | np.ndarray

__all__ = [
    "agreement",
    "choose_threshold",
    "evaluate",
    "reliability_table",
    "write_metrics",
    "write_pr_curve",
]


def _arrays(y_true: Labels, scores: Scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise ConfigError(f"{len(y)} labels but {len(s)} scores")
    return y, s


def choose_threshold(
    y_true: Labels, scores: Scores, *, target_recall: float | None = None
) -> float:
    """The threshold with the best F1 on these (validation) data, or, with `target_recall`,
    the highest threshold whose recall is at least `target_recall` (most precision kept).
    """
    from sklearn.metrics import precision_recall_curve

    y, s = _arrays(y_true, scores)
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5  # one class only: nothing to choose from
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if target_recall is not None:
        if not 0 < target_recall <= 1:
            raise ConfigError(f"target recall must be in (0, 1], not {target_recall}")
        ok = np.flatnonzero(recall >= target_recall)
        return float(thresholds[ok.max()]) if ok.size else float(thresholds.min())
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def reliability_table(y_true: Labels, scores: Scores, bins: int = 10) -> dict[str, Any]:
    """Calibration: per score bin, how many texts, mean score and observed positive rate,
    plus the expected calibration error (ECE, weighted mean |score - rate|)."""
    y, s = _arrays(y_true, scores)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(s, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        mean = float(s[mask].mean()) if n else None
        rate = float(y[mask].mean()) if n else None
        if n:
            ece += n / len(y) * abs(mean - rate)  # type: ignore[operator]
        rows.append(
            {
                "low": round(float(edges[b]), 3),
                "high": round(float(edges[b + 1]), 3),
                "count": n,
                "mean_score": mean,
                "positive_rate": rate,
            }
        )
    return {"bins": rows, "ece": ece}


def _at(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, Any]:
    predicted = s >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    tn = int((~predicted & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "examples": int(len(y)),
        "positives": int(y.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / len(y) if len(y) else 0.0,
        "confusion_matrix": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }


def evaluate(
    y_true: Labels,
    scores: Scores,
    threshold: float = 0.5,
    *,
    sources: Sequence[str] | None = None,
    bins: int = 10,
) -> dict[str, Any]:
    """Precision, recall, F1 at `threshold`, ROC-AUC, PR-AUC (average precision), confusion
    matrix, calibration, and the same per source when `sources` is given."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, s = _arrays(y_true, scores)
    out: dict[str, Any] = {"threshold": float(threshold), **_at(y, s, threshold)}
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, s)) if both else None
    out["pr_auc"] = float(average_precision_score(y, s)) if both else None
    out["calibration"] = reliability_table(y, s, bins)
    if sources is not None:
        names = np.asarray(sources)
        out["by_source"] = {
            name: evaluate(y[names == name], s[names == name], threshold, bins=bins)
            for name in sorted(set(names.tolist()))
        }
        for part in out["by_source"].values():
            part.pop("calibration")
    return out


def agreement(
    reference: Scores, candidate: Scores, threshold: float = 0.5, *, digits: int = 4
) -> dict[str, Any]:
    """How closely `candidate` scores follow `reference` scores for the same texts: the share
    given the same label at `threshold` and the largest score difference, rounded to `digits`.

    This is the check of an export against the weights it came from (ONNX int8 against fp32
    torch: ``scripts/build_models.py`` records it in the models' manifest, and
    ``benchmarks/default_model.py`` measures it again on other inputs).
    """
    ref = np.asarray(reference, dtype=float)
    got = np.asarray(candidate, dtype=float)
    if ref.shape != got.shape:
        raise ConfigError(f"{len(ref)} reference scores but {len(got)} candidate scores")
    if not len(ref):
        raise ConfigError("no scores to compare")
    same = int(np.count_nonzero((ref >= threshold) == (got >= threshold)))
    return {
        "texts": len(ref),
        "label_agreement": round(same / len(ref), digits),
        "max_score_difference": round(float(np.abs(ref - got).max()), digits),
    }


def write_metrics(metrics: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write metrics as JSON (the PR curve goes next to it, see `write_pr_curve`)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return file


def write_pr_curve(
    y_true: Labels,
    scores: Scores,
    path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    title: str = "precision-recall",
) -> Path:
    """A precision-recall curve PNG, marking the operating threshold (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PluginError("the PR curve needs: pip install 'adverse-events[train]'") from exc
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y, s = _arrays(y_true, scores)
    precision, recall, _ = precision_recall_curve(y, s)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    ax.plot(recall, precision, label=f"AP = {average_precision_score(y, s):.3f}")
    if threshold is not None:
        point = _at(y, s, threshold)
        ax.scatter(
            [point["recall"]],
            [point["precision"]],
            color="red",
            zorder=3,
            label=f"threshold {threshold:.3f}: F1 {point['f1']:.3f}",
        )
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(file)
    plt.close(fig)
    return file
