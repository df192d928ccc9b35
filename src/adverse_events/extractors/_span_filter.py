"""A second-stage filter for candidate adverse-event spans: logistic regression, plain JSON.

The CRF and the phrase dictionary propose spans; many wrong ones are fluent patient phrases in
the wrong place ("felt relaxed", "lasted about 2 weeks", an indication, a withdrawal symptom).
Whether a span is a reaction depends on the whole sentence, which a linear-chain CRF sees only
through a small window, so this filter scores each candidate from its words, its neighbours,
the sentence's words, the CRF's confidence and how often the phrase was a mention in training.
It is trained on out-of-fold candidates (models that never saw the sentence proposed them), and
its threshold is calibrated there too, so nothing is tuned on held-out data. The weights are a
JSON dict, so loading a model runs no code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SpanFilter", "best_threshold", "fit_span_filter", "is_content_word", "span_features"]

_STOP = frozenset(
    "a an the and or but so to of in on at for with from by as is am are was were be been being "
    "it its it's i i'm i've me my mine you your he she his her we our they them their this that "
    "these those there here what which who when where how than then too very just also only "
    "really still even now up out off over again some any all each more most much many such "
    "can could would should will may might must do does did done have has had having get got "
    "go went make made take took day days week weeks month months year years time times first "
    "one two three after before while since about into like feel feeling felt".split()
)


def is_content_word(word: str) -> bool:
    """A word of 3+ letters that is not a function word or a time/feeling filler."""
    return word.isalpha() and len(word) > 2 and word not in _STOP


def span_features(
    lows: Sequence[str],
    i: int,
    j: int,
    source: str,
    score: float,
    stats: tuple[int, int] | None,
    drug_in_sentence: bool,
) -> dict[str, float]:
    """Features of the candidate span ``lows[i:j]`` in its (lower-cased) sentence."""
    feats: dict[str, float] = {f"src={source}": 1.0, f"len={min(j - i, 6)}": 1.0}
    if source == "crf":
        feats["crf_score"] = score
    if stats is None:
        feats["ph_unseen"] = 1.0
    else:
        hits, seen = stats
        feats["ph_prec"] = (hits + 1) / (seen + 2)
        feats["ph_logn"] = math.log1p(seen)
    for word in lows[i:j]:
        feats[f"w={word}"] = 1.0
    feats[f"first={lows[i]}"] = 1.0
    feats[f"last={lows[j - 1]}"] = 1.0
    feats[f"p1={lows[i - 1] if i > 0 else '<s>'}"] = 1.0
    feats[f"p2={lows[i - 2] if i > 1 else '<s>'}"] = 1.0
    feats[f"n1={lows[j] if j < len(lows) else '</s>'}"] = 1.0
    for word in lows:
        if word.isalpha() and len(word) > 1:
            feats[f"sw={word}"] = 1.0
    if drug_in_sentence:
        feats["drug_in_sentence"] = 1.0
    if not any(is_content_word(w) for w in lows[i:j]):
        feats["no_content_word"] = 1.0
    feats[f"sent_len={min(len(lows) // 5, 8)}"] = 1.0
    return feats


@dataclass
class SpanFilter:
    """Logistic regression over sparse features; keeps spans with probability >= threshold."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def probability(self, feats: dict[str, float]) -> float:
        weights = self.weights
        z = self.bias + sum(v * weights.get(k, 0.0) for k, v in feats.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {"bias": self.bias, "threshold": self.threshold, "weights": self.weights}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpanFilter:
        return cls(
            {str(k): float(v) for k, v in data["weights"].items()},
            float(data["bias"]),
            float(data["threshold"]),
        )


def fit_span_filter(
    rows: Sequence[dict[str, float]], labels: Sequence[int], c: float = 1.0
) -> SpanFilter:
    """Fit the filter (scikit-learn, L2) on candidate features and 0/1 labels."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(rows)
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, list(labels))
    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): round(float(w), 5)
        for name, w in zip(names, model.coef_[0], strict=True)
        if abs(w) >= 1e-4
    }
    return SpanFilter(weights, float(model.intercept_[0]), 0.5)


_GRID = tuple(n / 20 for n in range(2, 17))


def best_threshold(
    candidates: Sequence[Sequence[tuple[int, int, float]]],
    gold: Sequence[Sequence[tuple[int, int]]],
    grid: Sequence[float] = _GRID,
) -> tuple[float, float]:
    """(threshold, partial-overlap F1) maximising F1 of the kept candidates against `gold`.

    `candidates` holds, per text, ``(start, end, probability)``; `gold` the gold spans.
    """
    best = (0.5, -1.0)
    n_gold = sum(len(g) for g in gold)
    for threshold in grid:
        kept = tp_p = tp_r = 0
        for cands, spans in zip(candidates, gold, strict=True):
            keep = [(s, e) for s, e, p in cands if p >= threshold]
            kept += len(keep)
            tp_p += sum(any(s < ge and gs < e for gs, ge in spans) for s, e in keep)
            tp_r += sum(any(s < ge and gs < e for s, e in keep) for gs, ge in spans)
        precision = tp_p / kept if kept else 0.0
        recall = tp_r / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best[1]:
            best = (threshold, f1)
    return best
