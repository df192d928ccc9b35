"""Drug-name matching for the lexicon extractor, over the library's one drug vocabulary.

The names (generics, brands, synonyms) and misspellings come from `adverse_events.vocabulary`
(the same file the social-media sources build their rules from, plus any user file); a trained
lexicon model adds every drug name seen in its training spans. Misspellings beyond the listed
ones are caught by the edit-distance-1 matcher in `DrugMatcher`.
"""

from __future__ import annotations

from collections.abc import Iterable

from adverse_events.text.social import unelongate
from adverse_events.text.tokens import normalize
from adverse_events.vocabulary import DrugVocabulary

__all__ = ["DrugMatcher"]


class DrugMatcher:
    """Finds drug names among tokens: exact names, known misspellings, and edit distance 1.

    Edit distance 1 uses symmetric deletions (as SymSpell does), so a lookup costs a few set
    probes, not a scan of the vocabulary: only names of 6+ letters get it, to keep "paxil" from
    matching everyday words.
    """

    def __init__(
        self,
        names: Iterable[str] = (),
        fuzzy: bool = True,
        vocabulary: DrugVocabulary | None = None,
    ):
        """`names`: extra drug names (a trained model's), looked up as themselves;
        `vocabulary`: the drug vocabulary (default: the built-in one)."""
        vocabulary = vocabulary if vocabulary is not None else DrugVocabulary.builtin()
        self.names: dict[str, str] = {}
        for name, generic in vocabulary.names.items():
            self.names.setdefault(normalize(name), generic)
        for wrong, generic in vocabulary.misspellings.items():
            self.names.setdefault(normalize(wrong), generic)
        for name in names:
            key = normalize(name)
            if key and len(key) >= 3:
                self.names.setdefault(key, key)
        self.max_words = max((len(n.split()) for n in self.names), default=1)
        self.fuzzy = fuzzy
        self._deletes: dict[str, str] = {}
        if fuzzy:
            for name in sorted(self.names):
                if len(name) >= 6 and " " not in name:
                    for variant in _deletions(name):
                        self._deletes.setdefault(variant, name)

    def lookup(self, phrase: str) -> str | None:
        """The generic name (vocabulary) or name (trained) `phrase` stands for, or None;
        an elongated word ("lexaproooo") is tried with its repeats cut."""
        key = normalize(phrase)
        found = self._lookup(key)
        if found is not None:  # the common case: no variants built for every token
            return found
        return next((g for v in unelongate(key) if (g := self._lookup(v)) is not None), None)

    def _lookup(self, key: str) -> str | None:
        if key in self.names:
            return self.names[key]
        if not self.fuzzy or len(key) < 6 or " " in key:
            return None
        if key in self._deletes:
            return self.names[self._deletes[key]]
        for variant in _deletions(key):
            if variant in self.names and len(variant) >= 6:
                return self.names[variant]
            if variant in self._deletes:
                return self.names[self._deletes[variant]]
        return None


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
