"""Train and evaluate end to end: load, split, fit, pick a threshold, measure, save.

This is what ``adverse-events train`` and ``adverse-events evaluate`` run. The threshold is
chosen on the validation part only; the test part is touched once, for the reported metrics.
A model directory gets ``adverse_events.json``, ``metrics.json``, ``pr_curve.png`` and
``split/manifest.json`` next to the model files.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adverse_events.errors import ConfigError
from adverse_events.model_dir import ModelInfo, read_model_info, write_model_info
from adverse_events.training import datasets as ds
from adverse_events.training.cross_fit import out_of_fold_scores
from adverse_events.training.metrics import (
    choose_threshold,
    evaluate,
    write_metrics,
    write_pr_curve,
)
from adverse_events.training.splits import Split, make_split, write_split

__all__ = ["TrainResult", "cross_validate", "evaluate_model", "load_data", "train"]

log = logging.getLogger(__name__)
Scorer = Callable[[Sequence[str]], np.ndarray]


@dataclass
class TrainResult:
    """Where the model went, what it says about itself and the split it was measured on."""

    output: Path
    info: ModelInfo
    split: Split


def load_data(
    locations: Sequence[str | os.PathLike[str]],
    *,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "auto",
    id_column: str | None = None,
    label_names: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    positive_label: str | None = None,
    relations: bool = False,
    config: str | None = None,
    split: str = "train",
    auxiliary_columns: Sequence[str] = (),
) -> ds.Dataset:
    """Load and combine every location (see `datasets.load`); ``relations`` applies to ADE dirs.
    `auxiliary_columns`: other binary label columns of files and hub datasets, kept on each
    example for multi-task training (`Example.auxiliary`)."""
    if not locations:
        raise ConfigError("no data given: pass at least one file, directory or hf:NAME")
    label_map = ds.LabelMap(names=label_names, allowed=labels)
    parts = []
    for location in locations:
        options: dict[str, Any] = {
            "text_column": text_column,
            "label_column": label_column,
            "group_column": group_column,
            "id_column": id_column,
            "label_map": label_map,
        }
        if auxiliary_columns:
            options["auxiliary_columns"] = tuple(auxiliary_columns)
        if str(location).startswith("hf:") or not Path(location).exists():
            options["split"] = split
        parts.append(ds.load(location, relations=relations, config=config, **options))
    for _, report in parts:
        (log.warning if report.rejected else log.info)("%s", report)
    return ds.combine(parts, positive_label=positive_label, label_map=label_map)


def train(
    data: ds.Dataset,
    model: str,
    output: str | os.PathLike[str],
    *,
    split: str = "grouped",
    seed: int = 42,
    target_recall: float | None = None,
    test_size: float = 0.2,
    validation_size: float = 0.1,
    options: Mapping[str, Any] | None = None,
    cross_fit: int | None = 5,
    parts: Split | None = None,
    preprocess: str | None = None,
    fixed_threshold: float | None = None,
) -> TrainResult:
    """Split `data`, fit `model` (``"tfidf"``, a hub id or a local path), choose the threshold
    without touching the test part, measure on test and save everything to `output`.

    Transformers train on the train part and take the threshold from the validation part. The
    TF-IDF model, cheap to refit, with ``cross_fit=k`` (default 5): the threshold comes from
    out-of-fold scores of a k-fold split of train + validation (same protocol), then the model
    is refit on train + validation. Both use more data than one small validation part, which
    makes the threshold steadier (+0.01 F1 on PsyTAR, docs/benchmarks.md). ``cross_fit=None``
    gives the plain train / validation recipe. `parts`: use this split instead of making one;
    with an empty test part nothing is measured on test (only validation metrics are kept).
    `preprocess`: a name from `adverse_events.text.social.PREPROCESSORS` (``"social"``),
    applied to every text before training and measuring, and recorded in the model directory
    so that its classifier applies it too. The split is made on the raw texts.
    `fixed_threshold`: this cut instead of one chosen on validation (the default recipe's rule:
    a threshold chosen on ~125 validation sentences did not transfer, docs/benchmarks.md).
    """
    if fixed_threshold is not None and not 0.0 < fixed_threshold < 1.0:
        raise ConfigError(f"fixed_threshold must be between 0 and 1, not {fixed_threshold!r}")
    if fixed_threshold is not None and target_recall is not None:
        raise ConfigError("give a target recall or a fixed threshold, not both")
    out = Path(output)
    if parts is None:
        parts = make_split(
            data, split, seed=seed, test_size=test_size, validation_size=validation_size
        )
    if preprocess is not None:
        parts = _preprocessed(parts, preprocess)
        data = parts.data
    train_part, validation, test = (parts.part(p) for p in ("train", "validation", "test"))
    log.info(
        "split %s: train %d, validation %d, test %d",
        split,
        len(train_part),
        len(validation),
        len(test),
    )
    rule = f"recall >= {target_recall}" if target_recall else "best F1"
    oof = None
    if model == "tfidf" and cross_fit:
        fit_on = _union(train_part, validation)
        oof = out_of_fold_scores(fit_on, split, seed, cross_fit, options or {})
    if oof is not None:
        covered = ~np.isnan(oof)
        validation, val_scores = fit_on.subset(np.flatnonzero(covered)), oof[covered]
        kind, scorer, settings = "tfidf", *_fit_tfidf(fit_on, out, options or {})
        rule += f", on {cross_fit}-fold out-of-fold scores of train + validation; refit on both"
    elif model == "tfidf":
        kind, scorer, settings = "tfidf", *_fit_tfidf(train_part, out, options or {})
        val_scores = scorer(validation.texts)
    else:
        kind, scorer, settings = (
            "transformers",
            *_fit_transformer(model, train_part, validation, out, seed, options or {}),
        )
        val_scores = scorer(validation.texts)
    if fixed_threshold is None:
        threshold = choose_threshold(validation.binary, val_scores, target_recall=target_recall)
    else:
        threshold, rule = fixed_threshold, f"fixed {fixed_threshold}"
    metrics: dict[str, Any] = {
        "threshold_rule": rule,
        "validation": evaluate(validation.binary, val_scores, threshold),
    }
    if len(test):
        test_scores = scorer(test.texts)
        metrics["test"] = evaluate(
            test.binary, test_scores, threshold, sources=[e.source for e in test.examples]
        )
        write_pr_curve(
            test.binary,
            test_scores,
            out / "pr_curve.png",
            threshold=threshold,
            title=f"{split} split, test part",
        )
    else:  # every example trains (e.g. a shipped model): the validation part is all there is
        write_pr_curve(
            validation.binary,
            val_scores,
            out / "pr_curve.png",
            threshold=threshold,
            title=f"{parts.protocol}, validation part",
        )
    write_metrics(metrics, out / "metrics.json")
    write_split(parts, out / "split")
    info = ModelInfo(
        kind=kind,
        labels=data.labels,
        positive_label=data.positive_label,
        threshold=threshold,
        metrics={
            part: _headline(metrics[part]) for part in ("test", "validation") if part in metrics
        },
        data={**data.describe(), "model": model, "settings": settings},
        split=parts.manifest(),
        preprocess=preprocess,
    )
    write_model_info(out, info)
    return TrainResult(out, info, parts)


#: the test metrics `cross_validate` summarises
CV_METRICS = ("precision", "recall", "f1", "roc_auc", "pr_auc", "threshold")


def cross_validate(
    data: ds.Dataset,
    model: str,
    output: str | os.PathLike[str],
    *,
    folds: int = 5,
    split: str = "grouped",
    seed: int = 42,
    validation_size: float = 0.1,
    **train_options: Any,
) -> dict[str, Any]:
    """The `train` recipe on each of `folds` k-fold splits (every text in one test part; with
    ``grouped``, whole documents); returns and writes ``cv.json`` in `output`: per fold and
    mean / standard deviation of the test metrics.

    One split's test part is small (PsyTAR: about 200 adverse-event sentences), so its F1
    moves by a few hundredths with the seed; the mean over folds is the figure to compare
    recipes by. The fold models are discarded.
    """
    import statistics
    import tempfile

    from adverse_events.training._progress import progress
    from adverse_events.training.splits import kfold

    rows = []
    splits = list(kfold(data, folds, split, seed=seed, validation_size=validation_size))
    with (
        tempfile.TemporaryDirectory() as tmp,
        progress(f"{folds}-fold {split} cross-validation", total=folds) as advance,
    ):
        for i, parts in enumerate(splits):
            result = train(
                data,
                model,
                Path(tmp) / f"fold_{i}",
                split=split,
                seed=seed,
                parts=parts,
                **train_options,
            )
            rows.append(
                {k: result.info.metrics["test"][k] for k in (*CV_METRICS, "examples", "positives")}
            )
            advance(1)
    summary = {
        "model": model,
        "protocol": split,
        "folds": folds,
        "seed": seed,
        "mean": {k: float(np.nanmean([r[k] for r in rows])) for k in CV_METRICS},
        "sd": {k: statistics.pstdev([r[k] for r in rows]) for k in CV_METRICS},
        "per_fold": rows,
    }
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cv.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _preprocessed(parts: Split, name: str) -> Split:
    """`parts` over the same examples with `name`'s preprocessing applied to their texts."""
    from dataclasses import replace

    from adverse_events.text.social import get_preprocessor

    apply = get_preprocessor(name)
    assert apply is not None
    texts = apply(parts.data.texts)
    examples = [replace(e, text=t) for e, t in zip(parts.data.examples, texts, strict=True)]
    data = ds.Dataset(examples, parts.data.labels, parts.data.positive_label, parts.data.reports)
    return replace(parts, data=data)


