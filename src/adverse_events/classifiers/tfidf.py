"""`TfidfClassifier`: the TF-IDF + linear model that `adverse-events train --model tfidf` saves.

The embedded default when no transformer is available, and a cheap first stage. It needs only
scikit-learn (``pip install 'adverse-events[train]'``) and answers thousands of texts a second
on one CPU core.

Bootstrapping (for a laptop demo on a fresh clone): when `model_dir` does not exist yet and
`train_data` is given, the first use trains a model on those files with a grouped split and saves
it to `model_dir`; later runs just load it. In a pipeline TOML file::

    [classifier]
    type = "tfidf"
    model_dir = "models/tfidf-psytar"
    train_data = ["../shared/data/psytar/sentences.csv"]
    label_column = "ADR"
    group_column = "post_id"
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PluginError
from adverse_events.model_dir import ModelInfo, read_model_info
from adverse_events.models import resolve_model
from adverse_events.protocols import Backend
from adverse_events.records import Prediction

__all__ = ["TfidfClassifier"]

log = logging.getLogger(__name__)


class TfidfClassifier(Backend):
    """Scores texts with a saved TF-IDF model; P(positive label) >= threshold is an event.

    Args:
        model_dir: a directory written by ``adverse-events train --model tfidf``, or
            ``"builtin"`` for the shipped TF-IDF model (`adverse_events.models`).
        threshold: overrides the threshold saved in ``adverse_events.json``.
        batch_size: texts vectorised at once (bounds memory on huge batches).
        train_data: files/directories to train from when `model_dir` does not exist yet.
        text_column, label_column, group_column, positive_label: how to read `train_data`.
    """

    name = "tfidf"

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        threshold: float | None = None,
        batch_size: int = 512,
        train_data: Sequence[str | os.PathLike[str]] | None = None,
        text_column: str = "text",
        label_column: str = "label",
        group_column: str | None = "auto",
        positive_label: str | None = None,
        seed: int = 42,
    ):
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"classifier.threshold must be in [0, 1], not {threshold}")
        if batch_size < 1:
            raise ConfigError(f"classifier.batch_size must be >= 1, not {batch_size}")
        if isinstance(train_data, (str, os.PathLike)):
            train_data = [train_data]
        self.model_dir = Path(resolve_model(model_dir, "tfidf"))
        if not self.model_dir.exists() and not train_data:
            raise ConfigError(
                f"classifier.model_dir {str(self.model_dir)!r} does not exist; "
                "train one with `adverse-events train DATA --model tfidf --output "
                "DIR` or set train_data to bootstrap it"
            )
        self.threshold_override = threshold
        self.batch_size = batch_size
        self.train_data = list(train_data or [])
        self.read_options = {
            "text_column": text_column,
            "label_column": label_column,
            "group_column": group_column,
            "positive_label": positive_label,
        }
        self.seed = seed
        self._model: Any = None
        self._preprocess: Callable[[Sequence[str]], list[str]] | None = None
        self._info: ModelInfo | None = None
        self._lock = threading.Lock()
        self.labels: tuple[str, ...] = ()
        if self.model_dir.exists():
            self._read_info()

    def _read_info(self) -> ModelInfo:
        info = read_model_info(self.model_dir)
        if info.kind != "tfidf":
            raise ConfigError(
                f"{self.model_dir} holds a {info.kind!r} model; use type = {info.kind!r}"
            )
        self._info, self.labels = info, tuple(info.labels)
        return info

    @property
    def info(self) -> ModelInfo:
        self.open()
        assert self._info is not None
        return self._info

    @property
    def threshold(self) -> float:
        return (
            self.threshold_override if self.threshold_override is not None else self.info.threshold
        )

    def open(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            if not self.model_dir.exists():
                self._bootstrap()
            try:
                from adverse_events.training.tfidf import TfidfModel
            except ImportError as exc:  # pragma: no cover - needs the extra missing
                raise PluginError(
                    "classifier 'tfidf' needs: pip install 'adverse-events[train]'"
                ) from exc
            info = self._read_info()
            from adverse_events.text.social import get_preprocessor

            self._preprocess = get_preprocessor(info.preprocess)
            self._model = TfidfModel.load(self.model_dir)
            self._positive = self._model.labels.index(info.positive_label)

    def _bootstrap(self) -> None:
        from adverse_events.training.workflow import load_data, train

        log.info(
            "%s does not exist: training a TF-IDF model from %s",
            self.model_dir,
            ", ".join(map(str, self.train_data)),
        )
        data = load_data(self.train_data, **self.read_options)  # type: ignore[arg-type]
        result = train(data, "tfidf", self.model_dir, split="grouped", seed=self.seed)
        log.info("trained %s: test F1 %.3f", self.model_dir, result.info.metrics["test"]["f1"])

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        self.open()
        info, threshold = self.info, self.threshold
        model_name = f"tfidf:{self.model_dir.name}"
        out: list[Prediction] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [str(t) for t in texts[start : start + self.batch_size]]
            if self._preprocess is not None:  # as in training (adverse_events.json)
                batch = self._preprocess(batch)
            proba = self._model.predict_proba(batch)
            for row in proba:
                score = float(min(1.0, max(0.0, row[self._positive])))
                is_event = score >= threshold
                probabilities = {
                    label: float(p) for label, p in zip(self._model.labels, row, strict=True)
                }
                if is_event:
                    label = info.positive_label
                else:  # the most likely other label
                    others = [
                        (p, lab) for lab, p in probabilities.items() if lab != info.positive_label
                    ]
                    label = max(others)[1]
                out.append(
                    Prediction(
                        label=label,
                        score=score,
                        probabilities=probabilities,
                        is_adverse_event=is_event,
                        model=model_name,
                    )
                )
        return out

    def close(self) -> None:
        self._model = None

    def __repr__(self) -> str:
        return f"TfidfClassifier(model_dir={str(self.model_dir)!r})"
