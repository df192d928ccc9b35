"""`LexiconExtractor`: local drug and adverse-event mentions, no cloud, no pretrained weights.

A linear-chain CRF (python-crfsuite) over word, affix, shape and context features, plus two
gazetteers: a drug vocabulary (`adverse_events.vocabulary`, the file the social-media sources
use too: generics, brands, synonyms and misspellings; plus the user's ``drug_vocabulary`` file
and drug names from the training spans; with an edit-distance-1 matcher) and adverse-event
phrases (built-in lay terms such as "brain zaps" or "can't sleep", plus every event mention in
the training spans). Drug names found by the vocabulary are always reported, whatever the CRF
says. Assertion traits (`adverse_events.extractors.assertion`) are added to event mentions and,
by default, mentions that are negated, hypothetical or about a relative are dropped
(``exclude_traits``; ``keep_excluded=True`` keeps them, flagged). Event mentions are coded to
ICD-10-CM locally and, when ``meddra_path`` points at a MedDRA release, to MedDRA LLT/PT/SOC.

Where the model comes from:

* ``model_dir`` holding a trained model (``adverse-events train-extractor``): loaded lazily.
* ``train_data`` (a data folder with ``psytar/`` and/or ``ade_corpus_v2/``, or a spans JSONL
  file): trained on first use (about a minute on 2 cores) and saved to ``model_dir`` if given.
* neither: the built-in vocabularies only (dictionary matching; lower recall, no training).

A model directory holds ``model.crfsuite`` (CRFsuite's own binary format) and
``lexicon.json`` (phrases and metadata); nothing is pickled, so loading a model runs no code.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PermanentBackendError, PluginError
from adverse_events.extractors._drugs import DrugMatcher
from adverse_events.extractors._span_filter import (
    SpanFilter,
    best_threshold,
    fit_span_filter,
    is_content_word,
    span_features,
)
from adverse_events.extractors.assertion import apply_traits, filter_mentions
from adverse_events.extractors.corpora import SpanExample, _is_test, load_corpus
from adverse_events.models import resolve_model
from adverse_events.protocols import Backend
from adverse_events.records import EXCLUDING_TRAITS, Concept, Mention
from adverse_events.text.tokens import Token, normalize, sentence_spans, tokenize
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["LexiconExtractor", "LexiconModel", "train_lexicon"]

log = logging.getLogger(__name__)

MODEL_FILE = "model.crfsuite"
LEXICON_FILE = "lexicon.json"
FORMAT_VERSION = 2
_SHORT = {"ADVERSE_EVENT": "AE", "DRUG": "DRUG"}
_LONG = {v: k for k, v in _SHORT.items()}
_MAX_PHRASE = 8


def _crfsuite() -> Any:
    try:
        import pycrfsuite
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise PluginError(
            "extractor 'lexicon' needs: pip install 'adverse-events[extract]'"
        ) from exc
    return pycrfsuite


# -- gazetteers -----------------------------------------------------------------------------------
def _key(phrase: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(normalize(phrase)))


class _PhraseSet:
    """Multi-word phrases matched longest-first over normalised tokens."""

    def __init__(self, phrases: Iterable[str] = ()):
        self.phrases: set[tuple[str, ...]] = set()
        for phrase in phrases:
            self.add(phrase)

    def add(self, phrase: str) -> None:
        key = _key(phrase)
        if key and len(key) <= _MAX_PHRASE and any(len(t) > 2 for t in key):
            self.phrases.add(key)

    def match(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """Token ranges ``[i, j)`` of non-overlapping longest matches."""
        found, i = [], 0
        while i < len(words):
            for j in range(min(len(words), i + _MAX_PHRASE), i, -1):
                if tuple(words[i:j]) in self.phrases:
                    found.append((i, j))
                    i = j
                    break
            else:
                i += 1
        return found


def _builtin_phrases() -> list[str]:
    from adverse_events.coding.lay_terms import LAY_TERMS

    return list(LAY_TERMS)


# -- features -------------------------------------------------------------------------------------
def _shape(word: str) -> str:
    if word.isdigit():
        return "d"
    if not word[0].isalnum():
        return "p"
    if word.isupper() and len(word) > 1:
        return "X"
    return "Xx" if word[0].isupper() else "x"


_WORD_CACHE: dict[str, list[str]] = {}


def _word_features(word: str) -> list[str]:
    cached = _WORD_CACHE.get(word)
    if cached is None:
        low = word.lower()
        cached = [
            f"w={low}",
            f"s3={low[-3:]}",
            f"s2={low[-2:]}",
            f"s4={low[-4:]}",
            f"p3={low[:3]}",
            f"p4={low[:4]}",
            f"stem={low.rstrip('s')[:6]}",
            f"sh={_shape(word)}",
            f"len={min(len(low), 8)}",
        ]
        if len(_WORD_CACHE) < 200_000:
            _WORD_CACHE[word] = cached
    return cached


def _tags(length: int, ranges: Iterable[tuple[int, int]]) -> list[str]:
    tags = ["O"] * length
    for i, j in ranges:
        tags[i] = "B"
        for k in range(i + 1, j):
            tags[k] = "I"
    return tags


#: Sentence-level cues: withdrawal, missed doses and indications read differently from reactions.
_CUES = frozenset(
    {
        "withdrawal",
        "withdrawals",
        "quit",
        "quitting",
        "stopped",
        "stopping",
        "missed",
        "miss",
        "off",
        "weaning",
        "wean",
        "tapering",
        "taper",
        "helped",
        "helps",
        "help",
        "for",
        "treat",
        "before",
        "side",
        "effects",
        "effect",
        "gone",
        "went",
        "away",
        "better",
        "improved",
        "diagnosed",
        "prescribed",
        "because",
        "due",
        "caused",
        "gave",
        "made",
        "started",
    }
)


def _features(words: Sequence[str], events: _PhraseSet, drugs: DrugMatcher) -> list[list[str]]:
    """CRFsuite attributes for each token of one sentence."""
    lows = [w.lower().replace("’", "'") for w in words]
    cues = [f"cue={w}" for w in sorted(_CUES.intersection(lows))]
    event_tags = _tags(len(words), events.match(lows))
    drug_tags = ["D" if len(w) > 2 and drugs.lookup(w) else "O" for w in lows]
    padded = ["<s>", "<s>", *lows, "</s>", "</s>"]
    rows = []
    for i, word in enumerate(words):
        k = i + 2
        row = [
            *_word_features(word),
            f"w-1={padded[k - 1]}",
            f"w+1={padded[k + 1]}",
            f"w-2={padded[k - 2]}",
            f"w+2={padded[k + 2]}",
            f"b-1={padded[k - 1]}|{padded[k]}",
            f"b+1={padded[k]}|{padded[k + 1]}",
            f"gz={event_tags[i]}",
            f"gd={drug_tags[i]}",
            f"gz-1={event_tags[i - 1] if i else '^'}",
            f"gz+1={event_tags[i + 1] if i + 1 < len(words) else '$'}",
            f"gz-2={event_tags[i - 2] if i > 1 else '^'}",
            f"gz+2={event_tags[i + 2] if i + 2 < len(words) else '$'}",
            f"pos={min(i, 3)}",
            *cues,
        ]
        rows.append(row)
    return rows


#: Words that make a span a good state, not a reaction ("feeling ok", "sleeping fine").
_WELL = frozenset({"ok", "okay", "fine", "great", "good", "better", "normal", "wonders"})


def _plausible_event(words: Sequence[str]) -> bool:
    """False for spans with no content word ("could", "up to") or describing feeling well."""
    return any(is_content_word(w) for w in words) and _WELL.isdisjoint(words)


def _bio(tokens: Sequence[Token], spans: Iterable[tuple[int, int, str]]) -> list[str]:
    labels = ["O"] * len(tokens)
    for start, end, category in spans:
        inside = [i for i, t in enumerate(tokens) if t.start < end and t.end > start]
        for n, i in enumerate(inside):
            labels[i] = f"{'B' if n == 0 else 'I'}-{_SHORT[category]}"
    return labels


def _decode(tokens: Sequence[Token], labels: Sequence[str]) -> list[tuple[int, int, str, int, int]]:
    """(start, end, category, first token, last token + 1) for each labelled span."""
    spans, begin, current = [], -1, ""
    for i, label in enumerate([*labels, "O"]):
        kind = label[2:] if label != "O" else ""
        if begin >= 0 and (label.startswith("B-") or kind != current):
            spans.append((tokens[begin].start, tokens[i - 1].end, _LONG[current], begin, i))
            begin, current = -1, ""
        if kind and begin < 0:
            begin, current = i, kind
    return spans


# -- the model ------------------------------------------------------------------------------------
class LexiconModel:
    """A trained CRF (or none) with its gazetteers and span filter; a directory on disk.

    Decoding a sentence: the CRF proposes spans (Viterbi plus posterior decoding); phrases that
    were a mention in most of their training occurrences ("sure" phrases) and the built-in lay
    terms add spans the CRF missed; the span filter, when trained, keeps the adverse-event spans
    whose probability of being a reaction reaches its calibrated threshold and scores them with
    that probability; drug names from the vocabulary are always reported.
    """

    def __init__(
        self,
        crf_path: Path | None,
        events: list[str],
        drugs: list[str],
        meta: dict[str, Any] | None = None,
        phrase_stats: dict[str, list[int]] | None = None,
        span_filter: SpanFilter | None = None,
        vocabulary: DrugVocabulary | None = None,
    ):
        self.crf_path = crf_path
        self.event_phrases = events
        self.drug_names = drugs
        self.meta = meta or {}
        self.events = _PhraseSet([*_builtin_phrases(), *events])
        self.phrase_stats = dict(phrase_stats or {})
        self.span_filter = span_filter
        self._stats = {
            tuple(k.split(" ")): (int(v[0]), int(v[1])) for k, v in self.phrase_stats.items()
        }
        self.sure_events = self._sure_events()
        self._sure = _PhraseSet(self.sure_events)
        self._sure_score = {tuple(p.split(" ")): v for p, v in self.sure_events.items()}
        self.drugs = DrugMatcher(drugs, vocabulary=vocabulary)
        self._tagger: Any = None
        if crf_path is not None:
            self._tagger = _crfsuite().Tagger()
            self._tagger.open(str(crf_path))

    def _sure_events(self) -> dict[str, float]:
        if not self.meta.get("trained") or not self.meta.get("dictionary_union", False):
            return {}
        return sure_phrases(
            self._stats,
            int(self.meta.get("sure_min_hits", 2)),
            float(self.meta.get("sure_min_precision", 0.5)),
            _builtin_phrases(),
        )

    @classmethod
    def builtin(cls, vocabulary: DrugVocabulary | None = None) -> LexiconModel:
        """No CRF: the drug vocabulary (default: built-in) and lay adverse-event phrases only."""
        return cls(None, [], [], {"trained": False}, vocabulary=vocabulary)

    @classmethod
    def load(
        cls, model_dir: str | os.PathLike[str], vocabulary: DrugVocabulary | None = None
    ) -> LexiconModel:
        """The model in `model_dir`; its drug names add to `vocabulary` (default: built-in)."""
        folder = Path(model_dir)
        try:
            data = json.loads((folder / LEXICON_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"lexicon model_dir {str(folder)!r}: cannot read {LEXICON_FILE}: "
                f"{exc}; train one with `adverse-events train-extractor`"
            ) from exc
        if data.get("format_version") not in (1, FORMAT_VERSION):
            raise ConfigError(
                f"lexicon model in {folder} has format "
                f"{data.get('format_version')}, expected {FORMAT_VERSION}; retrain it"
            )
        crf = folder / MODEL_FILE
        span_filter = data.get("span_filter")
        return cls(
            crf if crf.is_file() else None,
            data["event_phrases"],
            data["drug_names"],
            data.get("meta", {}),
            data.get("phrase_stats", {}),
            SpanFilter.from_json(span_filter) if span_filter else None,
            vocabulary,
        )

    def save(self, model_dir: str | os.PathLike[str]) -> Path:
        folder = Path(model_dir)
        folder.mkdir(parents=True, exist_ok=True)
        if self.crf_path is not None and self.crf_path.resolve() != (folder / MODEL_FILE).resolve():
            (folder / MODEL_FILE).write_bytes(self.crf_path.read_bytes())
        payload = {
            "format_version": FORMAT_VERSION,
            "event_phrases": sorted(self.event_phrases),
            "drug_names": sorted(self.drug_names),
            "meta": self.meta,
            "phrase_stats": dict(sorted(self.phrase_stats.items())),
            "span_filter": self.span_filter.to_json() if self.span_filter else None,
        }
        (folder / LEXICON_FILE).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        return folder

    def spans(self, text: str, fallback: bool = False) -> list[tuple[int, int, str, float]]:
        """(start, end, category, score) of every mention found in `text`."""
        found: list[tuple[int, int, str, float]] = []
        for begin, end in sentence_spans(text):
            tokens = tokenize(text, begin, end)
            if tokens:
                found += [c[:4] for c in self._sentence(tokens, fallback, self.span_filter)]
        return sorted(found)

    def candidates(self, text: str) -> list[tuple[int, int, str, float, dict[str, float]]]:
        """Unfiltered spans with their span-filter features (to train the filter)."""
        found = []
        for begin, end in sentence_spans(text):
            tokens = tokenize(text, begin, end)
            if tokens:
                found += self._sentence(tokens, False, None, with_features=True)
        return found

    def _sentence(
        self,
        tokens: Sequence[Token],
        fallback: bool,
        span_filter: SpanFilter | None,
        with_features: bool = False,
    ) -> list[Any]:
        words = [t.text for t in tokens]
        lows = [w.lower().replace("’", "'") for w in words]
        decoded: list[tuple[int, int, str, int, int]] = []
        labels: list[str] = []
        if self._tagger is not None:
            labels = self._relabel(self._tagger.tag(_features(words, self.events, self.drugs)))
            decoded = _decode(tokens, labels)
        events = [  # (first token, last token + 1, source, score)
            (i, j, "crf", self._score(labels, i, j))
            for _, _, cat, i, j in decoded
            if cat == "ADVERSE_EVENT"
        ]
        extra = [
            (i, j, "dict", self._sure_score[tuple(lows[i:j])]) for i, j in self._sure.match(lows)
        ]
        if fallback or self._tagger is None:
            extra += [(i, j, "builtin", 0.5) for i, j in self.events.match(lows)]
        taken = [(i, j) for _, _, _, i, j in decoded]
        for i, j, source, score in extra:
            if all(j <= a or i >= b for a, b in taken):
                taken.append((i, j))
                events.append((i, j, source, score))
        vocabulary = [i for i, w in enumerate(lows) if len(w) > 2 and self.drugs.lookup(w)]
        drug_in_sentence = bool(vocabulary) or any(cat == "DRUG" for _, _, cat, _, _ in decoded)
        out: list[Any] = []
        for i, j, source, score in events:
            if not _plausible_event(lows[i:j]):
                continue
            feats: dict[str, float] = {}
            if with_features or span_filter is not None:
                stats = self._stats.get(tuple(lows[i:j]))
                feats = span_features(lows, i, j, source, score, stats, drug_in_sentence)
            if span_filter is not None:
                score = round(span_filter.probability(feats), 4)
                if score < span_filter.threshold:
                    continue
            row = (tokens[i].start, tokens[j - 1].end, "ADVERSE_EVENT", score)
            out.append((*row, feats) if with_features else row)
        for start, end, cat, i, j in decoded:
            if cat == "DRUG":
                row = (start, end, "DRUG", self._score(labels, i, j))
                out.append((*row, {}) if with_features else row)
        for i in vocabulary:
            start, end = tokens[i].start, tokens[i].end
            if all(end <= s or start >= e for s, e, *_ in out):
                row = (start, end, "DRUG", 0.95)
                out.append((*row, {}) if with_features else row)
        return sorted(out, key=lambda r: r[:2])

    def _relabel(self, labels: list[str]) -> list[str]:
        """Posterior decoding on top of Viterbi: a token the CRF gives less than
        `o_threshold` probability of being outside any mention joins a mention (recall)."""
        threshold = float(self.meta.get("o_threshold", 0.5))
        if threshold <= 0.5:
            return labels
        tagger, out = self._tagger, list(labels)
        names = [n for n in tagger.labels() if n != "O"]
        for i, label in enumerate(labels):
            if label == "O" and tagger.marginal("O", i) < threshold:
                best = max(names, key=lambda n: tagger.marginal(n, i))
                kind = best[2:]
                continuing = i > 0 and out[i - 1] != "O" and out[i - 1][2:] == kind
                out[i] = f"{'I' if continuing else 'B'}-{kind}"
        return out

    def _score(self, labels: Sequence[str], i: int, j: int) -> float:
        marginals = [self._tagger.marginal(labels[k], k) for k in range(i, j)]
        return round(min(1.0, max(0.0, sum(marginals) / len(marginals))), 4)


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


def _phrases(examples: Iterable[SpanExample], category: str) -> set[str]:
    return {normalize(ex.text[s:e]) for ex in examples for s, e, c in ex.spans if c == category}


def phrase_counts(
    examples: Iterable[SpanExample], phrases: _PhraseSet
) -> dict[tuple[str, ...], tuple[int, int]]:
    """``{phrase: (hits, occurrences)}``: how often each phrase occurs in the texts (longest
    match first) and how often that occurrence overlaps a gold adverse-event span."""
    counts: dict[tuple[str, ...], list[int]] = {}
    for example in examples:
        if "ADVERSE_EVENT" not in example.annotated:
            continue
        tokens = tokenize(example.text)
        lows = [t.text.lower().replace("’", "'") for t in tokens]
        gold = [(s, e) for s, e, c in example.spans if c == "ADVERSE_EVENT"]
        for i, j in phrases.match(lows):
            start, end = tokens[i].start, tokens[j - 1].end
            row = counts.setdefault(tuple(lows[i:j]), [0, 0])
            row[0] += any(start < e and s < end for s, e in gold)
            row[1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def sure_phrases(
    counts: dict[tuple[str, ...], tuple[int, int]],
    min_hits: int = 2,
    min_precision: float = 0.5,
    unseen: Iterable[str] = (),
    unseen_score: float = 0.6,
) -> dict[str, float]:
    """Phrases reliable enough to report without the CRF: a mention at least `min_hits` times
    and in at least `min_precision` of their training occurrences (score: smoothed precision),
    plus `unseen` phrases (built-in lay terms) never met in training."""
    sure = {
        " ".join(key): round((hits + 1) / (seen + 2), 4)
        for key, (hits, seen) in counts.items()
        if hits >= min_hits and hits / seen >= min_precision
    }
    for phrase in unseen:
        key = _key(phrase)
        if key and key not in counts:
            sure.setdefault(" ".join(key), unseen_score)
    return sure


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


# -- the extractor --------------------------------------------------------------------------------
class LexiconExtractor(Backend):
    """Local extractor: CRF + vocabularies -> DRUG and ADVERSE_EVENT mentions, ICD-10-CM coded.

    Args:
        model_dir: a trained model directory (see module docstring), or ``"builtin"`` for the
            shipped model (`adverse_events.models`, trained on PsyTAR); created when
            ``train_data`` is given and it does not exist yet.
        train_data: data folder or spans JSONL file to train from on first use.
        corpora: which corpora of a data folder to train on (``"psytar"``, ``"ade"``).
        code_icd10: link event mentions to ICD-10-CM codes (local, full code set).
        icd10_min_score: lowest ICD-10-CM match score kept.
        icd10_encoder: a local sentence-encoder folder (e.g. all-MiniLM-L6-v2) for semantic
            ICD-10-CM matching of phrases the lexical steps abstain on (off by default:
            about 20 ms per new phrase on a CPU; needs the ``torch`` extra).
        meddra_path: folder of a licensed MedDRA ASCII release; MedDRA codes stay empty without.
        exclude_traits: mentions with any of these traits are dropped ...
        keep_excluded: ... unless this is true (they are kept, flagged by their traits).
        min_score: lowest mention score kept.
        drug_vocabulary: a JSON drug vocabulary file (the format the X source's ``vocabulary``
            takes: ``generic``, ``brands``, ``synonyms``, ``misspellings``, ``ingredients``)
            that extends the built-in one; its names are always reported as DRUG mentions.
        normalize_drugs: resolve each DRUG mention to its active ingredient(s)
            (`adverse_events.coding.ingredients`); a mention that names none is kept with the
            trait ``UNRESOLVED``.
        drug_dictionary: also resolve through the `drug-named-entity-recognition` dictionary:
            ``None`` when installed, ``True`` required, ``False`` vocabulary only.
    """

    name = "lexicon"

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        train_data: str | os.PathLike[str] | None = None,
        corpora: Sequence[str] = ("psytar", "ade"),
        code_icd10: bool = True,
        icd10_min_score: float = 0.5,
        icd10_encoder: str | os.PathLike[str] | None = None,
        meddra_path: str | os.PathLike[str] | None = None,
        exclude_traits: Sequence[str] = EXCLUDING_TRAITS,
        keep_excluded: bool = False,
        min_score: float = 0.0,
        drug_vocabulary: str | os.PathLike[str] | None = None,
        normalize_drugs: bool = True,
        drug_dictionary: bool | None = None,
    ):
        self.model_dir = Path(resolve_model(model_dir, "lexicon")) if model_dir else None
        self.train_data = Path(train_data) if train_data else None
        has_model = self.model_dir is not None and (self.model_dir / LEXICON_FILE).is_file()
        if self.model_dir is not None and not has_model and self.train_data is None:
            raise ConfigError(
                f"lexicon: model_dir {str(self.model_dir)!r} holds no model; train "
                "one with `adverse-events train-extractor` or give train_data"
            )
        if self.train_data is not None and not self.train_data.exists():
            raise ConfigError(f"lexicon: train_data {str(self.train_data)!r} does not exist")
        if not 0.0 <= min_score <= 1.0 or not 0.0 <= icd10_min_score <= 1.0:
            raise ConfigError("lexicon: min_score and icd10_min_score must be in [0, 1]")
        self.corpora = tuple(corpora)
        self.code_icd10 = code_icd10
        self.icd10_min_score = icd10_min_score
        self.icd10_encoder = Path(icd10_encoder) if icd10_encoder else None
        if self.icd10_encoder is not None and not (self.icd10_encoder / "config.json").is_file():
            raise ConfigError(
                f"lexicon: icd10_encoder {str(self.icd10_encoder)!r} is not a model folder"
            )
        self.meddra_path = Path(meddra_path) if meddra_path else None
        if self.meddra_path is not None and not self.meddra_path.is_dir():
            raise ConfigError(f"lexicon: meddra_path {str(self.meddra_path)!r} is not a folder")
        self.exclude_traits = tuple(exclude_traits)
        self.keep_excluded = keep_excluded
        self.min_score = min_score
        self.drug_vocabulary = DrugVocabulary.load(drug_vocabulary)
        self.normalize_drugs = normalize_drugs
        self.drug_dictionary = drug_dictionary
        if normalize_drugs and drug_dictionary:
            from adverse_events.coding.ingredients import dictionary_available

            if not dictionary_available():
                raise PluginError(
                    "lexicon: drug_dictionary needs: pip install 'adverse-events[extract]'"
                )
        self._ingredients: Any = None
        self._model: LexiconModel | None = None
        self._icd10: Any = None
        self._meddra: Any = None

    def __repr__(self) -> str:
        return f"LexiconExtractor(model_dir={str(self.model_dir) if self.model_dir else None!r})"

    # lifecycle
    def open(self) -> None:
        self.model  # noqa: B018 - loads it

    @property
    def model(self) -> LexiconModel:
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def _load_model(self) -> LexiconModel:
        if self.model_dir is not None and (self.model_dir / LEXICON_FILE).is_file():
            return LexiconModel.load(self.model_dir, self.drug_vocabulary)
        if self.train_data is not None:
            return train_lexicon(
                self._training_examples(),
                self.model_dir,
                meta={"train_data": str(self.train_data)},
                vocabulary=self.drug_vocabulary,
            )
        return LexiconModel.builtin(self.drug_vocabulary)

    def _training_examples(self) -> list[SpanExample]:
        assert self.train_data is not None
        if self.train_data.is_file():
            return load_corpus(str(self.train_data))
        return [ex for name in self.corpora for ex in load_corpus(name, self.train_data)]

    def close(self) -> None:
        self._model = None

    # extraction
    def extract(self, texts: Sequence[str]) -> list[list[Mention]]:
        """One list of mentions per text, in order."""
        model = self.model
        out = []
        for text in texts:
            if not isinstance(text, str):
                raise PermanentBackendError(
                    f"expected text, got {type(text).__name__}", backend=self.name
                )
            out.append(self._extract_one(model, text))
        return out

    def _extract_one(self, model: LexiconModel, text: str) -> list[Mention]:
        mentions = [
            Mention(
                text=text[s:e],
                start=s,
                end=e,
                category=cat,
                score=score,
                concepts=self._concepts(text[s:e], cat),
            )
            for s, e, cat, score in model.spans(text)
            if score >= self.min_score
        ]
        mentions = apply_traits(text, mentions, categories=("ADVERSE_EVENT",))
        if self.normalize_drugs:
            mentions = self._ingredient_normalizer().normalize(mentions)
        return filter_mentions(mentions, self.exclude_traits, self.keep_excluded)

    def _ingredient_normalizer(self) -> Any:
        if self._ingredients is None:
            from adverse_events.coding.ingredients import IngredientNormalizer

            self._ingredients = IngredientNormalizer(
                self.drug_vocabulary, dictionary=self.drug_dictionary
            )
        return self._ingredients

    def _concepts(self, phrase: str, category: str) -> tuple[Concept, ...]:
        if category != "ADVERSE_EVENT":
            return ()
        found: list[Concept] = []
        if self.code_icd10:
            found += self._icd10_coder().code(phrase, min_score=self.icd10_min_score)
        if self.meddra_path is not None:
            found += self._meddra_coder().code(phrase)
        return tuple(found)

    def _icd10_coder(self) -> Any:
        if self._icd10 is None:
            from adverse_events.coding.icd10cm import ICD10CMCoder

            self._icd10 = ICD10CMCoder(encoder=self.icd10_encoder)
        return self._icd10

    def _meddra_coder(self) -> Any:
        if self._meddra is None:
            from adverse_events.coding.meddra import MedDRACoder

            assert self.meddra_path is not None, "MedDRA coding needs meddra_path"
            self._meddra = MedDRACoder(self.meddra_path)
        return self._meddra
