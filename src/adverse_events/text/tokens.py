"""Tokens and sentences with character offsets, and the normal form used for lookups.

Shared by the extractors (the lexicon CRF, Comprehend Medical's sentence splitting, drug-name
matching) and the coders (ICD-10-CM, MedDRA), so a phrase is normalised and tokenised the same
way wherever it is matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["Token", "normalize", "sentence_spans", "tokenize"]

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•])")
_SPACE = re.compile(r"\s+")


class Token(NamedTuple):
    """One token and where it is in the text."""

    text: str
    start: int
    end: int


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Words (with inner apostrophes), numbers and single punctuation marks, with offsets."""
    return [
        Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text, start, end or len(text))
    ]


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? followed by space, or at blank lines."""
    begin = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > begin:
            yield begin, match.start()
        begin = match.end()
    if begin < len(text):
        yield begin, len(text)


def normalize(text: str) -> str:
    """Lower case, curly quotes straightened, whitespace collapsed (for lookups)."""
    return _SPACE.sub(" ", text.replace("’", "'").lower()).strip()
