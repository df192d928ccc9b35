"""Normalise informal social-media text so that a model trained on reviews reads tweets too.

What `normalise_social` does, in order (each step is a plain function, all are pure):

* HTML entities (``&amp;``, ``&gt;``) are unescaped; line breaks become spaces;
* URLs become the word ``url``; @mentions become ``@user`` (they carry no medical content and
  are personal data);
* hashtags lose the ``#`` and camel case is split: ``#SideEffects`` -> ``side effects``,
  ``#zoloft`` -> ``zoloft``;
* emojis become their Unicode names: ``😷`` -> `` face with medical mask `` (what the emoji
  says is often the event: ``🤢`` is *nauseated face*);
* letters repeated three or more times are cut to two: ``sooooo tiiired`` -> ``soo tiired``;
* a few abbreviations common in health posts are spelt out (``w/`` with, ``b/c`` because,
  ``bc`` because, ``idk`` I don't know, ``rn`` right now, ``smh`` shaking my head, ``u`` you,
  ``ur`` your, ``pls`` please, ``thx`` thanks, ``2day`` today, ``2nite`` tonight);
* runs of spaces collapse.

Plain review text passes through almost unchanged, so a model can be trained with the
normaliser on clean data and still gain on tweets. Training and serving must agree: a model
directory names its preprocessing in ``adverse_events.json`` (``"preprocess": "social"``) and
`TfidfClassifier` / `TransformersClassifier` apply it (see `get_preprocessor`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence

from adverse_events.errors import ConfigError

__all__ = ["PREPROCESSORS", "get_preprocessor", "normalise_social", "unelongate"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_SPACES = re.compile(r"\s+")
_ABBREVIATIONS = {
    "w/": "with",
    "b/c": "because",
    "bc": "because",
    "idk": "i don't know",
    "rn": "right now",
    "smh": "shaking my head",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "2day": "today",
    "2nite": "tonight",
    "w/o": "without",
}
_ABBREVIATION = re.compile(
    r"(?<![\w/])("
    + "|".join(re.escape(k) for k in sorted(_ABBREVIATIONS, key=len, reverse=True))
    + r")(?![\w/])",
    re.IGNORECASE,
)
#: Unicode categories of emoji and pictographs (So: other symbol) named in the output.
_SYMBOL_CATEGORIES = {"So"}
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


def _hashtag(match: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", match.group(1)).lower() + " "


def _emojis(text: str) -> str:
    if text.isascii():
        return text
    out = []
    for char in text:
        if char in _JOINERS or unicodedata.category(char) == "Sk" and ord(char) > 0x1F000:
            continue  # zero-width joiners, variation selectors, skin-tone modifiers
        if unicodedata.category(char) in _SYMBOL_CATEGORIES:
            name = unicodedata.name(char, "")
            out.append(f" {name.lower()} " if name else " ")
        else:
            out.append(char)
    return "".join(out)


def normalise_social(text: str) -> str:
    """`text` with the social-media conventions above turned into plain words."""
    text = html.unescape(text)
    text = _URL.sub(" url ", text)
    text = _MENTION.sub(" @user ", text)
    text = _HASHTAG.sub(_hashtag, text)
    text = _emojis(text)
    text = _ELONGATED.sub(r"\1\1", text)
    text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    return _SPACES.sub(" ", text).strip()


def unelongate(word: str) -> tuple[str, ...]:
    """`word` with letters repeated three or more times cut to two, then to one
    (``lexaproooo`` -> ``lexaproo``, ``lexapro``); empty when nothing is elongated."""
    if not _ELONGATED.search(word):
        return ()
    return (_ELONGATED.sub(r"\1\1", word), _ELONGATED.sub(r"\1", word))


#: Preprocessing by the name a model directory records.
PREPROCESSORS: dict[str, Callable[[str], str]] = {"social": normalise_social}


def get_preprocessor(name: str | None) -> Callable[[Sequence[str]], list[str]] | None:
    """The batch function for a recorded preprocessing name (None: none)."""
    if name is None:
        return None
    try:
        one = PREPROCESSORS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preprocess {name!r}; known: {', '.join(sorted(PREPROCESSORS))}"
        ) from None

    def batch(texts: Sequence[str]) -> list[str]:
        return [one(t) for t in texts]

    return batch
