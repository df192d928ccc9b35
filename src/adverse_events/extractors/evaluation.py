"""Span-level precision, recall and F1 of an extractor against gold spans.

* exact: a predicted mention counts when a gold span of the same category has the same start
  and end.
* partial: a predicted mention counts when it overlaps a gold span of the same category
  (precision); a gold span counts as found when any predicted mention of its category
  overlaps it (recall).

Only the categories a corpus annotates are scored (PsyTAR annotates adverse events only).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from adverse_events.extractors.corpora import CATEGORIES, SpanExample
from adverse_events.protocols import Extractor

__all__ = ["Scores", "evaluate_extractor", "score_spans"]


@dataclass
class Scores:
    """Counts and the P/R/F1 derived from them."""

    gold: int = 0
    predicted: int = 0
    tp_precision: int = 0
    tp_recall: int = 0

    @property
    def precision(self) -> float:
        return self.tp_precision / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp_recall / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score_spans(
    gold: Sequence[Sequence[tuple[int, int, str]]],
    predicted: Sequence[Sequence[tuple[int, int, str]]],
    categories: Sequence[str] = CATEGORIES,
) -> dict[str, dict[str, Scores]]:
    """``{category: {"exact": Scores, "partial": Scores}}`` over aligned lists of spans."""
    out = {c: {"exact": Scores(), "partial": Scores()} for c in categories}
    for gold_spans, pred_spans in zip(gold, predicted, strict=False):
        for category in categories:
            g = [(s, e) for s, e, c in gold_spans if c == category]
            p = [(s, e) for s, e, c in pred_spans if c == category]
            exact, partial = out[category]["exact"], out[category]["partial"]
            for scores in (exact, partial):
                scores.gold += len(g)
                scores.predicted += len(p)
            exact.tp_precision += len(set(p) & set(g))
            exact.tp_recall += len(set(g) & set(p))
            partial.tp_precision += sum(any(_overlaps(x, y) for y in g) for x in p)
            partial.tp_recall += sum(any(_overlaps(y, x) for x in p) for y in g)
    return out


def evaluate_extractor(
    extractor: Extractor, examples: Sequence[SpanExample], batch_size: int = 256
) -> dict[str, Any]:
    """Run `extractor` over the examples' texts and score its mentions per category."""
    categories = [c for c in CATEGORIES if any(c in ex.annotated for ex in examples)]
    started = time.perf_counter()
    predicted: list[list[tuple[int, int, str]]] = []
    texts = [ex.text for ex in examples]
    for i in range(0, len(texts), batch_size):
        for mentions in extractor.extract(texts[i : i + batch_size]):
            predicted.append([(m.start, m.end, m.category) for m in mentions])
    seconds = time.perf_counter() - started
    gold = [list(ex.spans) for ex in examples]
    scores = score_spans(gold, predicted, categories)
    return {
        "texts": len(examples),
        "groups": len({ex.group for ex in examples}),
        "seconds": round(seconds, 2),
        "scores": {c: {k: v.to_dict() for k, v in s.items()} for c, s in scores.items()},
    }
