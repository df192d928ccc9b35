"""The lexicon extractor's phrase gazetteers: multi-word phrase sets and phrase statistics.

The adverse-event gazetteer starts from the built-in lay terms (`adverse_events.coding.lay_terms`:
"brain zaps", "can't sleep") and adds every event phrase of the training spans. Phrases are
matched longest-first over normalised tokens. `phrase_counts` says how often a phrase was a
mention where it occurred in training; `sure_phrases` keeps the ones reliable enough to report
without the CRF (the model's dictionary union).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from adverse_events.extractors.corpora import SpanExample
from adverse_events.text.tokens import normalize, tokenize

__all__ = ["phrase_counts", "sure_phrases"]

_MAX_PHRASE = 8


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
