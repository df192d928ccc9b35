"""Training and scoring the local lexicon extractor on span corpora: what the CLI's
``train-extractor`` and ``evaluate-extractor`` run.

Both take the same corpora (`load_span_corpora`: the built-in PsyTAR and ADE corpus, your own
spans JSONL files) and the same deterministic held-out split by group
(`adverse_events.extractors.corpora.split`), so a model trained with ``holdout=True`` never saw
a sentence of the reviews and articles it is scored on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adverse_events.errors import ConfigError
from adverse_events.extractors.corpora import SpanExample, load_corpus, load_spans_jsonl, split

if TYPE_CHECKING:
    from adverse_events.extractors.lexicon import LexiconModel

__all__ = [
    "DEFAULT_CORPORA",
    "HeldOutEvaluation",
    "evaluate_held_out",
    "load_span_corpora",
    "train_on_corpora",
]

#: The built-in corpora used when neither a corpus nor a spans file is named.
DEFAULT_CORPORA = ("psytar", "ade")

Corpora = Mapping[str, Sequence[SpanExample]]


def load_span_corpora(
    corpus: Sequence[str] = (),
    spans: Sequence[str | os.PathLike[str]] = (),
    root: Path | None = None,
) -> dict[str, list[SpanExample]]:
    """The named built-in corpora (``psytar``, ``ade``; read from `root`, default the shared
    data folder) and the spans JSONL files, by name (a file is named by its path).

    With neither, the `DEFAULT_CORPORA`. Missing corpus files and bad span lines raise the
    loaders' `ConfigError` / `InputError`.
    """
    from adverse_events.extractors.corpora import data_dir

    folder = root or data_dir()
    names, files = list(corpus), list(spans)
    if not names and not files:
        names = list(DEFAULT_CORPORA)
    found = {name: load_corpus(name, folder) for name in names}
    for path in files:
        found[str(path)] = load_spans_jsonl(path)
    if not found:
        raise ConfigError("give at least one --corpus or --spans")
    return found


def train_on_corpora(
    corpora: Corpora,
    out: str | os.PathLike[str],
    *,
    holdout: bool = True,
    test_fraction: float = 0.2,
) -> LexiconModel:
    """Train a lexicon model on every corpus (only its training split with `holdout`) and save
    it to `out`; the corpora names, `holdout` and `test_fraction` are kept in its meta."""
    from adverse_events.extractors.lexicon import train_lexicon

    examples: list[SpanExample] = []
    for examples_of in corpora.values():
        examples += split(examples_of, test_fraction)[0] if holdout else list(examples_of)
    return train_lexicon(
        examples,
        out,
        meta={"corpora": sorted(corpora), "holdout": holdout, "test_fraction": test_fraction},
    )


@dataclass(frozen=True)
class HeldOutEvaluation:
    """Scores per corpus (`evaluate_extractor`'s report) of the model in `model_dir`.

    `optimistic`: the model was trained without a held-out split, so the scored texts were seen
    in training and the numbers flatter it.
    """

    model_dir: Path
    results: dict[str, dict[str, Any]]
    optimistic: bool = False


def evaluate_held_out(
    corpora: Corpora,
    model_dir: str | os.PathLike[str] | None = None,
    *,
    test_fraction: float = 0.2,
) -> HeldOutEvaluation:
    """Exact and partial-overlap P/R/F1 per category on each corpus's held-out split.

    Without `model_dir`, a model is trained on the training splits first (in a new temporary
    folder, returned as `HeldOutEvaluation.model_dir`), so the scores are honest.
    """
    from adverse_events.extractors.evaluation import evaluate_extractor
    from adverse_events.extractors.lexicon import LexiconExtractor, LexiconModel, train_lexicon

    splits = {name: split(examples, test_fraction) for name, examples in corpora.items()}
    optimistic = False
    if model_dir is None:
        folder = Path(tempfile.mkdtemp(prefix="ae-lexicon-eval-"))
        train_lexicon(
            [ex for train, _ in splits.values() for ex in train],
            folder,
            meta={"holdout": True, "test_fraction": test_fraction},
        )
    else:
        folder = Path(model_dir)
        optimistic = not LexiconModel.load(folder).meta.get("holdout", False)
    extractor = LexiconExtractor(model_dir=folder, code_icd10=False)
    results = {name: evaluate_extractor(extractor, test) for name, (_, test) in splits.items()}
    return HeldOutEvaluation(folder, results, optimistic)