def _union(*parts: ds.Dataset) -> ds.Dataset:
    return ds.Dataset(
        [e for p in parts for e in p.examples],
        parts[0].labels,
        parts[0].positive_label,
        parts[0].reports,
    )


def _headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("threshold", "examples", "positives", "precision", "recall", "f1", "roc_auc", "pr_auc")
    return {k: metrics[k] for k in keys}


def _fit_tfidf(
    data: ds.Dataset, out: Path, options: Mapping[str, Any]
) -> tuple[Scorer, dict[str, Any]]:
    from dataclasses import asdict

    from adverse_events.training.tfidf import fit_tfidf, options_from

    opts = options_from(options)
    fitted = fit_tfidf(data.texts, data.y, data.labels, opts)
    fitted.save(out)
    positive = data.labels.index(data.positive_label)
    return (lambda texts: fitted.predict_proba(texts)[:, positive]), asdict(opts)


def _fit_transformer(
    model: str,
    train_part: ds.Dataset,
    validation: ds.Dataset,
    out: Path,
    seed: int,
    options: Mapping[str, Any],
) -> tuple[Scorer, dict[str, Any]]:
    from dataclasses import asdict

    from adverse_events.training.transformers import TransformerOptions, fine_tune

    try:
        opts = TransformerOptions(**{"seed": seed, **options})
    except TypeError as exc:
        raise ConfigError(f"unknown transformers option: {exc}") from exc
    scorer = fine_tune(model, train_part, validation, out, opts)
    return scorer, asdict(opts)


