"""The ``adverse-events`` command.

Bad input (a wrong config, an unknown backend, a missing file) prints one line that names the
problem and the fix, and exits 2; it never prints a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from adverse_events.errors import AdverseEventsError

app = typer.Typer(
    name="adverse-events",
    help="Find adverse drug events in social-media posts: run pipelines, train, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def print_mapping(title: str, data: dict[str, Any]) -> None:
    """Print a key/value table (used by several commands)."""
    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", justify="right")
    for key, value in data.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    console.print(table)


@app.callback()
def _setup(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Pipeline TOML file.")],
    resume: Annotated[
        Optional[bool], typer.Option("--resume/--no-resume", help="Skip posts already stored.")
    ] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Posts per batch.")] = None,
) -> None:
    """Run the pipeline a TOML file describes and print its report."""
    from adverse_events.config import load_config

    try:
        cfg = load_config(config)
        updates = {k: v for k, v in {"resume": resume, "batch_size": batch_size}.items()
                   if v is not None}
        if updates:
            cfg = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(update=updates)})
        pipeline = cfg.build()
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    report = pipeline.run()
    print_mapping(f"run report: {config}", report.to_dict())
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def backends() -> None:
    """List every registered backend by role, with its extra and whether it is installed."""
    from adverse_events.registry import get_registry

    try:
        entries = get_registry().entries()
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    table = Table(title="backends")
    for column in ("role", "name", "class", "extra", "installed"):
        table.add_column(column)
    for info in entries:
        installed = "yes" if info.installed else f"no: {info.install_hint}"
        table.add_row(info.role, info.name, info.target, info.extra or "-", installed)
    console.print(table)


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


def _metrics_table(title: str, parts: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title)
    columns = ("examples", "positives", "threshold", "precision", "recall", "f1", "roc_auc",
               "pr_auc")
    headers = ("n", "AE", "thr", "P", "R", "F1", "ROC-AUC", "PR-AUC")
    table.add_column("part", style="bold")
    for header in headers:
        table.add_column(header, justify="right")
    for name, m in parts.items():
        cells = [m.get(c) for c in columns]
        table.add_row(name, *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells))
    return table


DataArg = Annotated[list[str], typer.Argument(
    help="Files (.csv .tsv .jsonl .json .parquet), ADE corpus directories, saved datasets "
         "or hf:NAME[:CONFIG].")]
TextColumn = Annotated[str, typer.Option(help="Column holding the text.")]
LabelColumn = Annotated[str, typer.Option(help="Column holding the label.")]
GroupColumn = Annotated[str, typer.Option(
    help="Column naming the document (post, review, article) a text came from; 'auto' tries "
         "group, post_id, pmid, ...; 'none' makes each text its own group.")]
PositiveLabel = Annotated[Optional[str], typer.Option(
    help="The adverse-event label (after --label-name mapping); default adverse_event.")]
LabelName = Annotated[Optional[list[str]], typer.Option(
    "--label-name", help="Map a raw label to a name, RAW=NAME (repeat); unmapped = bad row.")]


@app.command()
def train(
    data: DataArg,
    model: Annotated[str, typer.Option(help="'tfidf', a Hugging Face model id or a local path.")],
    output: Annotated[Path, typer.Option(help="Model directory to write.")],
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    group_column: GroupColumn = "auto",
    positive_label: PositiveLabel = None,
    label_name: LabelName = None,
    split: Annotated[str, typer.Option(
        help="grouped: deduplicated, documents kept on one side (honest); random: the "
             "reference protocol (ADE corpus rows repeated per relation, leaks).")] = "grouped",
    epochs: Annotated[float, typer.Option(help="Transformers: training epochs.")] = 3.0,
    batch_size: Annotated[int, typer.Option(help="Transformers: train batch size.")] = 16,
    max_seq_length: Annotated[int, typer.Option(help="Transformers: tokens per text.")] = 128,
    learning_rate: Annotated[float, typer.Option(help="Transformers: peak learning rate.")] = 5e-5,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 42,
    target_recall: Annotated[Optional[float], typer.Option(
        help="Choose the threshold for this recall on validation data (default: best F1).")
    ] = None,
    cross_fit: Annotated[int, typer.Option(
        help="TF-IDF: threshold from k-fold out-of-fold scores of train + validation, then "
             "refit on both; 0 trains on train and thresholds on validation only.")] = 5,
) -> None:
    """Train a model (TF-IDF or any transformers model) and save it with its metrics."""
    from adverse_events.training.workflow import load_data
    from adverse_events.training.workflow import train as train_model

    options: dict[str, Any] = {}
    if model != "tfidf":
        options = {"epochs": epochs, "batch_size": batch_size, "max_seq_length": max_seq_length,
                   "learning_rate": learning_rate}
    try:
        dataset = load_data(
            data, text_column=text_column, label_column=label_column,
            group_column=None if group_column == "none" else group_column,
            label_names=_label_names(label_name), positive_label=positive_label,
            relations=split == "random",
        )
        result = train_model(dataset, model, output, split=split, seed=seed,
                             target_recall=target_recall, options=options,
                             cross_fit=cross_fit or None)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    for report in dataset.reports:
        console.print(f"data {report}")
    manifest = result.split.manifest()
    console.print(_metrics_table(f"{model} on a {split} split (seed {seed})",
                                 result.info.metrics))
    console.print(f"split: removed {manifest['removed'] or 'nothing'}; test texts also in "
                  f"train: {manifest['leaked_test_texts']}; groups on both sides: "
                  f"{manifest['shared_groups']}")
    console.print(f"model saved to {result.output} (metrics.json, pr_curve.png, split/)")


@app.command()
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="A model directory written by train.")],
    data: DataArg,
    output: Annotated[Optional[Path], typer.Option(
        help="Where to write metrics.json and pr_curve.png (default MODEL_DIR/eval).")] = None,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    group_column: GroupColumn = "auto",
    positive_label: PositiveLabel = None,
    label_name: LabelName = None,
    threshold: Annotated[Optional[float], typer.Option(
        help="Override the model's threshold.")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per classify call.")] = 64,
) -> None:
    """Measure a saved model on labelled data; prints and writes the metrics."""
    from adverse_events.training.workflow import evaluate_model, load_data

    try:
        dataset = load_data(
            data, text_column=text_column, label_column=label_column,
            group_column=None if group_column == "none" else group_column,
            label_names=_label_names(label_name), positive_label=positive_label,
        )
        out = output or model_dir / "eval"
        metrics = evaluate_model(model_dir, dataset, output=out, threshold=threshold,
                                 batch_size=batch_size)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    parts = {"all": metrics, **metrics["by_source"]}
    console.print(_metrics_table(f"{model_dir} on {len(dataset)} examples", parts))
    console.print(f"best-F1 threshold on these data (optimistic): "
                  f"{metrics['oracle_threshold']:.3f}; calibration error (ECE): "
                  f"{metrics['calibration']['ece']:.3f}")
    console.print(f"metrics written to {out}/metrics.json and {out}/pr_curve.png")


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
