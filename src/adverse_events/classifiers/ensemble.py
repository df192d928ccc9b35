"""`EnsembleClassifier`: several binary classifiers voting by their mean log-odds.

Each member scores a text (its probability of the adverse-event class); the ensemble's score is
the sigmoid of the members' weighted mean log-odds, and a text is an adverse event when that
score reaches `threshold`. Members that err differently (a fine-tuned encoder reads meaning, a
TF-IDF model reads words) can make fewer errors together: on reviews of drugs neither saw, the
mean-pooled encoder + TF-IDF pair did better than either alone (``benchmarks/results/
transfer.md``); the multi-task encoder of the shipped recipe gained nothing from the pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.protocols import Backend, Classifier
from adverse_events.records import Prediction

__all__ = ["EnsembleClassifier", "mean_log_odds"]

_EPSILON = 1e-6


def _logit(p: float) -> float:
    p = min(1.0 - _EPSILON, max(_EPSILON, p))
    return math.log(p / (1.0 - p))


def mean_log_odds(scores: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The probability whose log-odds are the (weighted) mean of the scores' log-odds."""
    weights = weights or [1.0] * len(scores)
    z = sum(w * _logit(s) for w, s in zip(weights, scores, strict=True)) / sum(weights)
    return 1.0 / (1.0 + math.exp(-z))


class EnsembleClassifier(Backend):
    """Mean log-odds of `members`' adverse-event probabilities, cut at `threshold`.

    Args:
        members: binary classifiers (each a `Classifier`); their first one names the labels.
        threshold: the ensemble probability at and above which a text is an adverse event.
        weights: one weight per member (default: equal).
    """

    name = "ensemble"

    def __init__(
        self,
        members: Sequence[Classifier],
        threshold: float = 0.5,
        weights: Sequence[float] | None = None,
    ):
        if len(members) < 1:
            raise ConfigError("an ensemble needs at least one member classifier")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, not {threshold!r}")
        if weights is not None and (
            len(weights) != len(members) or any(w < 0 for w in weights) or sum(weights) <= 0
        ):
            raise ConfigError(
                f"weights must be one non-negative number per member ({len(members)}), "
                f"not all zero; got {list(weights)}"
            )
        self.members, self.threshold = tuple(members), threshold
        self.weights = tuple(weights) if weights is not None else None

    def __repr__(self) -> str:
        return f"EnsembleClassifier(members={list(self.members)!r}, threshold={self.threshold})"

    @property
    def labels(self) -> Sequence[str]:
        return self.members[0].labels

    def _label_pair(self, prediction: Prediction) -> tuple[str, str]:
        """(negative, positive) label names, from the first member."""
        labels = list(self.labels)
        positive = getattr(self.members[0], "positive_label", None)
        if positive not in labels:
            positive = prediction.label if prediction.is_adverse_event else labels[-1]
        negative = next((label for label in labels if label != positive), "not_" + positive)
        return negative, positive

    def open(self) -> None:
        for member in self.members:
            opener: Any = getattr(member, "open", None)
            if opener is not None:
                opener()

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        votes = [member.classify(texts) for member in self.members]
        out: list[Prediction] = []
        for row in zip(*votes, strict=True):
            score = mean_log_odds([p.score for p in row], self.weights)
            negative, positive = self._label_pair(row[0])
            is_event = score >= self.threshold
            out.append(
                Prediction(
                    label=positive if is_event else negative,
                    score=score,
                    probabilities={negative: 1.0 - score, positive: score},
                    is_adverse_event=is_event,
                    model="+".join(p.model or "?" for p in row),
                )
            )
        return out

    def close(self) -> None:
        for member in self.members:
            closer: Any = getattr(member, "close", None)
            if closer is not None:
                closer()
