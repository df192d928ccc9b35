"""Drug mentions -> active ingredients: the one column a safety reviewer counts by.

A DRUG span ("Effexor XR", "effexor a", "lexipro", "Percocet") is resolved to the active
ingredient(s) it stands for ("venlafaxine"; "oxycodone" and "acetaminophen"), from three
dictionaries, first hit wins:

1. the library's drug vocabulary (`adverse_events.vocabulary`: the built-in brands, synonyms,
   misspellings and combination products, extended by the user's own file);
2. the dictionary of the `drug-named-entity-recognition` package (MIT; about 20,000 drugs and
   107,000 names from DrugBank open data (CC0), MeSH, MedlinePlus, NHS and Wikipedia, with
   DrugBank and MeSH identifiers), when it is installed (the ``extract`` extra). Its data is
   read from the installed package, never copied into this one;
3. edit distance 1 over the names of (1) and the ingredient names of (2), for words of 7 or
   more letters (misspellings nobody listed).

A span is tried whole, then without product suffixes and doses (``XR``, ``ER``, ``10 mg``,
``hydrochloride``), then by its longest leading run of words that names a drug ("effexor xr-
dizzy" -> "effexor xr"). A span that names several drugs ("zoloft and wellbutrin",
"oxycodone/acetaminophen") gives each. What resolves to nothing stays a DRUG mention, flagged
with the trait ``UNRESOLVED``; records leave it out of their ingredients (so of counts and
signals) but keep its text for audit.

Each resolved mention carries one `Concept` per ingredient with ``system="ingredient"``,
``code`` the lower-case ingredient name, and, where the dictionary has them, one concept per
standard identifier (``DrugBank``, ``MeSH``, and any ``ids`` of a vocabulary entry such as
``RxNorm``) whose ``description`` is the ingredient name.
"""

from __future__ import annotations

import bz2
import importlib.util
import logging
import pickle
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from adverse_events.errors import PluginError
from adverse_events.records import INGREDIENT_SYSTEM, UNRESOLVED, Concept, Mention
from adverse_events.text.social import unelongate
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["Ingredient", "IngredientNormalizer", "dictionary_available"]

log = logging.getLogger(__name__)

_DNER_PACKAGE = "drug_named_entity_recognition"
_DNER_FILE = "drug_ner_dictionary.pkl.bz2"
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
#: Words that name a product's form, release or salt, not its ingredient.
_SUFFIXES = frozenset(
    "xr er sr cr xl la cd ir dr odt xrt xl. es ds hcl hbr hydrochloride hydrobromide oxalate "
    "maleate succinate tartrate besylate mesylate citrate fumarate sulfate sulphate sodium "
    "potassium calcium acetate bromide tablet tablets tab tabs pill pills capsule capsules cap "
    "caps generic brand mg mcg ml g extended release immediate delayed continuous controlled "
    "sustained dose doses injection inj patch solution syrup liquid oral cream gel".split()
)
_DOSE = re.compile(r"^\d+(?:[.,]\d+)?(?:mg|mcg|ug|ml|g|%)?$")
#: Separators of several drugs in one span ("zoloft and wellbutrin", "tylenol with codeine").
_SPLIT = re.compile(r"\s*(?:/|\+|&|,|;|\band\b|\bwith\b|\bplus\b)\s*")
#: Everyday words the dictionary also lists as names (they are not read as drugs alone).
_NOT_DRUGS = frozenset(
    "a an and the i it is was me my this that to of in on for with at by from as or so but not "
    "no yes all any some one day days week weeks time times year years now then just also very "
    "about after before again still even really much more most less best good bad well better "
    "sleep pain help life love hope care feel felt take took taking took started start stop "
    "stopped dose side effects effect med meds medicine medication drug drugs pill pills doctor "
    "ability hearing lead acid out despite water air ice sugar salt oxygen energy relief "
    "natural normal focus balance calm alert restore control cure boost clear rest peace "
    "ability stability capable possible mention mentions started starting stopping".split()
)
_MIN_FUZZY = 7


@dataclass(frozen=True)
class Ingredient:
    """One active ingredient: its lower-case name and its standard identifiers."""

    name: str
    ids: tuple[tuple[str, str], ...] = field(default=())

    def concepts(self, score: float) -> list[Concept]:
        """The ingredient concept, then one concept per identifier (description = the name)."""
        found = [
            Concept(system=INGREDIENT_SYSTEM, code=self.name, description=self.name, score=score)
        ]
        found += [
            Concept(system=system, code=code, description=self.name, score=score)
            for system, code in self.ids
        ]
        return found


def dictionary_available() -> bool:
    """True when the `drug-named-entity-recognition` package (its dictionary) is installed."""
    return _dictionary_file() is not None


