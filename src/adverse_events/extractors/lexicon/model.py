"""`LexiconModel`: a trained CRF (or none) with its gazetteers and span filter, and its folder.

A model directory holds ``model.crfsuite`` (CRFsuite's own binary format) and ``lexicon.json``
(phrases, phrase statistics, the span filter's weights and metadata); nothing is pickled, so
loading a model runs no code. Inference only: training lives in `lexicon.train`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError, PluginError
from adverse_events.extractors._drugs import DrugMatcher
from adverse_events.extractors._span_filter import SpanFilter, span_features
from adverse_events.extractors.lexicon.features import _decode, _features, _plausible_event
from adverse_events.extractors.lexicon.gazetteer import _builtin_phrases, _PhraseSet, sure_phrases
from adverse_events.text.tokens import Token, sentence_spans, tokenize
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["FORMAT_VERSION", "LEXICON_FILE", "MODEL_FILE", "LexiconModel"]

MODEL_FILE = "model.crfsuite"
LEXICON_FILE = "lexicon.json"
FORMAT_VERSION = 2


def _crfsuite() -> Any:
    try:
        import pycrfsuite
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise PluginError(
            "extractor 'lexicon' needs: pip install 'adverse-events[extract]'"
        ) from exc
    return pycrfsuite


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
