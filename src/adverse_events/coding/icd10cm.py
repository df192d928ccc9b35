"""Link adverse-event mentions to ICD-10-CM codes locally.

The full code set comes from `simple-icd-10-cm` (every billable code and its description, the
CDC release that package ships). A mention is coded in three steps:

1. lay-language synonyms (``coding/_lay_terms.py``: "can't sleep" -> G47.00 Insomnia, "brain
   zaps" -> R20.2) matched exactly after normalisation: score 0.95;
2. an exact match of a code description (case-insensitive), or of the description with its
   ", unspecified" tail removed: score 0.9;
3. a character-3-gram TF-IDF nearest neighbour over all descriptions, reranked with rapidfuzz's
   token-set ratio; the score is the mean of cosine and ratio, kept when >= ``min_score``.

Results are cached per normalised phrase, since the same events recur across posts.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from adverse_events.coding._lay_terms import LAY_TERMS
from adverse_events.errors import PluginError
from adverse_events.extractors._text import normalize
from adverse_events.records import Concept

__all__ = ["SYSTEM", "ICD10CMCoder", "description", "is_valid_code"]

SYSTEM = "ICD-10-CM"
_UNSPECIFIED = re.compile(r",?\s*(?:unspecified|not elsewhere classified)$")
_MODIFIERS = re.compile(
    r"^(?:(?:a|an|the|some|bad|severe|terrible|horrible|extreme|major|mild|slight|constant|"
    r"really|very|bit of|lot of|lots of|little|increased|my|awful|occasional|persistent)\s+)+"
)


def _icd() -> Any:
    try:
        import simple_icd_10_cm
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise PluginError("ICD-10-CM coding needs: pip install 'adverse-events[extract]'") from exc
    return simple_icd_10_cm


def is_valid_code(code: str) -> bool:
    """True when `code` is a code or category of ICD-10-CM."""
    return bool(_icd().is_valid_item(code))


def description(code: str) -> str:
    return str(_icd().get_description(code))


class ICD10CMCoder:
    """Scored ICD-10-CM `Concept`s for a mention's text (see the module docstring)."""

    def __init__(self, top_k: int = 1, min_score: float = 0.5):
        self.top_k = top_k
        self.min_score = min_score
        self._codes: list[str] = []
        self._descriptions: list[str] = []
        self._plain: list[str] = []  # normalised descriptions without "unspecified"
        self._exact: dict[str, str] = {}
        self._vectorizer: Any = None
        self._postings: Any = None  # trigram -> descriptions (TF-IDF weights), built lazily
        self._cached = lru_cache(maxsize=50_000)(self._code_normalized)

    def _build(self) -> None:
        icd = _icd()
        keys = []
        for code in icd.get_all_codes(True):
            if icd.is_leaf(code) and not code[0].isdigit() and "-" not in code:
                text = icd.get_description(code)
                key = normalize(text)
                plain = _UNSPECIFIED.sub("", key)
                keys.append(key)
                self._codes.append(code)
                self._descriptions.append(text)
                self._plain.append(plain)
                for form in (key, plain):
                    self._exact.setdefault(form, code)
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, dtype=np.float32
        )
        matrix = self._vectorizer.fit_transform(keys)
        self._postings = matrix.T.tocsr()

    def code(self, text: str, min_score: float | None = None) -> list[Concept]:
        """The best concepts for `text`, highest score first (empty when nothing scores enough)."""
        threshold = self.min_score if min_score is None else min_score
        return [c for c in self._cached(normalize(text)) if (c.score or 0.0) >= threshold]

    def _code_normalized(self, key: str) -> list[Concept]:
        stripped = _MODIFIERS.sub("", key)
        for candidate in (key, stripped):
            if candidate in LAY_TERMS:
                code = LAY_TERMS[candidate][1]
                return [
                    Concept(system=SYSTEM, code=code, description=description(code), score=0.95)
                ]
        if self._postings is None:
            self._build()
        for candidate in (key, stripped):
            if candidate in self._exact:
                code = self._exact[candidate]
                return [Concept(system=SYSTEM, code=code, description=description(code), score=0.9)]
        return self._fuzzy(stripped or key)

    def _fuzzy(self, key: str) -> list[Concept]:
        import numpy as np
        from rapidfuzz import fuzz

        # query x (trigram -> descriptions) touches only the postings of the query's trigrams
        sims = (self._vectorizer.transform([key]) @ self._postings).tocoo()
        best = np.argpartition(-sims.data, 19)[:20] if sims.nnz > 20 else np.arange(sims.nnz)
        order = best[np.lexsort((-sims.col[best], -sims.data[best]))]  # ties: later code first
        scored = []
        for sim, i in zip(sims.data[order], sims.col[order], strict=True):
            ratio = fuzz.token_set_ratio(key, self._plain[i])
            scored.append(((float(sim) + ratio / 100.0) / 2.0, int(i)))
        scored.sort(reverse=True)
        return [
            Concept(
                system=SYSTEM,
                code=self._codes[i],
                description=self._descriptions[i],
                score=round(min(1.0, score), 4),
            )
            for score, i in scored[: self.top_k]
        ]
