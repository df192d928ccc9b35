"""``adverse-events train`` (TF-IDF or any transformers model, with its metrics) and
``evaluate`` (a saved model on labelled data)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adverse_events.cli.render import console, fail, metrics_table
from adverse_events.errors import AdverseEventsError

__all__ = ["evaluate", "train"]

DataArg = Annotated[
    list[str],
    typer.Argument(
        help="Files (.csv .tsv .jsonl .json .parquet), ADE corpus directories, saved datasets "
        "or hf:NAME[:CONFIG]."
    ),
]
TextColumn = Annotated[str, typer.Option(help="Column holding the text.")]
LabelColumn = Annotated[str, typer.Option(help="Column holding the label.")]
GroupColumn = Annotated[
    str,
    typer.Option(
        help="Column naming the document (post, review, article) a text came from; 'auto' tries "
        "group, post_id, pmid, ...; 'none' makes each text its own group."
    ),
]
PositiveLabel = Annotated[
    str | None,
    typer.Option(
        help="The adverse-event label (after --label-name mapping); default adverse_event."
    ),
]
LabelName = Annotated[
    list[str] | None,
    typer.Option(
        "--label-name", help="Map a raw label to a name, RAW=NAME (repeat); unmapped = bad row."
    ),
]


def _label_names(pairs: list[str] | None) -> dict[str, str] | None:
    """``RAW=NAME`` options -> a mapping (None when none were given)."""
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        raw, sep, name = pair.partition("=")
        if not sep or not raw or not name:
            raise typer.BadParameter(f"--label-name takes RAW=NAME, not {pair!r}")
        mapping[raw] = name
    return mapping


def _group_column(value: str) -> str | None:
    """``--group-column none`` is no column (each text its own group)."""
    return None if value == "none" else value


def train(
    data: DataArg,
    model: Annotated[str, typer.Option(help="'tfidf', a Hugging Face model id or a local path.")],
    output: Annotated[Path, typer.Option(help="Model directory to write.")],
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    group_column: GroupColumn = "auto",
    positive_label: PositiveLabel = None,
    label_name: LabelName = None,
    split: Annotated[
        str,
        typer.Option(
            help="grouped: deduplicated, documents kept on one side (honest); random: the "
            "reference protocol (ADE corpus rows repeated per relation, leaks)."
        ),
    ] = "grouped",
    recipe: Annotated[
        str | None,
        typer.Option(
            help="Transformers: start from a named recipe ('default': the shipped model's, "
            "chosen on transfer; see docs/training.md); the flags below override it."
        ),
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Transformers: training epochs [default: 3].")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Transformers: train batch size [default: 16].")
    ] = None,
    max_seq_length: Annotated[
        int | None, typer.Option(help="Transformers: tokens per text [default: 128].")
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Transformers: peak learning rate [default: 5e-5].")
    ] = None,
    pooling: Annotated[
        str | None,
        typer.Option(
            help="Transformers: 'cls' (the model's own head) or 'mean' (masked token mean, what "
            "sentence encoders were trained with) [default: cls]."
        ),
    ] = None,
    layer_lr_decay: Annotated[
        float | None,
        typer.Option(help="Transformers: layer-wise learning-rate decay in (0, 1] [default: off]."),
    ] = None,
    preprocess: Annotated[
        str | None,
        typer.Option(
            help="Text preprocessing before training and scoring, recorded in the model: "
            "'social' (hashtags, @mentions, URLs, emojis, elongated words; "
            "adverse_events.text.social) [default: none, or the recipe's]."
        ),
    ] = None,
    freeze_embeddings: Annotated[
        bool | None,
        typer.Option(
            "--freeze-embeddings/--train-embeddings",
            help="Transformers: keep the embeddings as pretrained [default: train them].",
        ),
    ] = None,
    auxiliary_columns: Annotated[
        str | None,
        typer.Option(
            help="Transformers: other binary label columns to train on as extra tasks, "
            "comma-separated (PsyTAR: WD,EF,INF,SSI,DI); the saved model serves --label-column "
            "only; the default recipe was tuned with all five on PsyTAR [default: none]."
        ),
    ] = None,
    auxiliary_weight: Annotated[
        float | None,
        typer.Option(help="Transformers: weight of the extra tasks' loss [default: 1.0]."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 42,
    target_recall: Annotated[
        float | None,
        typer.Option(
            help="Choose the threshold for this recall on validation data (default: best F1; "
            "--recipe default: its fixed cut, 0.5)."
        ),
    ] = None,
    cross_fit: Annotated[
        int,
        typer.Option(
            help="TF-IDF: threshold from k-fold out-of-fold scores of train + validation, then "
            "refit on both; 0 trains on train and thresholds on validation only."
        ),
    ] = 5,
    folds: Annotated[
        int,
        typer.Option(
            help="Also run the recipe on K cross-validation folds (K more trainings) and report "
            "the test metrics' mean ± sd (cv.json); 0: off."
        ),
    ] = 0,
) -> None:
    """Train a model (TF-IDF or any transformers model) and save it with its metrics."""
    from adverse_events.training.recipes import (
        auxiliary_column_list,
        train_with_recipe,
        transformer_options,
    )
    from adverse_events.training.workflow import load_data

    try:
        options = transformer_options(
            model,
            recipe,
            {
                "epochs": epochs,
                "batch_size": batch_size,
                "max_seq_length": max_seq_length,
                "learning_rate": learning_rate,
                "pooling": pooling,
                "layer_lr_decay": layer_lr_decay,
                "freeze_embeddings": freeze_embeddings,
                "auxiliary_weight": auxiliary_weight,
            },
        )
        dataset = load_data(
            data,
            text_column=text_column,
            label_column=label_column,
            group_column=_group_column(group_column),
            label_names=_label_names(label_name),
            positive_label=positive_label,
            relations=split == "random",
            auxiliary_columns=auxiliary_column_list(model, auxiliary_columns),
        )
        result, cv = train_with_recipe(
            dataset,
            model,
            output,
            recipe=recipe,
            options=options,
            preprocess=preprocess,
            split=split,
            seed=seed,
            target_recall=target_recall,
            cross_fit=cross_fit,
            folds=folds,
        )
    except AdverseEventsError as exc:
        raise fail(exc) from None
    for report in dataset.reports:
        console.print(f"data {report}")
    manifest = result.split.manifest()
    console.print(metrics_table(f"{model} on a {split} split (seed {seed})", result.info.metrics))
    console.print(
        f"split: removed {manifest['removed'] or 'nothing'}; test texts also in "
        f"train: {manifest['leaked_test_texts']}; groups on both sides: "
        f"{manifest['shared_groups']}"
    )
    if cv is not None:
        mean, sd = cv["mean"], cv["sd"]
        console.print(
            f"{folds}-fold {split} cross-validation (test parts): "
            + ", ".join(
                f"{k} {mean[k]:.3f} ± {sd[k]:.3f}" for k in ("f1", "precision", "recall", "roc_auc")
            )
        )
    console.print(
        f"model saved to {result.output} (metrics.json, pr_curve.png, split/"
        f"{', cv.json' if cv else ''})"
    )


def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="A model directory written by train.")],
    data: DataArg,
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write metrics.json and pr_curve.png (default MODEL_DIR/eval)."),
    ] = None,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    group_column: GroupColumn = "auto",
    positive_label: PositiveLabel = None,
    label_name: LabelName = None,
    threshold: Annotated[float | None, typer.Option(help="Override the model's threshold.")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per classify call.")] = 64,
) -> None:
    """Measure a saved model on labelled data; prints and writes the metrics."""
    from adverse_events.training.workflow import evaluate_model, load_data

    try:
        dataset = load_data(
            data,
            text_column=text_column,
            label_column=label_column,
            group_column=_group_column(group_column),
            label_names=_label_names(label_name),
            positive_label=positive_label,
        )
        out = output or model_dir / "eval"
        metrics = evaluate_model(
            model_dir, dataset, output=out, threshold=threshold, batch_size=batch_size
        )
    except AdverseEventsError as exc:
        raise fail(exc) from None
    parts = {"all": metrics, **metrics["by_source"]}
    console.print(metrics_table(f"{model_dir} on {len(dataset)} examples", parts))
    console.print(
        f"best-F1 threshold on these data (optimistic): "
        f"{metrics['oracle_threshold']:.3f}; calibration error (ECE): "
        f"{metrics['calibration']['ece']:.3f}"
    )
    console.print(f"metrics written to {out}/metrics.json and {out}/pr_curve.png")
