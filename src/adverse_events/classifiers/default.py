"""`DefaultClassifier`: the shipped detector, the best one this install can run.

With ``onnxruntime`` and ``tokenizers`` (``pip install 'adverse-events[onnx]'``) it is the
fine-tuned encoder (``adverse_events.models``, ONNX int8) at the cut its recipe fixes (0.5,
in its ``adverse_events.json``); without them, the light TF-IDF model (scikit-learn, in the
``train`` and ``extract`` extras), with a one-line notice saying how to get the encoder. The
recipe was chosen on transfer to drugs it never saw (docs/benchmarks.md): the multi-task
encoder alone at 0.5 did as well as the encoder + TF-IDF ensemble of the previous recipe, with
one model to serve. Predictions name the model that made them (``Prediction.model``), so stored
records show which ran.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from adverse_events.classifiers.transformers.engines import has_module
from adverse_events.errors import ConfigError, PluginError
from adverse_events.protocols import Backend
from adverse_events.records import Prediction

__all__ = ["DefaultClassifier", "encoder_available", "tfidf_available"]

log = logging.getLogger(__name__)


def encoder_available() -> bool:
    """True when the runtime the shipped encoder needs is installed."""
    return all(has_module(m) for m in ("onnxruntime", "tokenizers"))


def tfidf_available() -> bool:
    """True when the runtime the shipped TF-IDF model needs is installed."""
    return all(has_module(m) for m in ("sklearn", "scipy", "numpy"))


class DefaultClassifier(Backend):
    """The shipped encoder, or the shipped TF-IDF model where ONNX Runtime is not installed.

    Args:
        threshold: overrides the shipped model's threshold.
        batch_size: most texts per forward pass of the encoder.
        num_threads: the encoder's intra-op threads (default: the CPUs this process may use).
    """

    name = "default"

    def __init__(
        self, threshold: float | None = None, batch_size: int = 64, num_threads: int | None = None
    ):
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, not {threshold!r}")
        self.threshold_option = threshold
        self.batch_size, self.num_threads = batch_size, num_threads
        self._inner: Any = None

    def __repr__(self) -> str:
        return f"DefaultClassifier(inner={self._inner!r})"

    @property
    def inner(self) -> Any:
        """The classifier that does the work (chosen on first use)."""
        if self._inner is None:
            self._inner = self._choose()
        return self._inner

    def _choose(self) -> Any:
        if encoder_available():
            from adverse_events.classifiers.transformers import TransformersClassifier

            return TransformersClassifier(
                "builtin",
                threshold=self.threshold_option,
                batch_size=self.batch_size,
                num_threads=self.num_threads,
            )
        if tfidf_available():
            from adverse_events.classifiers.tfidf import TfidfClassifier

            log.warning(
                "default classifier: onnxruntime/tokenizers not installed, using the light "
                "TF-IDF model; pip install 'adverse-events[onnx]' for the fine-tuned encoder"
            )
            return TfidfClassifier("builtin", threshold=self.threshold_option)
        raise PluginError(
            "classifier 'default' needs onnxruntime + tokenizers or scikit-learn: "
            "pip install 'adverse-events[onnx]'"
        )

    @property
    def labels(self) -> Sequence[str]:
        return self.inner.labels  # type: ignore[no-any-return]

    def open(self) -> None:
        self.inner.open()

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        return self.inner.classify(texts)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
