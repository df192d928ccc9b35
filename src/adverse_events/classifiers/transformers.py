"""`TransformersClassifier`: a sequence-classification model from a directory or the hub.

Loads what ``adverse-events train --model <hub id or path>`` saved (``save_pretrained`` files,
tokenizer, ``adverse_events.json``) and applies the saved threshold to P(positive label). A hub
model without ``adverse_events.json`` works too: its ``id2label`` gives the labels and the
positive label is ``adverse_event`` or the label named like it (``Related``, ``ADE``, ...).
Needs ``pip install 'adverse-events[torch]'``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adverse_events.classifiers._model_dir import MODEL_INFO_FILE, ModelInfo, read_model_info
from adverse_events.errors import ConfigError, PermanentBackendError, PluginError
from adverse_events.protocols import Backend
from adverse_events.records import Prediction

__all__ = ["TransformersClassifier"]

_POSITIVE_NAMES = ("adverse_event", "related", "ade", "adr", "positive", "label_1")


class TransformersClassifier(Backend):
    """Scores texts with a transformers model; P(positive label) >= threshold is an event.

    Args:
        model: a model directory or a Hugging Face hub id.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        precision: ``"auto"`` (fp32 here; the fast backend picks bf16/fp16), or ``"fp32"``.
        batch_size: texts per forward pass.
        max_length: tokens per text (default: the tokenizer's limit, at most 512).
        compile: accepted for compatibility with the fast backend; this one never compiles.
        threshold: overrides the threshold in ``adverse_events.json``.
    """

    name = "transformers"

    def __init__(
        self,
        model: str | os.PathLike[str],
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 32,
        max_length: int | None = None,
        compile: bool = False,
        threshold: float | None = None,
    ):
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"classifier.threshold must be in [0, 1], not {threshold}")
        if batch_size < 1:
            raise ConfigError(f"classifier.batch_size must be >= 1, not {batch_size}")
        if precision not in ("auto", "fp32"):
            raise ConfigError(f"classifier.precision {precision!r}: this backend runs fp32 "
                              "only; use 'auto' or 'fp32'")  # fmt: skip
        self.model_name = str(model)
        self.device_option, self.precision = device, precision
        self.batch_size, self.max_length, self.compile = batch_size, max_length, compile
        self.threshold_override = threshold
        self._info: ModelInfo | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        local = Path(self.model_name)
        if local.is_dir() and (local / MODEL_INFO_FILE).is_file():
            self._info = read_model_info(local)
            if self._info.kind != "transformers":
                raise ConfigError(f"{local} holds a {self._info.kind!r} model; use "
                                  f"type = {self._info.kind!r}")  # fmt: skip
        self.labels: tuple[str, ...] = tuple(self._info.labels) if self._info else ()

    @property
    def threshold(self) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return self._info.threshold if self._info else 0.5

    def open(self) -> None:
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        try:
            import torch
            import transformers as tf
        except ImportError as exc:
            raise PluginError("classifier 'transformers' needs: pip install "
                              "'adverse-events[torch]'") from exc  # fmt: skip
        try:
            tokenizer = tf.AutoTokenizer.from_pretrained(self.model_name)
            model = tf.AutoModelForSequenceClassification.from_pretrained(self.model_name)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"classifier.model {self.model_name!r}: cannot load: {exc}") \
                from exc
        device = self.device_option
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._device = torch.device(device)
        self._model = model.to(self._device).eval()
        self._tokenizer = tokenizer
        names = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if self._info is None:
            self._info = ModelInfo(kind="transformers", labels=names,
                                   positive_label=_guess_positive(names, self.model_name))
        elif names != self._info.labels:
            raise ConfigError(f"{self.model_name}: model labels {names} differ from "
                              f"{MODEL_INFO_FILE} labels {self._info.labels}")
        self.labels = tuple(names)
        limit = getattr(tokenizer, "model_max_length", 512) or 512
        self._max_length = self.max_length or min(int(limit), 512)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        self.open()
        import torch

        assert self._info is not None
        positive = self._info.labels.index(self._info.positive_label)
        out: list[Prediction] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [str(t) for t in texts[start:start + self.batch_size]]
            try:
                encoded = self._tokenizer(batch, truncation=True, padding=True,
                                          max_length=self._max_length, return_tensors="pt")
                with torch.inference_mode():
                    logits = self._model(**encoded.to(self._device)).logits
                proba = torch.softmax(logits.float(), dim=-1).cpu().tolist()
            except RuntimeError as exc:  # torch errors (device, shapes) at the edge
                raise PermanentBackendError(str(exc), backend=self.name) from exc
            out.extend(self._prediction(row, positive) for row in proba)
        return out

    def _prediction(self, row: list[float], positive: int) -> Prediction:
        assert self._info is not None
        labels = self._info.labels
        score = min(1.0, max(0.0, row[positive]))
        is_event = score >= self.threshold
        others = [(p, label) for i, (label, p) in enumerate(zip(labels, row, strict=True))
                  if i != positive]
        label = labels[positive] if is_event else max(others)[1]
        return Prediction(label=label, score=score,
                          probabilities={lab: float(p) for lab, p in zip(labels, row, strict=True)},
                          is_adverse_event=is_event, model=f"transformers:{self.model_name}")

    def close(self) -> None:
        self._model = None
        self._tokenizer = None

    def __repr__(self) -> str:
        return f"TransformersClassifier(model={self.model_name!r})"


def _guess_positive(names: Sequence[str], model: str) -> str:
    for name in names:
        if name.lower().replace("-", "_") in _POSITIVE_NAMES:
            return name
    raise ConfigError(f"{model}: which label is the adverse event? labels are {list(names)}; "
                      f"train with `adverse-events train` to write {MODEL_INFO_FILE}")
