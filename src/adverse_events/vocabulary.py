"""The drug vocabulary: one file, shared by the social-media sources and the lexicon extractor.

The package ships ``adverse_events/data/drug_vocabulary.json`` (about 100 generic drugs with
their brands, synonyms and common misspellings, and a few combination products); users add or
replace it with their own file in the same format::

    {"drugs": [{"generic": "fluoxetine", "brands": ["Prozac", "Sarafem"],
                "synonyms": [], "misspellings": ["prozak"], "ids": {"RxNorm": "4493"}},
               {"generic": "oxycodone and acetaminophen", "brands": ["Percocet"],
                "ingredients": ["oxycodone", "acetaminophen"]}]}

Only ``generic`` is required. ``ingredients`` lists the active ingredients of a combination
product (default: the generic itself); ``ids`` are standard identifiers of a single-ingredient
entry (system -> code, e.g. ``RxNorm``, ``ATC``, ``UNII``, ``MeSH``) that the ingredient
normaliser (`adverse_events.coding.ingredients`) attaches to the mentions it resolves.

Brands and synonyms are names of the drug: they are matched in
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
_LISTS = ("brands", "synonyms", "misspellings", "ingredients")
_Parts = tuple[
    dict[str, list[str]], dict[str, str], dict[str, list[str]], dict[str, dict[str, str]]
]


class DrugVocabulary:
    """Drug names: ``generic -> (brands and synonyms)`` plus ``misspelling -> generic``.

    Matching is case-insensitive on word edges; every name and misspelling normalises to the
    generic name. See the module docstring for the file format.
    """

    def __init__(
        self,
        drugs: Mapping[str, Iterable[str]],
        misspellings: Mapping[str, str] | None = None,
        ingredients: Mapping[str, Iterable[str]] | None = None,
        ids: Mapping[str, Mapping[str, str]] | None = None,
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
        self.combinations: dict[str, tuple[str, ...]] = {}
        for generic, parts in (ingredients or {}).items():
            key = _clean(generic).lower()
            names = tuple(dict.fromkeys(_clean(p).lower() for p in parts if _clean(p)))
            if key not in self.drugs:
                raise ConfigError(f"drug vocabulary: ingredients of unknown {generic!r}")
            if names and names != (key,):
                self.combinations[key] = names
        self.ids: dict[str, dict[str, str]] = {
            _clean(generic).lower(): {str(k): str(v) for k, v in codes.items()}
            for generic, codes in (ids or {}).items()
        }

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
        parts: list[_Parts] = []
        if include_builtin:
            parts.append(_builtin_parts())
        if path is not None:
            parts.append(_read_file(Path(path)))
        if not parts:
            raise ConfigError("drug vocabulary: include_builtin is false and no file was given")
        merged: dict[str, list[str]] = {}
        wrong: dict[str, str] = {}
        combos: dict[str, list[str]] = {}
        ids: dict[str, dict[str, str]] = {}
        for drugs, misspellings, ingredients, codes in parts:
            for generic, names in drugs.items():
                merged.setdefault(generic.strip().lower(), []).extend(names)
            wrong.update(misspellings)
            combos.update(ingredients)  # a later file's composition replaces an earlier one
            for generic, found in codes.items():
                ids.setdefault(generic, {}).update(found)
        return cls(merged, wrong, combos, ids)

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

    def ingredients(self, term: str, misspellings: bool = True) -> tuple[str, ...]:
        """The active ingredients of `term`: its generic, or each ingredient of a combination
        product; empty when the vocabulary does not know `term`."""
        generic = self.generic(term, misspellings=misspellings)
        if generic is None:
            return ()
        return self.combinations.get(generic, (generic,))

    def find(self, text: str) -> tuple[str, ...]:
        """Active ingredients of the drugs `text` mentions (by name or known misspelling), in
        order of first mention, once each (a combination product gives each ingredient)."""
        found = (self.generic(m.group(0)) for m in self._pattern.finditer(text))
        names = (i for g in found if g is not None for i in self.combinations.get(g, (g,)))
        return tuple(dict.fromkeys(names))


def _clean(name: str) -> str:
    return " ".join(name.split())


@lru_cache(maxsize=1)
def _builtin_parts() -> _Parts:
    text = resources.files("adverse_events").joinpath(BUILTIN_VOCABULARY).read_text("utf-8")
    return _parse(json.loads(text), "built-in vocabulary")


def _read_file(path: Path) -> _Parts:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"drug vocabulary file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"drug vocabulary {path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"drug vocabulary {path}: not valid JSON: {exc}") from exc
    return _parse(data, str(path))


def _parse(data: Any, where: str) -> _Parts:
    """``({generic: [brands and synonyms]}, {misspelling: generic}, {generic: [ingredients]},
    {generic: {system: code}})`` from a vocabulary file."""
    entries = data.get("drugs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f'drug vocabulary {where}: expected {{"drugs": [...]}}')
    drugs: dict[str, list[str]] = {}
    misspellings: dict[str, str] = {}
    ingredients: dict[str, list[str]] = {}
    ids: dict[str, dict[str, str]] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("generic"), str):
            raise ConfigError(f"drug vocabulary {where}: entry {number} needs a 'generic' name")
        lists = {key: entry.get(key) or [] for key in _LISTS}
        if not all(
            isinstance(v, list) and all(isinstance(n, str) for n in v) for v in lists.values()
        ):
            raise ConfigError(
                f"drug vocabulary {where}: entry {number}: "
                f"{', '.join(_LISTS)} must be lists of strings"
            )
        codes = entry.get("ids") or {}
        if not isinstance(codes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in codes.items()
        ):
            raise ConfigError(
                f"drug vocabulary {where}: entry {number}: ids must map a system "
                "name to a code string"
            )
        generic = entry["generic"].strip().lower()
        drugs.setdefault(generic, []).extend([*lists["brands"], *lists["synonyms"]])
        misspellings.update(dict.fromkeys(lists["misspellings"], generic))
        if lists["ingredients"]:
            ingredients[generic] = lists["ingredients"]
        if codes:
            ids.setdefault(generic, {}).update(codes)
    return drugs, misspellings, ingredients, ids