def _dictionary_file() -> Path | None:
    spec = importlib.util.find_spec(_DNER_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _DNER_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, str], dict[str, tuple[tuple[str, str], ...]]]:
    """``({name: canonical}, {canonical: ((system, code), ...)})`` of the package's dictionary.

    Read from the installed package's data file (not through its module, which reaches for the
    network for OMOP ids); the file is the package's own pickle, as trusted as its code.
    """
    path = _dictionary_file()
    if path is None:
        raise PluginError("the drug dictionary needs: pip install 'adverse-events[extract]'")
    with bz2.open(path, "rb") as handle:
        data = pickle.load(handle)  # noqa: S301 - the installed package's own data file
    ids: dict[str, tuple[tuple[str, str], ...]] = {}
    for canonical, info in data["drug_canonical_to_data"].items():
        if _is_drug_class(info):
            continue
        found = [("DrugBank", info["drugbank_id"])] if info.get("drugbank_id") else []
        found += [("MeSH", info["mesh_id"])] if info.get("mesh_id") else []
        ids[str(canonical).lower()] = tuple(found)
    names: dict[str, str] = {}
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        canonical = str(canonicals[0]).lower() if canonicals else ""
        if canonical in ids:
            names[" ".join(str(variant).lower().split())] = canonical
    for canonical in ids:
        names.setdefault(canonical, canonical)
    return names, ids


def _is_drug_class(info: dict[str, object]) -> bool:
    """A MeSH "chemical actions and uses" heading (D27: "antidepressive agents", "analgesics,
    opioid") with no DrugBank or MedlinePlus entry: a class of drugs, not an ingredient."""
    trees = info.get("mesh_tree") or []
    if info.get("drugbank_id") or info.get("medline_plus_id") or not isinstance(trees, list):
        return False
    return bool(trees) and all(str(t).startswith("D27") for t in trees)


