"""The ``adverse-events`` command.

Bad input (a wrong config, an unknown backend, a missing file) prints one line that names the
problem and the fix, and exits 2; it never prints a traceback.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adverse_events.errors import AdverseEventsError, ConfigError

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
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
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
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: DEBUG for this library; -vv: DEBUG for every library (botocore included).",
        ),
    ] = 0,
    debug_logger: Annotated[
        list[str] | None,
        typer.Option(
            help="A third-party logger to put at DEBUG (repeatable), e.g. --debug-logger urllib3.",
        ),
    ] = None,
) -> None:
    from adverse_events.logs import configure_logging

    configure_logging(verbose, debug_logger or ())


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Pipeline TOML file.")],
    resume: Annotated[
        bool | None, typer.Option("--resume/--no-resume", help="Skip posts already stored.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Posts per batch.")] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="local (this process) or ray (a Ray cluster); default: [engine] type."),
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (ray engine; default: RAY_ADDRESS).")
    ] = None,
) -> None:
    """Run the pipeline a TOML file describes and print its report."""
    from adverse_events.config import load_config

    try:
        cfg = load_config(config)
        updates = {
            k: v for k, v in {"resume": resume, "batch_size": batch_size}.items() if v is not None
        }
        if updates:
            cfg = cfg.model_copy(update={"pipeline": cfg.pipeline.model_copy(update=updates)})
        cfg = _with_engine(cfg, engine, address)
        pipeline = cfg.build() if cfg.engine.type == "local" else _ray_engine(cfg)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    # What is alive now (modules, models) lives as long as the process: keeping it out of the
    # garbage collector's scans makes record-heavy runs about 15% faster.
    gc.collect()
    gc.freeze()
    try:
        report = pipeline.run()
    finally:
        gc.unfreeze()
    print_mapping(f"run report: {config}", report.to_dict())
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(1)


def _with_engine(cfg: Any, engine: str | None, address: str | None) -> Any:
    """`cfg` with the CLI's --engine / --address over its [engine] table, validated alike."""
    from adverse_events.config import EngineOptions

    updates = {k: v for k, v in {"type": engine, "address": address}.items() if v is not None}
    if not updates:
        return cfg
    try:
        options = EngineOptions(**{**cfg.engine.model_dump(), **updates})
    except ValueError:
        raise ConfigError(f"--engine must be local or ray, not {engine!r}") from None
    if options.type == "local" and address is not None:
        raise ConfigError("--address is an option of the ray engine: add --engine ray")
    return cfg.model_copy(update={"engine": options})


def _ray_engine(cfg: Any) -> Any:
    from adverse_events.engines.ray import RayEngine

    return RayEngine(cfg)


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


def _cell(value: Any) -> str:
    """Short text of a query value: lists joined, floats rounded, times to the minute."""
    from datetime import datetime

    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _rows_table(title: str, rows: list[dict[str, Any]], limit: int | None = None) -> Table:
    """A rich table of query rows."""
    table = Table(title=title)
    shown = rows if limit is None else rows[:limit]
    for name in rows[0] if rows else {"(none)": None}:
        table.add_column(name, overflow="fold")
    for row in shown:
        table.add_row(*(_cell(v) for v in row.values()))
    return table


