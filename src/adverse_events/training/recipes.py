"""PROVISIONAL (replaced by the recipe search's module): the default encoder recipe."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from adverse_events.training.datasets import Dataset
from adverse_events.training.transformers import TransformerOptions
from adverse_events.training.workflow import TrainResult, train

__all__ = ["DEFAULT_ENCODER_RECIPE", "describe", "train_default_encoder"]

DEFAULT_ENCODER_RECIPE = TransformerOptions(epochs=4, batch_size=32, progress=False)


def describe(recipe: TransformerOptions) -> dict[str, Any]:
    return dataclasses.asdict(recipe)


def train_default_encoder(
    data: Dataset, output: str | os.PathLike[str], base_model: str, seed: int = 42,
    **overrides: Any,
) -> TrainResult:
    options = dataclasses.replace(DEFAULT_ENCODER_RECIPE, seed=seed, **overrides)
    return train(data, base_model, output, split="grouped", seed=seed,
                 options=dataclasses.asdict(options))
