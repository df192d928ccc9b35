"""Local Hugging Face sequence classifiers, fast on CPU and GPU.

``classifier`` holds `TransformersClassifier`; ``engines`` the torch / ONNX Runtime forward
passes and what ``auto`` resolves to; ``onnx`` the export, fusion and int8 quantization;
``loading`` the tokenizer, config and model loaders.
"""

from adverse_events.classifiers.transformers.classifier import (
    PRECISIONS,
    RUNTIMES,
    TRUNCATIONS,
    InferenceStats,
    TransformersClassifier,
)

__all__ = ["PRECISIONS", "RUNTIMES", "TRUNCATIONS", "InferenceStats", "TransformersClassifier"]
