"""The drug vocabulary: one file, shared by the social-media sources and the lexicon extractor.

The package ships ``adverse_events/data/drug_vocabulary.json`` (about 100 generic drugs with
their brands, synonyms and common misspellings); users add or replace it with their own file in
the same format::

    {"drugs": [{"generic": "fluoxetine", "brands": ["Prozac", "Sarafem"],
                "synonyms": [], "misspellings": ["prozak"]}]}

Only ``generic`` is required. Brands and synonyms are names of the drug: they are matched in
text, normalised to the generic and, in the X source, turned into stream rules. Misspellings
are matched in text too (``find``, and the lexicon extractor's drug gazetteer) but never become
rules or queries (`DrugVocabulary.terms`): rule length is budgeted, and X matches rule terms
exactly, so a rule term should be a name people actually search for.

This module is light on purpose (standard library only) so that sources can use it without
importing the extractors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from adverse_events.errors import ConfigError

__all__ = ["BUILTIN_VOCABULARY", "DrugVocabulary"]

#: Where the built-in vocabulary lives inside the package.
BUILTIN_VOCABULARY = "data/drug_vocabulary.json"
_WORD = r"[^\W_]"  # a letter or digit: what may not touch either end of a matched term
_LISTS = ("brands", "synonyms", "misspellings")


class DrugVocabulary:
    """Drug names: ``generic -> (brands and synonyms)`` plus ``misspelling -> generic``.

    Matching is case-insensitive on word edges; every name and misspelling normalises to the
    generic name. See the module docstring for the file format.
    """

    def __init__(
        self, drugs: Mapping[str, Iterable[str]], misspellings: Mapping[str, str] | None = None
    ):
        self.drugs: dict[str, tuple[str, ...]] = {}
        self._generic: dict[str, str] = {}
        for generic, names in drugs.items():
            key = _clean(generic).lower()
            if not key:
                raise ConfigError("drug vocabulary: an entry has an empty generic name")
            others = tuple(dict.fromkeys(_clean(n) for n in names if _clean(n)))
            self.drugs[key] = tuple(dict.fromkeys((*self.drugs.get(key, ()), *others)))
            for term in (key, *others):
                self._generic.setdefault(term.lower(), key)
        self.misspellings: dict[str, str] = {}
        for wrong, generic in (misspellings or {}).items():
            word, key = _clean(wrong).lower(), _clean(generic).lower()
            if key not in self.drugs:
                raise ConfigError(f"drug vocabulary: misspelling {wrong!r} of unknown {generic!r}")
            if word and word not in self._generic:  # a real name always wins
                self.misspellings.setdefault(word, key)

    @classmethod
    def builtin(cls) -> DrugVocabulary:
        """The vocabulary shipped with the package."""
        return cls(*_builtin_parts())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DrugVocabulary:
        """A user vocabulary file (JSON, format in the module docstring)."""
        return cls(*_read_file(Path(path)))

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, include_builtin: bool = True
    ) -> DrugVocabulary:
        """The built-in vocabulary, extended by (or, with ``include_builtin=False``, replaced by)
        the file at `path`."""
        parts: list[tuple[Mapping[str, Iterable[str]], Mapping[str, str]]] = []
        if include_builtin:
            parts.append(_builtin_parts())
        if path is not None:
            parts.append(_read_file(Path(path)))
        if not parts:
            raise ConfigError("drug vocabulary: include_builtin is false and no file was given")
        merged: dict[str, list[str]] = {}
        wrong: dict[str, str] = {}
        for drugs, misspellings in parts:
            for generic, names in drugs.items():
                merged.setdefault(generic.strip().lower(), []).extend(names)
            wrong.update(misspellings)
        return cls(merged, wrong)

    @property
    def terms(self) -> list[str]:
        """Every name (generic first, then brands and synonyms) once, in vocabulary order;
        no misspellings. What X rules and search queries are built from."""
        out: list[str] = []
        for generic, names in self.drugs.items():
            out += [generic, *names]
        return list(dict.fromkeys(out))

    @property
    def names(self) -> dict[str, str]:
        """``{lower-case name: generic}`` for every generic, brand and synonym."""
        return dict(self._generic)

    def generic(self, term: str, misspellings: bool = True) -> str | None:
        """The generic name of `term` (a generic, brand, synonym or known misspelling), or None."""
        key = " ".join(term.lower().split())
        found = self._generic.get(key)
        if found is None and misspellings:
            found = self.misspellings.get(key)
        return found

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        words = sorted({*self._generic, *self.misspellings}, key=len, reverse=True)
        alternation = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in words)
        return re.compile(rf"(?<!{_WORD})(?:{alternation})(?!{_WORD})", re.IGNORECASE)

    def find(self, text: str) -> tuple[str, ...]:
        """Generic names of the drugs `text` mentions (by name or known misspelling), in order of
        first mention, once each."""
        found = (self.generic(m.group(0)) for m in self._pattern.finditer(text))
        return tuple(dict.fromkeys(g for g in found if g is not None))


def _clean(name: str) -> str:
    return " ".join(name.split())


@lru_cache(maxsize=1)
def _builtin_parts() -> tuple[dict[str, list[str]], dict[str, str]]:
    text = resources.files("adverse_events").joinpath(BUILTIN_VOCABULARY).read_text("utf-8")
    return _parse(json.loads(text), "built-in vocabulary")


def _read_file(path: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"drug vocabulary file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"drug vocabulary {path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"drug vocabulary {path}: not valid JSON: {exc}") from exc
    return _parse(data, str(path))


def _parse(data: Any, where: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``({generic: [brands and synonyms]}, {misspelling: generic})`` from a vocabulary file."""
    entries = data.get("drugs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"drug vocabulary {where}: expected {{\"drugs\": [...]}}")
    drugs: dict[str, list[str]] = {}
    misspellings: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("generic"), str):
            raise ConfigError(f"drug vocabulary {where}: entry {number} needs a 'generic' name")
        lists = {key: entry.get(key) or [] for key in _LISTS}
        if not all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                   for v in lists.values()):
            raise ConfigError(f"drug vocabulary {where}: entry {number}: "
                              f"{', '.join(_LISTS)} must be lists of strings")
        generic = entry["generic"].strip().lower()
        drugs.setdefault(generic, []).extend([*lists["brands"], *lists["synonyms"]])
        misspellings.update(dict.fromkeys(lists["misspellings"], generic))
    return drugs, misspellings
