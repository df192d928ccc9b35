"""Cross-fitting: out-of-fold TF-IDF scores, from which `workflow.train` picks the threshold.

With ``cross_fit=k`` the TF-IDF model's threshold is chosen on scores that k models, each
trained without one fold of train + validation, give to that fold: more data than one small
validation part, so a steadier threshold (docs/benchmarks.md). Benchmarks call the same
function to measure the recipe.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from adverse_events.errors import ConfigError

if TYPE_CHECKING:
    from adverse_events.training.datasets import Dataset

__all__ = ["out_of_fold_scores"]

log = logging.getLogger(__name__)


def out_of_fold_scores(
    data: Dataset, protocol: str, seed: int, folds: int, options: Mapping[str, Any]
) -> np.ndarray | None:
    """P(positive) of each example from a TF-IDF model that did not see its fold (NaN for
    examples no fold covered); None when the data are too small for `folds` folds.

    `protocol` (``"random"`` or ``"grouped"``) splits `data` into folds with ``seed + 7``;
    `options` are `TfidfOptions` fields (an unknown one is a `ConfigError`).
    """
    from adverse_events.training._progress import progress
    from adverse_events.training.splits import kfold
    from adverse_events.training.tfidf import fit_tfidf, options_from

    scores = np.full(len(data), np.nan)
    positive = data.labels.index(data.positive_label)
    opts = options_from(options)
    try:
        parts = list(kfold(data, folds, protocol, seed=seed + 7, validation_size=0.0))
    except ConfigError as exc:
        log.warning("no cross-fitting (%s): threshold from the validation part", exc)
        return None
    with progress(f"cross-fitting ({folds} folds)", total=len(parts)) as advance:
        for part in parts:
            train_part = part.part("train")
            fitted = fit_tfidf(train_part.texts, train_part.y, data.labels, opts)
            scores[part.test] = fitted.predict_proba(part.part("test").texts)[:, positive]
            advance(1)
    return scores