@app.command()
def report(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file (or Parquet folder) of records.")],
    by: Annotated[str, typer.Option(help="Event coding: icd10, meddra_pt or mention.")] = "icd10",
    top: Annotated[int, typer.Option(help="Rows per table.")] = 10,
    min_cases: Annotated[
        int, typer.Option(help="No screening rule fires on a pair seen in fewer posts.")
    ] = 3,
    drugs: Annotated[
        str, typer.Option(help="Count drugs by active ingredient or by name as written.")
    ] = "ingredient",
) -> None:
    """Print the key numbers: totals, top pairs, drug names, provenance, dead letters, signals."""
    from adverse_events.analytics.queries import Queries, connect, fetch
    from adverse_events.analytics.signals import signals

    try:
        q = Queries(drugs=drugs)  # type: ignore[arg-type]
        with connect(db) as conn:
            [summary] = fetch(conn, q.summary())
            pairs = fetch(conn, q.drug_event_counts(by=by))
            brands = fetch(conn, q.brand_breakdown())
            unresolved = fetch(conn, q.unresolved_drugs())
            provenance = fetch(conn, q.provenance())
            letters = fetch(conn, q.dead_letter_counts())
        found = signals(db, by=by, min_cases=min_cases, drugs=drugs)  # type: ignore[arg-type]
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    print_mapping(f"records: {db}", {k: _cell(v) for k, v in summary.items()})
    console.print(_rows_table(f"top drug ({drugs}) x event ({by}) pairs", pairs, top))
    console.print(_rows_table("names behind each ingredient", brands, top))
    console.print(_rows_table("unresolved drug spans (left out of the counts)", unresolved, top))
    flagged = [s for s in found if s.stats.any_signal]
    console.print(
        _signal_table(f"signals: {len(flagged)} of {len(found)} pairs fire a rule", flagged, top)
    )
    console.print(_rows_table("provenance", provenance))
    console.print(_rows_table("dead letters", letters, top))


def _signal_table(title: str, found: list[Any], limit: int | None) -> Table:
    table = Table(title=title)
    for name in ("window", "drug", "event"):
        table.add_column(name, overflow="fold")
    for name in ("a", "N", "PRR (95% CI)", "ROR (95% CI)", "chi2", "IC025", "rules"):
        table.add_column(name, justify="right")
    for s in found if limit is None else found[:limit]:
        x = s.stats
        rules = [
            name
            for name, fired in (("Evans", x.evans), ("ROR", x.ror_signal), ("IC", x.ic_signal))
            if fired
        ]
        table.add_row(
            s.window,
            s.drug,
            f"{s.event} {s.event_label}" if s.event_label != s.event else s.event,
            str(x.a),
            str(s.n),
            f"{x.prr:.2f} ({x.prr_lower:.2f}-{x.prr_upper:.2f})",
            f"{x.ror:.2f} ({x.ror_lower:.2f}-{x.ror_upper:.2f})",
            f"{x.chi2:.1f}",
            f"{x.ic025:.2f}",
            " ".join(rules) or "-",
        )
    return table


