"""The fine-tuning recipe of the shipped default classifier, chosen on TRANSFER, in code.

`DEFAULT_ENCODER_RECIPE` is what ``benchmarks/transfer.py`` found to hold up best on drugs and
corpora the model never saw (train on Lexapro reviews, test on Zoloft, and the reverse; ADE
corpus -> PsyTAR); in-corpus scores did not choose it. Every run tried, with its figures, is in
``benchmarks/results/transfer.md`` and ``docs/benchmarks.md`` ("Choosing the default detector on
transfer").

`train_default_encoder` applies it to ALL the data it is given: a grouped validation part
(`EncoderRecipe.validation_size`, whole documents) picks the best epoch and the threshold, every
other example trains; nothing is held out as a test part, so the model directory's metrics are
validation metrics only and its honest figures are the recipe's transfer figures. The directory
is a normal one (``save_pretrained`` files, tokenizer, ``adverse_events.json`` with the recipe
under ``recipe``) that `TransformersClassifier` loads.

    from adverse_events.training.recipes import train_default_encoder
    from adverse_events.training.workflow import load_data

    data = load_data(["sentences.csv"], label_column="ADR", group_column="post_id")
    train_default_encoder(data, "model/", "sentence-transformers/all-MiniLM-L6-v2")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.model_dir import write_model_info
from adverse_events.training.datasets import Dataset
from adverse_events.training.splits import Split, make_split
from adverse_events.training.transformers import TransformerOptions
from adverse_events.training.workflow import TrainResult, cross_validate, train

__all__ = [
    "DEFAULT_BASE_MODEL",
    "DEFAULT_ENCODER_RECIPE",
    "EncoderRecipe",
    "all_data_split",
    "auxiliary_column_list",
    "train_default_encoder",
    "train_with_recipe",
    "transformer_options",
]

log = logging.getLogger(__name__)

#: The encoder the recipe was tuned for (a hub id; any local copy of it works the same).
DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class EncoderRecipe:
    """Everything that decides a fine-tuned encoder besides its data and seed.

    `options`: the `TransformerOptions` (their ``seed`` is replaced by the run's seed);
    `validation_size`: the grouped part of the data that picks the epoch and the threshold;
    `threshold`: the threshold rule, ``"best-f1"`` on that validation part or a number, a
    fixed cut (the validation part then only picks the epoch);
    `preprocess`: text preprocessing recorded in the model (`adverse_events.text.social`);
    `auxiliary_columns`: label columns trained as extra tasks (`training.multitask`); the data
    must be loaded with them (``load_data(..., auxiliary_columns=recipe.auxiliary_columns)``).
    """

    name: str
    options: TransformerOptions = field(default_factory=TransformerOptions)
    validation_size: float = 0.1
    threshold: str | float = "best-f1"
    preprocess: str | None = None
    auxiliary_columns: tuple[str, ...] = ()

    def transformer_options(
        self, seed: int, *, progress: bool = False, device: str = "auto"
    ) -> dict[str, Any]:
        """The options as `workflow.train` takes them."""
        return {**asdict(self.options), "seed": seed, "progress": progress, "device": device}

    @property
    def fixed_threshold(self) -> float | None:
        """The fixed cut, or None when the threshold is chosen on validation (``"best-f1"``)."""
        return None if self.threshold == "best-f1" else float(self.threshold)

    def describe(self) -> dict[str, Any]:
        """What goes into ``adverse_events.json`` (and a shipped model's manifest)."""
        options = asdict(self.options)
        for key in ("seed", "progress", "device"):
            options.pop(key)
        return {
            "name": self.name,
            "options": options,
            "validation_size": self.validation_size,
            "threshold": self.threshold,
            "preprocess": self.preprocess,
            "auxiliary_columns": list(self.auxiliary_columns),
        }


#: The recipe of the shipped default encoder classifier (docs/benchmarks.md has the search):
#: the issue's baseline (4 epochs, batch 32, learning rate 5e-5, 10 % warm-up, class-weighted
#: loss, 128 tokens) with the token-mean head instead of BERT's untrained pooler, PsyTAR's five
#: other sentence labels (withdrawal, effective, ineffective, sign/symptom/illness, drug
#: indication) trained as extra tasks, and a fixed cut at 0.5 instead of the best-F1
#: threshold of ~125 validation sentences (which did not transfer). Transfer F1 at 0.5
#: (all-MiniLM-L6-v2, seeds 42 / 7 / 13): Lexapro -> Zoloft 0.800 +- 0.007 (TF-IDF 0.758),
#: Zoloft -> Lexapro 0.804 +- 0.003 (TF-IDF 0.748). No text preprocessing: the social
#: normaliser did not help the tweet-style copies when applied at inference.
DEFAULT_ENCODER_RECIPE = EncoderRecipe(
    name="minilm-transfer-v2",
    options=TransformerOptions(
        epochs=4.0,
        batch_size=32,
        max_seq_length=128,
        learning_rate=5e-5,
        warmup_ratio=0.1,
        class_weighting=True,
        early_stopping_patience=2,
        pooling="mean",
        auxiliary_weight=1.0,
    ),
    threshold=0.5,
    auxiliary_columns=("WD", "EF", "INF", "SSI", "DI"),
)


def all_data_split(data: Dataset, validation_size: float, seed: int) -> Split:
    """Every (deduplicated) example in train except a grouped, stratified validation part;
    the test part is empty."""
    inner = make_split(data, "grouped", seed=seed, test_size=validation_size, validation_size=0.0)
    return Split("grouped-all", seed, data, inner.train, inner.test, [], removed=inner.removed)


def train_default_encoder(
    data: Dataset,
    output: str | os.PathLike[str],
    base_model: str = DEFAULT_BASE_MODEL,
    seed: int = 42,
    *,
    recipe: EncoderRecipe = DEFAULT_ENCODER_RECIPE,
    progress: bool = False,
    device: str = "auto",
) -> TrainResult:
    """Fine-tune `base_model` (hub id or local path) on all of `data` with `recipe` and write a
    model directory to `output` that `TransformersClassifier` loads.

    The recipe's auxiliary tasks train on the auxiliary labels `data` carries (PsyTAR's, loaded
    with ``load_data(..., auxiliary_columns=recipe.auxiliary_columns)``); those it lacks are
    left out with a warning, and the model's recorded recipe says which were used."""
    recipe = _with_auxiliary_labels_of(data, recipe)
    parts = all_data_split(data, recipe.validation_size, seed)
    result = train(
        data,
        base_model,
        output,
        split="grouped",
        seed=seed,
        parts=parts,
        options=recipe.transformer_options(seed, progress=progress, device=device),
        preprocess=recipe.preprocess,
        fixed_threshold=recipe.fixed_threshold,
    )
    info = result.info.model_copy(update={"recipe": recipe.describe()})
    write_model_info(Path(output), info)
    return TrainResult(result.output, info, result.split)


def _with_auxiliary_labels_of(data: Dataset, recipe: EncoderRecipe) -> EncoderRecipe:
    """`recipe` with only the auxiliary columns `data` carries (a warning names the others)."""
    from adverse_events.training.multitask import auxiliary_names  # needs torch, as training

    carried = set(auxiliary_names(data.examples))
    kept = tuple(c for c in recipe.auxiliary_columns if c in carried)
    if kept != recipe.auxiliary_columns:
        lacking = ", ".join(c for c in recipe.auxiliary_columns if c not in carried)
        log.warning(
            "recipe %s: the data has no %s label(s), so those extra tasks are left out; load "
            "them with load_data(..., auxiliary_columns=[...]) to train them",
            recipe.name,
            lacking,
        )
    return replace(recipe, auxiliary_columns=kept)


def transformer_options(model: str, recipe: str | None, flags: Mapping[str, Any]) -> dict[str, Any]:
    """The training options of `model`: the named `recipe`'s (``"default"`` or None), then every
    flag that is not None over them.

    `flags` are named as `TransformerOptions` fields (``epochs``, ``layer_lr_decay``, ...); the
    messages name them as ``adverse-events train`` spells them (``--layer-lr-decay``). The
    TF-IDF model (``model="tfidf"``) takes none: a recipe or a flag for it is a `ConfigError`,
    as is a recipe name other than ``"default"``.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    if model == "tfidf":
        if recipe or given:
            flag = "recipe" if recipe else next(iter(given)).replace("_", "-")
            raise ConfigError(f"--{flag} is a transformers option; --model tfidf takes none")
        return {}
    options: dict[str, Any] = {}
    if recipe is not None:
        if recipe != "default":
            raise ConfigError(f"--recipe must be 'default', not {recipe!r}")
        options = {
            k: v
            for k, v in DEFAULT_ENCODER_RECIPE.transformer_options(0).items()
            if k not in ("seed", "progress", "device")
        }
    return {**options, **given}


def auxiliary_column_list(model: str, columns: str | None) -> tuple[str, ...]:
    """``--auxiliary-columns WD,EF`` as a tuple; a `ConfigError` for the TF-IDF model (it
    trains on one label)."""
    names = tuple(c.strip() for c in (columns or "").split(",") if c.strip())
    if names and model == "tfidf":
        raise ConfigError("--auxiliary-columns is a transformers option; --model tfidf takes none")
    return names


def train_with_recipe(
    data: Dataset,
    model: str,
    output: str | os.PathLike[str],
    *,
    recipe: str | None = None,
    options: Mapping[str, Any] | None = None,
    preprocess: str | None = None,
    split: str = "grouped",
    seed: int = 42,
    target_recall: float | None = None,
    cross_fit: int = 5,
    folds: int = 0,
) -> tuple[TrainResult, dict[str, Any] | None]:
    """`workflow.train` as ``adverse-events train`` runs it; returns the result and, with
    ``folds=K`` (K >= 2), the K-fold cross-validation summary (`workflow.cross_validate`,
    ``cv.json``), else None.

    A transformers model trained with ``recipe="default"`` gets the recipe's preprocessing
    (unless `preprocess` is given) and its fixed threshold (unless `target_recall` is given),
    so the named recipe is applied whole; its auxiliary label columns are the data's to load
    (``--auxiliary-columns``: they are PsyTAR's columns, other data may lack them). `options` are
    `transformer_options`; ``cross_fit=0`` trains TF-IDF on train and thresholds on validation
    only. `folds` other than 0 or at least 2 is a `ConfigError`.
    """
    if folds == 1 or folds < 0:
        raise ConfigError(f"--folds must be 0 (off) or at least 2, not {folds}")
    named = recipe == "default" and model != "tfidf"
    if preprocess is None and named:
        preprocess = DEFAULT_ENCODER_RECIPE.preprocess
    recipe_args: dict[str, Any] = {
        "target_recall": target_recall,
        "options": dict(options or {}),
        "cross_fit": cross_fit or None,
        "preprocess": preprocess,
        "fixed_threshold": (
            DEFAULT_ENCODER_RECIPE.fixed_threshold if named and target_recall is None else None
        ),
    }
    result = train(data, model, output, split=split, seed=seed, **recipe_args)
    if not folds:
        return result, None
    cv = cross_validate(data, model, output, folds=folds, split=split, seed=seed, **recipe_args)
    return result, cv
