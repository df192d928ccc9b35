"""CRF features of a sentence and the BIO labels the CRF is trained on and decodes.

Each token gets word, affix, shape and context features, the tags of the two gazetteers (event
phrases and drug names) around it, and sentence-level cues (withdrawal, missed doses and
indications read differently from reactions). `_bio` turns character spans into BIO labels,
`_decode` turns labels back into spans, and `_plausible_event` drops decoded spans that cannot
be a reaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from adverse_events.extractors._drugs import DrugMatcher
from adverse_events.extractors._span_filter import is_content_word
from adverse_events.extractors.lexicon.gazetteer import _PhraseSet
from adverse_events.text.tokens import Token

_SHORT = {"ADVERSE_EVENT": "AE", "DRUG": "DRUG"}
_LONG = {v: k for k, v in _SHORT.items()}


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
