"""`DefaultClassifier`: the shipped detector, the best one this install can run.

With ``onnxruntime`` and ``tokenizers`` (``pip install 'adverse-events[onnx]'``) and the TF-IDF
runtime (scikit-learn, in the ``train`` and ``extract`` extras), it is the ensemble the recipe
was chosen on: the fine-tuned encoder (``adverse_events.models``, ONNX int8) and the shipped
TF-IDF model, mean log-odds cut at `ENSEMBLE_THRESHOLD` (`EnsembleClassifier`). With only one of
the two runtimes it runs that model alone, with a one-line notice saying how to get the rest.
Predictions name the models that made them (``Prediction.model``), so stored records show which
ran.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from adverse_events.classifiers.transformers.engines import has_module
from adverse_events.errors import ConfigError, PluginError
from adverse_events.protocols import Backend
from adverse_events.records import Prediction

__all__ = ["ENSEMBLE_THRESHOLD", "DefaultClassifier", "encoder_available", "tfidf_available"]

log = logging.getLogger(__name__)

#: The ensemble's cut: log-odds 0. Both members are trained with class weights, so 0.5 is their
#: balanced point; a cut chosen on the ~130 validation sentences of a cross-drug split moved
#: F1 by up to 0.03 between seeds (docs/benchmarks.md), the fixed one did not.
ENSEMBLE_THRESHOLD = 0.5


def encoder_available() -> bool:
    """True when the runtime the shipped encoder needs is installed."""
    return all(has_module(m) for m in ("onnxruntime", "tokenizers"))


def tfidf_available() -> bool:
    """True when the runtime the shipped TF-IDF model needs is installed."""
    return all(has_module(m) for m in ("sklearn", "scipy", "numpy"))


class DefaultClassifier(Backend):
    """The shipped encoder + TF-IDF ensemble, or whichever of the two this install can run.

    Args:
        threshold: overrides the shipped threshold (of the ensemble, or of the one model).
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
        encoder, tfidf = encoder_available(), tfidf_available()
        if encoder and tfidf:
            from adverse_events.classifiers.ensemble import EnsembleClassifier

            threshold = self.threshold_option
            members = [self._encoder(None), self._tfidf(None)]
            return EnsembleClassifier(
                members, threshold=ENSEMBLE_THRESHOLD if threshold is None else threshold
            )
        if encoder:
            log.warning(
                "default classifier: scikit-learn not installed, using the fine-tuned encoder "
                "alone; pip install 'adverse-events[train]' for the encoder + TF-IDF ensemble"
            )
            return self._encoder(self.threshold_option)
        if tfidf:
            log.warning(
                "default classifier: onnxruntime/tokenizers not installed, using the light "
                "TF-IDF model; pip install 'adverse-events[onnx]' for the fine-tuned encoder"
            )
            return self._tfidf(self.threshold_option)
        raise PluginError(
            "classifier 'default' needs onnxruntime + tokenizers or scikit-learn: "
            "pip install 'adverse-events[onnx,train]'"
        )

    def _encoder(self, threshold: float | None) -> Any:
        from adverse_events.classifiers.transformers import TransformersClassifier

        return TransformersClassifier(
            "builtin", threshold=threshold, batch_size=self.batch_size, num_threads=self.num_threads
        )

    @staticmethod
    def _tfidf(threshold: float | None) -> Any:
        from adverse_events.classifiers.tfidf import TfidfClassifier

        return TfidfClassifier("builtin", threshold=threshold)

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