class IngredientNormalizer:
    """Resolves drug names to active ingredients (see the module docstring).

    Args:
        vocabulary: the drug vocabulary (default: the built-in one); its names win over the
            dictionary's, so user additions and corrections always apply.
        dictionary: use the `drug-named-entity-recognition` dictionary: ``None`` (default)
            when installed, ``True`` to require it (`PluginError` without), ``False`` never.
        fuzzy: also accept names at edit distance 1 (words of 7+ letters).
    """

    def __init__(
        self,
        vocabulary: DrugVocabulary | None = None,
        dictionary: bool | None = None,
        fuzzy: bool = True,
    ):
        self.vocabulary = vocabulary if vocabulary is not None else DrugVocabulary.builtin()
        if dictionary is None:
            dictionary = dictionary_available()
        elif dictionary and not dictionary_available():
            raise PluginError("the drug dictionary needs: pip install 'adverse-events[extract]'")
        self.dictionary = dictionary
        self.fuzzy = fuzzy
        self._names: dict[str, str] = {}
        self._ids: dict[str, tuple[tuple[str, str], ...]] = {}
        self._deletes: dict[str, str] | None = None
        self._built = False
        self._cached = lru_cache(maxsize=100_000)(self._resolve_key)

    def __repr__(self) -> str:
        return f"IngredientNormalizer(dictionary={self.dictionary}, fuzzy={self.fuzzy})"

    def _build(self) -> None:
        if self.dictionary:
            self._names, self._ids = _dictionary()
        self._built = True

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, text: str) -> tuple[Ingredient, ...]:
        """The active ingredients `text` names, in order, once each; empty when none."""
        return self.resolve_scored(text)[0]

    def resolve_scored(self, text: str) -> tuple[tuple[Ingredient, ...], float]:
        """`resolve` and a score: 1.0 for a whole-span name, 0.9 after trimming, 0.8 fuzzy."""
        if not self._built:
            self._build()
        return self._cached(" ".join(text.lower().replace("’", "'").split()))

    def _resolve_key(self, text: str) -> tuple[tuple[Ingredient, ...], float]:
        key = _key(text)
        if not key:
            return (), 0.0
        found = self._lookup(key)
        if found:
            return found, 1.0
        parts = [p for p in _SPLIT.split(text) if _key(p)]
        if len(parts) > 1:  # several drugs in one span: each part on its own
            resolved = [self._resolve_part(_key(p)) for p in parts]
            names = _unique(i for ings, _ in resolved for i in ings)
            if names:
                return names, min(s for ings, s in resolved if ings)
            return (), 0.0
        return self._resolve_part(key)

    def _resolve_part(self, key: str) -> tuple[tuple[Ingredient, ...], float]:
        """One drug's words: exact, then trimmed of suffixes and trailing words, then fuzzy."""
        found = self._lookup(key)
        if found:
            return found, 1.0
        words = key.split()
        kept = [w for w in words if w not in _SUFFIXES and not _DOSE.match(w)]
        for n in range(len(kept), 0, -1):  # longest leading run of words that names a drug
            head = " ".join(kept[:n])
            if n == 1 and (head in _NOT_DRUGS or len(head) < 3):
                break
            found = self._lookup(head)
            if found:
                return found, 0.9
        if self.fuzzy and kept and len(kept[0]) >= _MIN_FUZZY:
            found = self._fuzzy(kept[0])
            if found:
                return found, 0.8
        return (), 0.0

    def _lookup(self, name: str) -> tuple[Ingredient, ...]:
        """Exact lookup: vocabulary (names, misspellings, combinations), then the dictionary."""
        if name in _NOT_DRUGS:
            return ()
        for form in _forms(name):
            ingredients = self.vocabulary.ingredients(form)
            if ingredients:
                return tuple(self._ingredient(i) for i in ingredients)
            canonical = self._names.get(form)
            if canonical is not None:
                return self._split_canonical(canonical)
        return ()

    def _split_canonical(self, canonical: str) -> tuple[Ingredient, ...]:
        """A dictionary entry; a combination ("abacavir, dolutegravir, and lamivudine") gives
        each of its parts when every part is itself an ingredient of the dictionary."""
        parts = [p for p in _SPLIT.split(canonical) if p]
        if len(parts) > 1 and all(p in self._ids for p in parts):
            return tuple(self._ingredient(p) for p in parts)
        return (self._ingredient(canonical),)

    def _ingredient(self, name: str) -> Ingredient:
        generic = self.vocabulary.generic(name, misspellings=False)
        canonical = self._names.get(name, name)
        ids = dict(self._ids.get(canonical, ()))
        ids.update(self.vocabulary.ids.get(generic or name, {}))
        return Ingredient(name=name, ids=tuple(sorted(ids.items())))

    def _fuzzy(self, word: str) -> tuple[Ingredient, ...]:
        """A name one edit away (insertion, deletion, substitution or transposition) that
        starts with the same letter; everyday words near a drug name are in `_NOT_DRUGS`."""
        from rapidfuzz.distance import DamerauLevenshtein

        if word in _NOT_DRUGS:
            return ()
        if self._deletes is None:
            self._deletes = self._build_deletes()
        for variant in (word, *sorted(_deletions(word))):
            target = self._deletes.get(variant)
            if (
                target is not None
                and target[0] == word[0]
                and DamerauLevenshtein.distance(word, target) <= 1
            ):
                return self._lookup(target)
        return ()

    def _build_deletes(self) -> dict[str, str]:
        """Single deletions of every name of 7+ letters (SymSpell): a few set probes a lookup."""
        names = {
            n
            for n in (*self.vocabulary.names, *self.vocabulary.misspellings)
            if " " not in n and len(n) >= _MIN_FUZZY
        }
        names |= {n for n in self._ids if " " not in n and len(n) >= _MIN_FUZZY}
        deletes: dict[str, str] = {}
        for name in sorted(names):
            deletes.setdefault(name, name)
            for variant in _deletions(name):
                deletes.setdefault(variant, name)
        return deletes

    # -- mentions ------------------------------------------------------------------------------

    def concepts(self, text: str) -> tuple[Concept, ...]:
        """The concepts of `text` (see the module docstring); empty when it resolves to none."""
        ingredients, score = self.resolve_scored(text)
        return tuple(c for i in ingredients for c in i.concepts(score))

    def normalize(self, mentions: Sequence[Mention]) -> list[Mention]:
        """`mentions` with each DRUG mention resolved: ingredient concepts added, or the trait
        ``UNRESOLVED`` when it names no known drug. Other mentions are returned as they are."""
        out = []
        for mention in mentions:
            if mention.category != "DRUG":
                out.append(mention)
                continue
            found = self.concepts(mention.text)
            kept = tuple(c for c in mention.concepts if c.system != INGREDIENT_SYSTEM)
            traits = tuple(t for t in mention.traits if t != UNRESOLVED)
            if found:
                out.append(
                    mention.model_copy(update={"concepts": (*found, *kept), "traits": traits})
                )
            else:
                out.append(
                    mention.model_copy(update={"concepts": kept, "traits": (*traits, UNRESOLVED)})
                )
        return out


def _key(text: str) -> str:
    """The words of `text`, lower-cased, joined by single spaces (punctuation dropped)."""
    return " ".join(_WORD.findall(text.lower()))


def _forms(name: str) -> tuple[str, ...]:
    """A name as written, with hyphens as spaces or removed ("z-pak", "z pak", "zpak"), and
    without a plural "s" ("valiums", "xanaxes": patients count pills), and with elongated
    letters cut ("lexaproooo")."""
    forms = [name, *unelongate(name)]
    if "-" in name:
        forms += [name.replace("-", " "), name.replace("-", "")]
    if len(name) > 4 and name.endswith("s") and not name.endswith("ss"):
        forms.append(name[:-2] if name.endswith("es") and name[-3] == "x" else name[:-1])
    return tuple(forms)


def _unique(ingredients: Iterable[Ingredient]) -> tuple[Ingredient, ...]:
    seen: dict[str, Ingredient] = {}
    for ingredient in ingredients:
        seen.setdefault(ingredient.name, ingredient)
    return tuple(seen.values())


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def dictionary_names() -> dict[str, str]:
    """The dictionary's ``{name: canonical}`` (for benchmarks and tests); needs the package."""
    return dict(_dictionary()[0])