@app.command()
def signals(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file (or Parquet folder) of records.")],
    by: Annotated[str, typer.Option(help="Event coding: icd10, meddra_pt or mention.")] = "icd10",
    window: Annotated[
        str, typer.Option(help="all, year, quarter, month, week or day (of created_at).")
    ] = "all",
    min_count: Annotated[int, typer.Option(help="Leave out pairs in fewer posts.")] = 1,
    min_cases: Annotated[
        int, typer.Option(help="No screening rule fires on a pair seen in fewer posts.")
    ] = 3,
    drugs: Annotated[
        str, typer.Option(help="Count drugs by active ingredient or by name as written.")
    ] = "ingredient",
    only_signals: Annotated[
        bool, typer.Option("--only-signals", help="Keep pairs where a rule fires.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option(help="Write the table to a .csv or .parquet file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows to print.")] = 20,
) -> None:
    """Disproportionality (PRR, ROR, chi-square, IC) for every drug-event pair."""
    from adverse_events.analytics.signals import signals as compute
    from adverse_events.analytics.signals import write_signals

    try:
        found = compute(
            db,
            by=by,  # type: ignore[arg-type]
            window=window,
            min_count=min_count,
            min_cases=min_cases,
            drugs=drugs,
        )
        if only_signals:
            found = [s for s in found if s.stats.any_signal]
        if output is not None:
            write_signals(found, output)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    console.print(
        _signal_table(f"signals by {by}, window {window}: {len(found)} pairs", found, top)
    )
    if output is not None:
        console.print(f"wrote {len(found)} rows to {output}")


@app.command()
def dashboard(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file (or Parquet folder) of records.")],
    output: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    by: Annotated[
        str, typer.Option(help="Event coding: auto, icd10, meddra_pt or mention.")
    ] = "auto",
    grain: Annotated[
        str, typer.Option(help="Time axis: auto, day, week, month, quarter or year.")
    ] = "auto",
    min_cases: Annotated[
        int,
        typer.Option(
            help="No screening rule fires on a pair seen in fewer posts (the page can change it)."
        ),
    ] = 3,
    drugs: Annotated[
        str, typer.Option(help="Count drugs by active ingredient or by name as written.")
    ] = "ingredient",
) -> None:
    """Write one self-contained HTML dashboard (opens offline, from disk)."""
    from adverse_events.analytics.dashboard import write_dashboard

    try:
        path = write_dashboard(db, output, by=by, grain=grain, min_cases=min_cases, drugs=drugs)
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


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
    columns = (
        "examples",
        "positives",
        "threshold",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "pr_auc",
    )
    headers = ("n", "AE", "thr", "P", "R", "F1", "ROC-AUC", "PR-AUC")
    table.add_column("part", style="bold")
    for header in headers:
        table.add_column(header, justify="right")
    for name, m in parts.items():
        cells = [m.get(c) for c in columns]
        table.add_row(name, *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells))
    return table


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
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 42,
    target_recall: Annotated[
        float | None,
        typer.Option(
            help="Choose the threshold for this recall on validation data (default: best F1)."
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
    from adverse_events.training.workflow import cross_validate, load_data
    from adverse_events.training.workflow import train as train_model

    try:
        options = _transformer_options(
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
            },
        )
        dataset = load_data(
            data,
            text_column=text_column,
            label_column=label_column,
            group_column=None if group_column == "none" else group_column,
            label_names=_label_names(label_name),
            positive_label=positive_label,
            relations=split == "random",
        )
        if folds == 1 or folds < 0:
            raise ConfigError(f"--folds must be 0 (off) or at least 2, not {folds}")
        if preprocess is None and recipe == "default" and model != "tfidf":
            from adverse_events.training.recipes import DEFAULT_ENCODER_RECIPE

            preprocess = DEFAULT_ENCODER_RECIPE.preprocess
        recipe_args: dict[str, Any] = {
            "target_recall": target_recall,
            "options": options,
            "cross_fit": cross_fit or None,
            "preprocess": preprocess,
        }
        result = train_model(dataset, model, output, split=split, seed=seed, **recipe_args)
        cv = (
            cross_validate(
                dataset, model, output, folds=folds, split=split, seed=seed, **recipe_args
            )
            if folds
            else None
        )
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    for report in dataset.reports:
        console.print(f"data {report}")
    manifest = result.split.manifest()
    console.print(_metrics_table(f"{model} on a {split} split (seed {seed})", result.info.metrics))
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


def _transformer_options(model: str, recipe: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    """The options `train` passes on: the named recipe's, then every flag given."""
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
        from adverse_events.training.recipes import DEFAULT_ENCODER_RECIPE

        options = {
            k: v
            for k, v in DEFAULT_ENCODER_RECIPE.transformer_options(0).items()
            if k not in ("seed", "progress", "device")
        }
    return {**options, **given}


@app.command()
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
            group_column=None if group_column == "none" else group_column,
            label_names=_label_names(label_name),
            positive_label=positive_label,
        )
        out = output or model_dir / "eval"
        metrics = evaluate_model(
            model_dir, dataset, output=out, threshold=threshold, batch_size=batch_size
        )
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    parts = {"all": metrics, **metrics["by_source"]}
    console.print(_metrics_table(f"{model_dir} on {len(dataset)} examples", parts))
    console.print(
        f"best-F1 threshold on these data (optimistic): "
        f"{metrics['oracle_threshold']:.3f}; calibration error (ECE): "
        f"{metrics['calibration']['ece']:.3f}"
    )
    console.print(f"metrics written to {out}/metrics.json and {out}/pr_curve.png")


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)


@app.command("athena-ddl")
def athena_ddl(
    bucket: Annotated[str, typer.Option(help="Bucket the S3 sink writes to.")],
    prefix: Annotated[str, typer.Option(help="Records prefix of the S3 sink.")] = (
        "lambda_predictions/"
    ),
    dead_letter_prefix: Annotated[
        str, typer.Option(help="Dead-letter prefix of the S3 sink ('' for no dead-letter table).")
    ] = ("lambda_dead_letters/"),
    database: Annotated[str, typer.Option(help="Glue database.")] = "adverse_events",
    table: Annotated[str, typer.Option(help="Table name.")] = "predictions",
    format: Annotated[str, typer.Option(help="parquet or jsonl (as the sink writes).")] = (
        "parquet"
    ),
    start: Annotated[str, typer.Option(help="First dt partition (YYYY-MM-DD).")] = "2024-01-01",
) -> None:
    """Print the Athena CREATE statements (partition projection on dt) for the S3 sink layout."""
    from datetime import date

    from adverse_events.aws.athena import athena_ddl as make_ddl

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise _fail(ValueError(f"--start must be a date like 2024-01-01, got {start!r}")) from None
    try:
        ddl = make_ddl(
            bucket,
            prefix,
            database=database,
            table=table,
            format=format,
            start=first,
            dead_letter_prefix=dead_letter_prefix or None,
        )
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    typer.echo(ddl, nl=False)


def _span_corpora(
    data_dir: Path | None, corpus: list[str] | None, spans: list[Path] | None
) -> dict[str, Any]:
    from adverse_events.extractors.corpora import data_dir as default_data_dir
    from adverse_events.extractors.corpora import load_corpus, load_spans_jsonl

    root = data_dir or default_data_dir()
    corpus, spans = list(corpus or []), list(spans or [])
    if not corpus and not spans:
        corpus = ["psytar", "ade"]
    found: dict[str, Any] = {name: load_corpus(name, root) for name in corpus}
    for path in spans:
        found[str(path)] = load_spans_jsonl(path)
    if not found:
        raise typer.BadParameter("give at least one --corpus or --spans")
    return found


@app.command("train-extractor")
def train_extractor(
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    corpus: Annotated[
        list[str] | None,
        typer.Option(
            help="Built-in corpus to train on: psytar, ade (repeatable; both when neither "
            "--corpus nor --spans is given)."
        ),
    ] = None,
    spans: Annotated[
        list[Path] | None,
        typer.Option(
            help="Your spans: JSON lines {text, spans: [{start, end, label}]} (repeatable)."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder with psytar/ and ade_corpus_v2/ (default: $ADVERSE_EVENTS_DATA)."
        ),
    ] = None,
    holdout: Annotated[
        bool,
        typer.Option(
            "--holdout/--no-holdout",
            help="Leave the held-out split out of training (keeps evaluate-extractor honest).",
        ),
    ] = True,
    test_fraction: Annotated[float, typer.Option(help="Share of groups held out.")] = 0.2,
) -> None:
    """Train the local lexicon extractor (CRF + vocabularies) on span annotations."""
    from adverse_events.extractors.corpora import split
    from adverse_events.extractors.lexicon import train_lexicon

    try:
        corpora = _span_corpora(data_dir, corpus, spans)
        examples: list[Any] = []
        for examples_of in corpora.values():
            examples += split(examples_of, test_fraction)[0] if holdout else examples_of
        model = train_lexicon(
            examples,
            out,
            meta={"corpora": sorted(corpora), "holdout": holdout, "test_fraction": test_fraction},
        )
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    print_mapping(
        f"trained lexicon extractor -> {out}",
        {
            "examples": model.meta["examples"],
            "seconds": float(model.meta["seconds"]),
            "event phrases": len(model.event_phrases),
            "drug names": len(model.drug_names),
            "held out": holdout,
        },
    )


@app.command("evaluate-extractor")
def evaluate_extractor_command(
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Trained lexicon model; without one, one is trained on the training split."
        ),
    ] = None,
    corpus: Annotated[
        list[str] | None,
        typer.Option(
            help="Corpus whose held-out split is scored: psytar, ade (repeatable; both when "
            "neither --corpus nor --spans is given)."
        ),
    ] = None,
    spans: Annotated[
        list[Path] | None, typer.Option(help="Your own spans JSONL (repeatable).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder with psytar/ and ade_corpus_v2/ (default: $ADVERSE_EVENTS_DATA)."
        ),
    ] = None,
    test_fraction: Annotated[float, typer.Option(help="Share of groups held out.")] = 0.2,
    output: Annotated[Path | None, typer.Option(help="Also write the report as JSON.")] = None,
) -> None:
    """Exact and partial-overlap P/R/F1 per category on held-out reviews / articles."""
    import json
    import tempfile

    from adverse_events.extractors.corpora import split
    from adverse_events.extractors.evaluation import evaluate_extractor
    from adverse_events.extractors.lexicon import LexiconExtractor, LexiconModel, train_lexicon

    try:
        corpora = _span_corpora(data_dir, corpus, spans)
        splits = {name: split(examples, test_fraction) for name, examples in corpora.items()}
        if model_dir is None:
            model_dir = Path(tempfile.mkdtemp(prefix="ae-lexicon-eval-"))
            train_lexicon(
                [ex for train, _ in splits.values() for ex in train],
                model_dir,
                meta={"holdout": True, "test_fraction": test_fraction},
            )
        elif not LexiconModel.load(model_dir).meta.get("holdout", False):
            err_console.print(
                "warning: this model was trained without --holdout; the held-out "
                "texts were seen in training, so these numbers are optimistic"
            )
        extractor = LexiconExtractor(model_dir=model_dir, code_icd10=False)
        report = {name: evaluate_extractor(extractor, test) for name, (_, test) in splits.items()}
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    table = Table(title=f"extractor evaluation (held-out {test_fraction:.0%} of groups)")
    for column in ("corpus", "category", "match", "P", "R", "F1", "gold", "predicted"):
        table.add_column(column)
    for name, result in report.items():
        for category, by_match in result["scores"].items():
            for match, s in by_match.items():
                table.add_row(
                    name,
                    category,
                    match,
                    f"{s['precision']:.3f}",
                    f"{s['recall']:.3f}",
                    f"{s['f1']:.3f}",
                    str(s["gold"]),
                    str(s["predicted"]),
                )
    console.print(table)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"model_dir": str(model_dir), "results": report}, indent=2))


