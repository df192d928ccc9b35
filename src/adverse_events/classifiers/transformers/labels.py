"""What a model directory says about its labels: which they are, which is positive, the
threshold, a version string and the text preprocessing it was trained with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adverse_events.classifiers.transformers.loading import load_config
from adverse_events.errors import ConfigError
from adverse_events.model_dir import MODEL_INFO_FILE, read_model_info

__all__ = ["ModelLabels", "read_labels"]


@dataclass(frozen=True)
class ModelLabels:
    """A model's labels (in output order), its positive label, threshold and version."""

    labels: tuple[str, ...]
    positive: str
    threshold: float
    version: str
    preprocess: str | None = None


def read_labels(model: str, threshold: float | None) -> ModelLabels:
    """Labels, positive label, threshold and version from adverse_events.json or config.json.

    `threshold` overrides the file's (default 0.5 for a plain Hugging Face directory, whose
    last label is taken as the positive one).
    """
    path = Path(model)
    if (path / MODEL_INFO_FILE).exists():
        info = read_model_info(path)
        version = f"{path.name}@{info.created_at}"
        chosen = info.threshold if threshold is None else threshold
        return ModelLabels(
            tuple(info.labels), info.positive_label, chosen, version, info.preprocess
        )
    config = load_config(model)
    id2label = {int(k): v for k, v in (config.id2label or {}).items()}
    labels = tuple(id2label[i] for i in sorted(id2label))
    if len(labels) < 2:
        raise ConfigError(f"model {model!r} has {len(labels)} label(s); a classifier needs 2+")
    chosen = 0.5 if threshold is None else threshold
    return ModelLabels(labels, labels[-1], chosen, path.name or model)