def evaluate_model(
    model_dir: str | os.PathLike[str],
    data: ds.Dataset,
    *,
    output: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Metrics of a saved model on `data` (every example), written to `output` when given.

    The model's own threshold is used unless `threshold` is given; the best-F1 threshold on
    these data is reported too, as ``oracle_threshold`` (it is optimistic: it saw the labels).
    """
    from adverse_events.registry import get_registry

    info = read_model_info(model_dir)
    if data.positive_label != info.positive_label:
        raise ConfigError(
            f"the data's positive label {data.positive_label!r} is not the "
            f"model's {info.positive_label!r}; pass --positive-label"
        )
    cls = get_registry().resolve("classifier", info.kind)
    used = info.threshold if threshold is None else threshold
    with cls(str(model_dir), threshold=used, batch_size=batch_size) as classifier:
        scores = _scores(classifier, data.texts, batch_size)
    metrics = evaluate(data.binary, scores, used, sources=[e.source for e in data.examples])
    metrics["oracle_threshold"] = choose_threshold(data.binary, scores)
    metrics["data"] = data.describe()
    if output is not None:
        out = Path(output)
        write_metrics(metrics, out / "metrics.json")
        write_pr_curve(
            data.binary,
            scores,
            out / "pr_curve.png",
            threshold=used,
            title=f"{Path(model_dir).name} on {', '.join(metrics['by_source'])}",
        )
    return metrics


def _scores(classifier: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    from adverse_events.training._progress import progress

    scores: list[float] = []
    with progress("scoring", total=len(texts)) as advance:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            scores.extend(p.score for p in classifier.classify(batch))
            advance(len(batch))
    return np.asarray(scores)