@app.command()
def export(
    db: Annotated[Path, typer.Option(help="DuckDB file written by the duckdb sink.")],
    output: Annotated[Path, typer.Option(help="Directory for the Parquet files.")],
) -> None:
    """Export a DuckDB sink to Parquet in the S3/Athena layout (dt= partitions).

    Records are partitioned by processing date (dt=YYYY-MM-DD; the records folder is replaced);
    mentions, concepts and dead letters go to one Parquet file each. Paths never enter SQL text:
    DuckDB's own Parquet writer takes them as arguments, so any file name works.
    """
    import duckdb

    if not db.is_file():
        raise _fail(FileNotFoundError(f"no DuckDB file at {db}; run a pipeline with a duckdb sink"))
    output.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db), read_only=True) as conn:
        conn.sql(
            "SELECT *, strftime(processed_at, '%Y-%m-%d') AS dt FROM adverse_events"
        ).write_parquet(str(output / "adverse_events"), partition_by=["dt"], overwrite=True)
        for table in ("mentions", "concepts", "dead_letters"):  # fixed names, not input
            conn.table(table).write_parquet(str(output / f"{table}.parquet"))
        count = conn.execute("SELECT count(*) FROM adverse_events").fetchone()
    console.print(f"exported {count[0] if count else 0:,} records to {output}")
