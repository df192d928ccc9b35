"""The model directory's description file, ``adverse_events.json``, shared by every model kind.

A model directory holds the model itself (``save_pretrained`` files for transformers, JSON +
``.npz`` arrays for TF-IDF) and ``adverse_events.json``::

    {"kind": "tfidf" | "transformers", "labels": [...], "positive_label": "adverse_event",
     "threshold": 0.42, "preprocess": null | "social", "metrics": {...}, "data": {...},
     "split": {...manifest...},
     "library_version": "0.1.0", "created_at": "2025-01-01T00:00:00+00:00"}

`threshold` is applied to P(positive label): a text is an adverse event when its score is at
least the threshold. Training chooses it on validation data (best F1 or a target recall).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adverse_events.errors import ConfigError
from adverse_events.version import library_version  # re-exported: its old home

__all__ = [
    "MODEL_INFO_FILE",
    "ModelInfo",
    "library_version",
    "read_model_info",
    "write_model_info",
]

MODEL_INFO_FILE = "adverse_events.json"
KINDS = ("tfidf", "transformers")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ModelInfo(BaseModel):
    """What a model directory says about its model."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description='"tfidf" or "transformers"')
    labels: list[str] = Field(min_length=2)
    positive_label: str
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    metrics: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, Any] = Field(default_factory=dict)
    preprocess: str | None = Field(
        default=None,
        description='text preprocessing applied before scoring, e.g. "social" '
        "(adverse_events.text); training used the same",
    )
    library_version: str = Field(default_factory=library_version)
    created_at: str = Field(default_factory=_now)

    @model_validator(mode="after")
    def _check(self) -> ModelInfo:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.positive_label not in self.labels:
            raise ValueError(
                f"positive_label {self.positive_label!r} is not one of labels {self.labels}"
            )
        return self

    @property
    def negative_label(self) -> str:
        """The label reported for texts below the threshold (the first non-positive one)."""
        return next(label for label in self.labels if label != self.positive_label)


def read_model_info(path: str | os.PathLike[str]) -> ModelInfo:
    """Read ``adverse_events.json`` from a model directory; problems are `ConfigError`s."""
    file = Path(path) / MODEL_INFO_FILE
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file} not found: {path} is not a model directory written by `adverse-events train`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from exc
    try:
        return ModelInfo.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{file}: invalid: {exc}") from exc


def write_model_info(path: str | os.PathLike[str], info: ModelInfo) -> Path:
    """Write ``adverse_events.json`` into `path` (created if needed); returns the file."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / MODEL_INFO_FILE
    file.write_text(
        json.dumps(info.model_dump(mode="json"), indent=2, default=str) + "\n", encoding="utf-8"
    )
    return file
