"""Sentence features from mention evidence (a CRF extractor) and cheap text cues.

Used to stack the TF-IDF probability with what the lexicon CRF finds in a sentence: how many
adverse-event spans, how sure, whether they are negated or hypothetical, whether a drug is named.
The CRF that makes these features must never have seen the sentences it scores
(`span_examples_for` selects the span annotations of training groups only).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "FEATURE_NAMES",
    "TEXT_FEATURE_NAMES",
    "mention_features",
    "span_examples_for",
    "text_features",
]

FEATURE_NAMES = (
    "ae_count",
    "ae_max",
    "ae_mean",
    "ae_sum",
    "ae_asserted",
    "ae_asserted_max",
    "ae_negated",
    "ae_hypothetical",
    "drug_count",
    "drug_present",
)
TEXT_FEATURE_NAMES = ("first_person", "past_tense", "length", "negation_word")

_FIRST = re.compile(r"\b(i|i'm|i've|i'd|me|my|myself)\b", re.IGNORECASE)
_PAST = re.compile(
    r"\b(\w{3,}ed|was|were|had|got|felt|became|gave|made|took|began)\b", re.IGNORECASE
)
_NEG = re.compile(r"\b(no|not|never|without|none|n't|nothing)\b|n't\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def _group_key(group: str) -> str:
    return group.removeprefix("pmid:")


def span_examples_for(
    examples: Iterable[Any], groups: Collection[str], exclude_texts: Iterable[str] = ()
) -> list[Any]:
    """The span examples whose group is one of `groups` (classification groups such as
    ``pmid:123`` or a review id) and whose text is none of `exclude_texts` (held-out texts
    that also occur in another group)."""
    keys = {_group_key(g) for g in groups}
    banned = {t.strip().lower() for t in exclude_texts}
    return [
        e for e in examples if _group_key(e.group) in keys and e.text.strip().lower() not in banned
    ]


def mention_features(model: Any, texts: Sequence[str]) -> np.ndarray:
    """One row of `FEATURE_NAMES` per text from ``model.spans(text)`` (a `LexiconModel`)."""
    from adverse_events.extractors.assertion import traits_for

    rows = np.zeros((len(texts), len(FEATURE_NAMES)))
    for i, text in enumerate(texts):
        spans = model.spans(text)
        ae = [(s, e, score) for s, e, cat, score in spans if cat == "ADVERSE_EVENT"]
        drugs = sum(1 for *_, cat, _ in spans if cat == "DRUG")
        scores = [score for *_, score in ae]
        negated = hypothetical = 0
        asserted: list[float] = []
        for start, end, score in ae:
            traits = traits_for(text, start, end)
            negated += "NEGATION" in traits
            hypothetical += "HYPOTHETICAL" in traits
            if "NEGATION" not in traits and "HYPOTHETICAL" not in traits:
                asserted.append(score)
        rows[i] = (
            np.log1p(len(ae)),
            max(scores, default=0.0),
            float(np.mean(scores)) if scores else 0.0,
            sum(scores),
            np.log1p(len(asserted)),
            max(asserted, default=0.0),
            np.log1p(negated),
            np.log1p(hypothetical),
            np.log1p(drugs),
            float(drugs > 0),
        )
    return rows


def text_features(texts: Sequence[str]) -> np.ndarray:
    """One row of `TEXT_FEATURE_NAMES` per text: first-person and past-tense cues (patients
    telling what happened to them), length, a negation word."""
    rows = np.zeros((len(texts), len(TEXT_FEATURE_NAMES)))
    for i, text in enumerate(texts):
        words = max(1, len(_WORD.findall(text)))
        rows[i] = (
            np.log1p(len(_FIRST.findall(text))),
            np.log1p(len(_PAST.findall(text))),
            np.log(words),
            float(bool(_NEG.search(text))),
        )
    return rows
