"""Classifiers: decide which texts describe an adverse event (shipped default, TF-IDF,
local transformers, SageMaker endpoints).

Every backend is imported on first use, with an install hint when its extra is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adverse_events.protocols import Classifier
from adverse_events.registry import lazy_backends

if TYPE_CHECKING:
    from adverse_events.classifiers.default import DefaultClassifier
    from adverse_events.classifiers.sagemaker import SageMakerClassifier
    from adverse_events.classifiers.tfidf import TfidfClassifier
    from adverse_events.classifiers.transformers import TransformersClassifier

__all__ = [
    "Classifier",
    "DefaultClassifier",
    "SageMakerClassifier",
    "TfidfClassifier",
    "TransformersClassifier",
]

#: public name -> registry name; imported on first use (with an install hint if missing)
_LAZY = {
    "DefaultClassifier": "default",
    "SageMakerClassifier": "sagemaker",
    "TfidfClassifier": "tfidf",
    "TransformersClassifier": "transformers",
}

__getattr__ = lazy_backends(__name__, "classifier", _LAZY)
