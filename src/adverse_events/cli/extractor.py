"""``adverse-events train-extractor`` and ``evaluate-extractor``: the local lexicon extractor
on span corpora (PsyTAR, the ADE corpus, your own spans)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from adverse_events.cli.render import console, err_console, extractor_table, fail, print_mapping
from adverse_events.errors import AdverseEventsError

__all__ = ["evaluate_extractor_command", "train_extractor"]

DataDir = Annotated[
    Path | None,
    typer.Option(help="Folder with psytar/ and ade_corpus_v2/ (default: $ADVERSE_EVENTS_DATA)."),
]
TestFraction = Annotated[float, typer.Option(help="Share of groups held out.")]


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
    data_dir: DataDir = None,
    holdout: Annotated[
        bool,
        typer.Option(
            "--holdout/--no-holdout",
            help="Leave the held-out split out of training (keeps evaluate-extractor honest).",
        ),
    ] = True,
    test_fraction: TestFraction = 0.2,
) -> None:
    """Train the local lexicon extractor (CRF + vocabularies) on span annotations."""
    from adverse_events.extractors.workflow import load_span_corpora, train_on_corpora

    try:
        corpora = load_span_corpora(corpus or (), spans or (), data_dir)
        model = train_on_corpora(corpora, out, holdout=holdout, test_fraction=test_fraction)
    except AdverseEventsError as exc:
        raise fail(exc) from None
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
    data_dir: DataDir = None,
    test_fraction: TestFraction = 0.2,
    output: Annotated[Path | None, typer.Option(help="Also write the report as JSON.")] = None,
) -> None:
    """Exact and partial-overlap P/R/F1 per category on held-out reviews / articles."""
    from adverse_events.extractors.workflow import evaluate_held_out, load_span_corpora

    try:
        corpora = load_span_corpora(corpus or (), spans or (), data_dir)
        evaluation = evaluate_held_out(corpora, model_dir, test_fraction=test_fraction)
    except AdverseEventsError as exc:
        raise fail(exc) from None
    if evaluation.optimistic:
        err_console.print(
            "warning: this model was trained without --holdout; the held-out "
            "texts were seen in training, so these numbers are optimistic"
        )
    title = f"extractor evaluation (held-out {test_fraction:.0%} of groups)"
    console.print(extractor_table(title, evaluation.results))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        report = {"model_dir": str(evaluation.model_dir), "results": evaluation.results}
        output.write_text(json.dumps(report, indent=2))
