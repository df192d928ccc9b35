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


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)


def _span_corpora(data_dir: Optional[Path], corpus: list[str], spans: list[Path]) -> dict[str, Any]:
    from adverse_events.extractors.corpora import data_dir as default_data_dir
    from adverse_events.extractors.corpora import load_corpus, load_spans_jsonl

    root = data_dir or default_data_dir()
    found: dict[str, Any] = {name: load_corpus(name, root) for name in corpus}
    for path in spans:
        found[str(path)] = load_spans_jsonl(path)
    if not found:
        raise typer.BadParameter("give at least one --corpus or --spans")
    return found


@app.command("train-extractor")
def train_extractor(
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    corpus: Annotated[list[str], typer.Option(
        help="Built-in corpus to train on: psytar, ade (repeatable).")] = ["psytar", "ade"],
    spans: Annotated[list[Path], typer.Option(
        help="Your own spans, JSON lines {text, spans: [{start, end, label}]} (repeatable).")] = [],
    data_dir: Annotated[Optional[Path], typer.Option(
        help="Data folder holding psytar/ and ade_corpus_v2/ (default: $ADVERSE_EVENTS_DATA).")] = None,
    holdout: Annotated[bool, typer.Option(
        "--holdout/--no-holdout",
        help="Leave the held-out split out of training (so evaluate-extractor stays honest).")] = True,
    test_fraction: Annotated[float, typer.Option(help="Share of groups held out.")] = 0.2,
) -> None:
    """Train the local lexicon extractor (CRF + vocabularies) on span annotations."""
    from adverse_events.extractors.corpora import split
    from adverse_events.extractors.lexicon import train_lexicon

    try:
        corpora = _span_corpora(data_dir, corpus, spans)
        examples = []
        for examples_of in corpora.values():
            examples += split(examples_of, test_fraction)[0] if holdout else examples_of
        model = train_lexicon(examples, out, meta={
            "corpora": sorted(corpora), "holdout": holdout, "test_fraction": test_fraction})
    except AdverseEventsError as exc:
        raise _fail(exc) from None
    print_mapping(f"trained lexicon extractor -> {out}", {
        "examples": model.meta["examples"], "seconds": float(model.meta["seconds"]),
        "event phrases": len(model.event_phrases), "drug names": len(model.drug_names),
        "held out": holdout})


@app.command("evaluate-extractor")
def evaluate_extractor_command(
    model_dir: Annotated[Optional[Path], typer.Option(
        help="Trained lexicon model; without one, a model is trained on the training split.")] = None,
    corpus: Annotated[list[str], typer.Option(
        help="Corpus whose held-out split is scored: psytar, ade (repeatable).")] = ["psytar", "ade"],
    spans: Annotated[list[Path], typer.Option(help="Your own spans JSONL (repeatable).")] = [],
    data_dir: Annotated[Optional[Path], typer.Option(
        help="Data folder holding psytar/ and ade_corpus_v2/ (default: $ADVERSE_EVENTS_DATA).")] = None,
    test_fraction: Annotated[float, typer.Option(help="Share of groups held out.")] = 0.2,
    output: Annotated[Optional[Path], typer.Option(help="Also write the report as JSON.")] = None,
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
            train_lexicon([ex for train, _ in splits.values() for ex in train], model_dir,
                          meta={"holdout": True, "test_fraction": test_fraction})
        elif not LexiconModel.load(model_dir).meta.get("holdout", False):
            err_console.print("warning: this model was trained without --holdout; the held-out "
                              "texts were seen in training, so these numbers are optimistic")
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
                table.add_row(name, category, match, f"{s['precision']:.3f}", f"{s['recall']:.3f}",
                              f"{s['f1']:.3f}", str(s["gold"]), str(s["predicted"]))
    console.print(table)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"model_dir": str(model_dir), "results": report}, indent=2))
