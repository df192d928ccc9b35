"""`train_lexicon`: train the CRF, collect phrase statistics and (optionally) the span filter.

Training only; the extractor imports this module on first use, when it is given ``train_data``
and no trained model.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError
from adverse_events.extractors._drugs import DrugMatcher
from adverse_events.extractors._span_filter import SpanFilter, best_threshold, fit_span_filter
from adverse_events.extractors.corpora import SpanExample, _is_test
from adverse_events.extractors.lexicon.features import _bio, _features
from adverse_events.extractors.lexicon.gazetteer import (
    _builtin_phrases,
    _phrases,
    _PhraseSet,
    phrase_counts,
)
from adverse_events.extractors.lexicon.model import MODEL_FILE, LexiconModel, _crfsuite
from adverse_events.text.tokens import Token, tokenize
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["train_lexicon"]

log = logging.getLogger(__name__)


def _silver(
    example: SpanExample, tokens: Sequence[Token], drugs: DrugMatcher
) -> list[tuple[int, int, str]]:
    """Gold spans, plus vocabulary drug names where the corpus did not annotate drugs."""
    spans = list(example.spans)
    if "DRUG" not in example.annotated:
        for token in tokens:
            if (
                len(token.text) > 2
                and drugs.lookup(token.text)
                and all(token.end <= s or token.start >= e for s, e, _ in spans)
            ):
                spans.append((token.start, token.end, "DRUG"))
    return spans


def _train_crf(
    examples: Sequence[SpanExample],
    path: Path,
    c1: float,
    c2: float,
    max_iterations: int,
    vocabulary: DrugVocabulary | None = None,
) -> None:
    """Train the CRF. The event gazetteer feature of a training sentence comes from the *other*
    half of the examples (two folds), so the CRF learns how far to trust a gazetteer hit on
    unseen text instead of copying it."""
    drug_matcher = DrugMatcher(sorted(_phrases(examples, "DRUG")), vocabulary=vocabulary)
    folds = [examples[0::2], examples[1::2]]
    builtin = _builtin_phrases()
    trainer = _crfsuite().Trainer(verbose=False)
    for n, fold in enumerate(folds):
        other = _PhraseSet([*builtin, *_phrases(folds[1 - n], "ADVERSE_EVENT")])
        for example in fold:
            tokens = tokenize(example.text)
            if tokens:
                words = [t.text for t in tokens]
                labels = _bio(tokens, _silver(example, tokens, drug_matcher))
                trainer.append(_features(words, other, drug_matcher), labels)
    trainer.set_params(
        {"c1": c1, "c2": c2, "max_iterations": max_iterations, "feature.possible_transitions": True}
    )
    trainer.train(str(path))


def _model_on(
    examples: Sequence[SpanExample],
    crf: Path,
    settings: dict[str, Any],
    vocabulary: DrugVocabulary | None = None,
) -> LexiconModel:
    """A filter-less model from a trained CRF file and the phrase statistics of `examples`."""
    events_seen = sorted(_phrases(examples, "ADVERSE_EVENT"))
    counts = phrase_counts(examples, _PhraseSet([*_builtin_phrases(), *events_seen]))
    stats = {" ".join(k): [h, n] for k, (h, n) in counts.items()}
    drugs_seen = sorted(_phrases(examples, "DRUG"))
    return LexiconModel(
        crf, events_seen, drugs_seen, {"trained": True, **settings}, stats, vocabulary=vocabulary
    )


def _train_span_filter(
    examples: Sequence[SpanExample],
    settings: dict[str, Any],
    crf_options: dict[str, Any],
    c: float,
    calibrate_on: Sequence[str] | None,
) -> SpanFilter:
    """Fit the span filter on out-of-fold candidates (two folds by group) and calibrate its
    threshold for partial-overlap F1 there, on the corpora named in `calibrate_on` (all when
    None or when none of them is present)."""
    folds: list[list[SpanExample]] = [[], []]
    for example in examples:
        folds[_is_test(example.group, 0.5, "span-filter")].append(example)
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    held: list[tuple[SpanExample, list[tuple[int, int, dict[str, float]]]]] = []
    with tempfile.TemporaryDirectory(prefix="ae-lexicon-oof-") as tmp:
        for n, fold in enumerate(folds):
            crf = Path(tmp) / f"fold{n}.crfsuite"
            _train_crf(folds[1 - n], crf, **crf_options)
            model = _model_on(folds[1 - n], crf, settings, crf_options.get("vocabulary"))
            for example in fold:
                if "ADVERSE_EVENT" not in example.annotated:
                    continue
                gold = [(s, e) for s, e, cat in example.spans if cat == "ADVERSE_EVENT"]
                found = [
                    (s, e, f)
                    for s, e, cat, _, f in model.candidates(example.text)
                    if cat == "ADVERSE_EVENT"
                ]
                for s, e, feats in found:
                    rows.append(feats)
                    labels.append(int(any(s < ge and gs < e for gs, ge in gold)))
                held.append((example, found))
    if len(set(labels)) < 2:
        return SpanFilter({}, 10.0, 0.0)  # nothing to learn: keep every candidate
    span_filter = fit_span_filter(rows, labels, c)
    chosen = [(ex, f) for ex, f in held if calibrate_on and ex.corpus in calibrate_on]
    chosen = chosen or held
    span_filter.threshold, _ = best_threshold(
        [[(s, e, span_filter.probability(x)) for s, e, x in found] for _, found in chosen],
        [[(s, e) for s, e, cat in ex.spans if cat == "ADVERSE_EVENT"] for ex, _ in chosen],
    )
    return span_filter


def train_lexicon(
    examples: Sequence[SpanExample],
    model_dir: str | os.PathLike[str] | None = None,
    c1: float = 0.05,
    c2: float = 0.3,
    max_iterations: int = 150,
    o_threshold: float = 0.7,
    dictionary_union: bool = True,
    sure_min_hits: int = 2,
    sure_min_precision: float = 0.5,
    span_filter: bool = False,
    span_filter_c: float = 1.0,
    calibrate_on: Sequence[str] | None = ("psytar", "user"),
    meta: dict[str, Any] | None = None,
    vocabulary: DrugVocabulary | None = None,
) -> LexiconModel:
    """Train the CRF (and the span filter) on `examples`; saved to `model_dir` when given.

    `o_threshold` (> 0.5) turns on posterior decoding: a token whose probability of being
    outside every mention is below it joins a mention. `dictionary_union` adds phrases that
    were a mention in at least `sure_min_precision` of their training occurrences (and at
    least `sure_min_hits` times), and the built-in lay terms, where the CRF found nothing.
    `span_filter` trains the second-stage filter on out-of-fold candidates (about twice the
    training time) with its threshold calibrated on the `calibrate_on` corpora (patient text
    by default). Defaults were chosen on a development split of the training portion, never
    on the held-out test split. `vocabulary` (default: built-in) silver-labels drugs in corpora
    without drug annotations and feeds the drug gazetteer feature; the saved model keeps only
    the drug names of its training spans, so pass the same vocabulary when loading it.
    """
    if not any(ex.spans for ex in examples):
        raise ConfigError("no annotated spans to train on")
    started = time.perf_counter()
    folder = Path(model_dir) if model_dir else Path(tempfile.mkdtemp(prefix="ae-lexicon-"))
    folder.mkdir(parents=True, exist_ok=True)
    crf_options: dict[str, Any] = {
        "c1": c1,
        "c2": c2,
        "max_iterations": max_iterations,
        "vocabulary": vocabulary,
    }
    settings = {
        "o_threshold": o_threshold,
        "dictionary_union": dictionary_union,
        "sure_min_hits": sure_min_hits,
        "sure_min_precision": sure_min_precision,
    }
    _train_crf(examples, folder / MODEL_FILE, **crf_options)
    model = _model_on(examples, folder / MODEL_FILE, settings, vocabulary)
    if span_filter:
        model.span_filter = _train_span_filter(
            examples, settings, crf_options, span_filter_c, calibrate_on
        )
    model.meta.update(
        {
            "examples": len(examples),
            "span_filter": span_filter,
            "seconds": round(time.perf_counter() - started, 1),
            **(meta or {}),
        }
    )
    model.save(folder)
    log.info("trained lexicon CRF on %d examples in %.1fs", len(examples), model.meta["seconds"])
    return model
