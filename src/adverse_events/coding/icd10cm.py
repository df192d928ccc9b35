"""Link adverse-event mentions to ICD-10-CM codes locally.

The full code set comes from `simple-icd-10-cm` (every billable code and its description, the
CDC release that package ships). Only codes that can be an adverse event are candidates:
chapters A-N (diseases and disorders) and R00-R79 (symptoms, signs, abnormal findings), never
external causes (V-Y), encounters and histories (Z), injuries and poisonings (S-T), pregnancy,
perinatal or congenital codes (O-Q), abnormal findings of other body fluids, imaging or
function studies (R80-R99). A mention is coded in these steps, first hit wins:

1. lay-language synonyms (``coding/lay_terms.py``: "can't sleep" -> G47.00 Insomnia, "brain
   zaps" -> R20.2) matched exactly after normalisation: score 0.95;
2. an exact match of a code description (case-insensitive), or of the description with its
   ", unspecified" tail removed: score 0.9;
3. the same two lookups on the mention *cleaned* of what patients add around the event:
   intensity and frequency words ("extreme", "a little", "occasional"), time and course
   ("first few days", "went away after a month", "at night"), amounts ("15 lbs") and framing
   verbs ("felt", "feeling", "had"), for each comma- or dash-separated part: score 0.9;
4. the longest lay synonym contained in the cleaned mention ("dizziness to be worse" ->
   dizziness; not when the word before it forms a pair of a code description with it:
   "ventricular tachycardia" is no tachycardia), or one within one slip per word ("panic
   attcks"), then the lay patterns of ``coding/lay_patterns.py`` (a head and a direction:
   "sex drive non-existant", "difficulty climaxing", "vivid dreams"): score 0.85;
5. a character-3-gram TF-IDF nearest neighbour over the candidate descriptions (chapters
   C and D00-D49, neoplasms, and F10-F19, substance use, left out here), reranked with
   the mean of rapidfuzz's token-set and token-sort ratios (the second counts the words a
   description adds); the score is the mean of cosine and ratio. The coder
   **abstains** below `FUZZY_MIN` (calibrated on half of the PsyTAR concepts, see
   docs/extraction.md): a fuzzy title match below it was wrong more often than right;
6. only with an ``encoder`` (a local sentence-transformer folder, e.g. all-MiniLM-L6-v2; off
   by default, it costs ~20 ms per new phrase on a CPU): the nearest lay synonym or R00-R69
   description by cosine of mean-pooled embeddings, kept at ``semantic_min`` (0.8) or more.

Results are cached per normalised phrase, since the same events recur across posts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

from adverse_events.coding.lay_patterns import match_lay_pattern
from adverse_events.coding.lay_terms import LAY_TERMS
from adverse_events.errors import PluginError
from adverse_events.records import Concept
from adverse_events.text.tokens import normalize

__all__ = [
    "FUZZY_MIN",
    "SEMANTIC_MIN",
    "SYSTEM",
    "ICD10CMCoder",
    "can_be_adverse_event",
    "clean_mention",
    "description",
    "is_valid_code",
]

SYSTEM = "ICD-10-CM"
#: Lowest score of a fuzzy description match that is kept (step 5 of the module docstring).
FUZZY_MIN = 0.8
#: Lowest cosine of a semantic match kept (step 6; benchmarks/icd10_semantic.py).
SEMANTIC_MIN = 0.8
_UNSPECIFIED = re.compile(r",?\s*(?:unspecified|not elsewhere classified)$")
_MODIFIERS = re.compile(
    r"^(?:(?:a|an|the|some|bad|severe|terrible|horrible|extreme|major|mild|slight|constant|"
    r"really|very|bit of|lot of|lots of|little|increased|my|awful|occasional|persistent)\s+)+"
)
#: Words and phrases around an event that do not change which event it is (step 3).
_NOISE = re.compile(
    r"\b(?:at first|in the beginning|initially|for the first \w+(?: \w+)?|"
    r"(?:the |my )?first (?:few |couple |couple of |\d+ |two |three )?(?:days?|weeks?|months?|"
    r"nights?|doses?|time)(?: or (?:two|so))?|for (?:about |over |the first )?(?:a |an |\d+ |"
    r"two |three |a few |few |several )?(?:days?|weeks?|months?|years?|hours?)(?: straight)?|"
    r"(?:that |which |but |it )?(?:went|goes|has gone|have gone|gone|go) away.*$|"
    r"after (?:a |about |the )?(?:few |couple |\d+ )?(?:days?|weeks?|months?).*$|"
    r"(?:all|most of) (?:the )?(?:time|day|night)|every (?:day|night|morning)|"
    r"at night|in the morning|during the day|at times|sometimes|occasionally|on occasion|"
    r"still|now|again|quite|so|such|too|super|extremely|extreme|very|really|slight|slightly|"
    r"a little|a bit|little|bit|some|mild|mildly|moderate|severe|severely|terrible|horrible|"
    r"awful|bad|intense|massive|major|constant|constantly|occasional|ongoing|persistent|"
    r"increased|increasing|excessive|alot of|a lot of|allot of|lots of|lot of|lots|big|huge|"
    r"incredible|uncontrollable|uncontrollably|overwhelming|"
    r"i|i've|i'm|me|my|myself|had|have|having|has|got|get|getting|gotten|experienced|"
    r"experience|experiencing|made me|makes me|make me|gave me|feel|feels|felt|feeling|"
    r"feelings of|feeling of|being|became|become|a|an|the|of|with|to|be|was|were|is|am|"
    r"\d+(?:[.,]\d+)?\+?\s*(?:lbs?|pounds?|kg|kilos?|x)?|about|over|around|almost)\b"
)
_PARTS = re.compile(r"\s*(?:[,;:()\"]|\s-+\s|-{2,}|\.\s)\s*")
#: Lay synonyms too general to stand for an event inside a longer phrase (step 4).
_NOT_INSIDE = frozenset(
    {
        "flat",
        "numb",
        "numbness",
        "panic",
        "aches",
        "cramps",
        "rage",
        "zombie",
        "foggy",
        "confused",
        "shaking",
        "restless",
        "withdrawal",
        "no desire",
        "low",
        "orgasm",
        "orgasms",
        "weak",
    }
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


def can_be_adverse_event(code: str) -> bool:
    """True for codes an adverse event can have: chapters A-N and R00-R79 (module docstring)."""
    head = code[:1]
    if head in "ABCDEFGHIJKLMN":
        return True
    return head == "R" and code[1:3].isdigit() and int(code[1:3]) < 80


def _fuzzy_candidate(code: str) -> bool:
    """Candidates of the fuzzy step: adverse-event codes less neoplasms and substance use."""
    if not can_be_adverse_event(code) or code[0] == "C":
        return False
    if code[0] == "D" and code[1:3].isdigit() and int(code[1:3]) < 50:
        return False
    return not (code[0] == "F" and code[1:3].isdigit() and 10 <= int(code[1:3]) <= 19)


def clean_mention(key: str) -> str:
    """`key` (a normalised mention) without the words patients add around an event:
    intensity, time, amounts, framing verbs (step 3 of the module docstring); may be empty."""
    return " ".join(_NOISE.sub(" ", key).split()).strip(" -'")


def _singular(key: str) -> str:
    words = key.split()
    last = words[-1] if words else ""
    if len(last) > 4 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        words[-1] = last[:-1]
    return " ".join(words)


class ICD10CMCoder:
    """Scored ICD-10-CM `Concept`s for a mention's text (see the module docstring)."""

    def __init__(
        self,
        top_k: int = 1,
        min_score: float = 0.5,
        fuzzy_min: float = FUZZY_MIN,
        encoder: str | os.PathLike[str] | None = None,
        semantic_min: float = SEMANTIC_MIN,
    ):
        from adverse_events.coding._semantic import SentenceEncoder

        self.top_k = top_k
        self.min_score = min_score
        self.fuzzy_min = fuzzy_min
        self.encoder = SentenceEncoder(encoder) if encoder is not None else None
        self.semantic_min = semantic_min
        self._semantic_codes: list[str] = []
        self._semantic_vectors: Any = None
        self._codes: list[str] = []
        self._descriptions: list[str] = []
        self._plain: list[str] = []  # normalised descriptions without "unspecified"
        self._exact: dict[str, str] = {}
        self._vectorizer: Any = None
        self._postings: Any = None  # trigram -> descriptions (TF-IDF weights), built lazily
        self._analyzer: Any = None
        self._grams: dict[str, int] = {}
        self._idf: Any = None
        #: (modifier, head) word pairs of the candidate descriptions whose head starts a lay
        #: synonym ("ventricular tachycardia", "pulmonary edema"): such a modifier makes the
        #: mention a more specific concept than the lay synonym inside it (step 4)
        self._qualified: set[tuple[str, str]] = set()
        self._cached = lru_cache(maxsize=50_000)(self._code_normalized)

    def __repr__(self) -> str:
        return f"ICD10CMCoder(min_score={self.min_score}, fuzzy_min={self.fuzzy_min})"

    def _build(self) -> None:
        icd = _icd()
        keys = []
        for code in icd.get_all_codes(True):
            if (
                icd.is_leaf(code)
                and not code[0].isdigit()
                and "-" not in code
                and can_be_adverse_event(code)
            ):
                text = icd.get_description(code)
                key = normalize(text)
                plain = _UNSPECIFIED.sub("", key)
                self._qualified.update(_qualified_pairs(key))
                for form in (key, plain):
                    self._exact.setdefault(form, code)
                if _fuzzy_candidate(code):
                    keys.append(key)
                    self._codes.append(code)
                    self._descriptions.append(text)
                    self._plain.append(plain)
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True, dtype=np.float32
        )
        matrix = self._vectorizer.fit_transform(keys)
        self._postings = matrix.T.tocsr()
        # the query's TF-IDF vector is computed here, not by `transform`, whose input checks
        # cost more than the whole lookup (same formula: sublinear tf x idf, l2 norm)
        self._analyzer = self._vectorizer.build_analyzer()
        self._grams = self._vectorizer.vocabulary_
        self._idf = self._vectorizer.idf_

    def code(self, text: str, min_score: float | None = None) -> list[Concept]:
        """The best concepts for `text`, highest score first (empty when nothing scores enough)."""
        threshold = self.min_score if min_score is None else min_score
        return [c for c in self._cached(normalize(text)) if (c.score or 0.0) >= threshold]

    def _code_normalized(self, key: str) -> list[Concept]:
        stripped = _MODIFIERS.sub("", key)
        for candidate in (key, stripped):
            if candidate in LAY_TERMS:
                return [_concept(LAY_TERMS[candidate][1], 0.95)]
        if self._postings is None:
            self._build()
        for candidate in (key, stripped):
            if candidate in self._exact:
                return [_concept(self._exact[candidate], 0.9)]
        parts = [clean_mention(p) for p in _PARTS.split(key)]
        parts = [p for p in parts if p] or [clean_mention(key)]
        for part in parts:
            for candidate in (part, _singular(part)):
                if candidate in LAY_TERMS:
                    return [_concept(LAY_TERMS[candidate][1], 0.9)]
                if candidate in self._exact:
                    return [_concept(self._exact[candidate], 0.9)]
        for part in parts:
            found = _inside(part, self._qualified) or _misspelt(part)
            if found:
                return [_concept(found, 0.85)]
        pattern = match_lay_pattern(key)
        if pattern is not None:
            return [_concept(pattern.code, 0.85)]
        coded = [
            c
            for c in self._fuzzy(parts[0] or stripped or key)
            if (c.score or 0.0) >= self.fuzzy_min
        ]
        if not coded and self.encoder is not None:
            coded = self._semantic(parts[0] or stripped or key)
        return coded

    def _semantic(self, key: str) -> list[Concept]:
        """Step 6: the nearest lay synonym or R00-R69 description by embedding cosine."""
        if self._semantic_vectors is None:
            self._build_semantic()
        assert self.encoder is not None
        sims = self._semantic_vectors @ self.encoder.embed([key])[0]
        best = int(sims.argmax())
        if float(sims[best]) < self.semantic_min:
            return []
        return [_concept(self._semantic_codes[best], round(min(1.0, float(sims[best])), 4))]

    def _build_semantic(self) -> None:
        assert self.encoder is not None
        texts = list(LAY_TERMS)
        self._semantic_codes = [LAY_TERMS[t][1] for t in texts]
        for code, plain in zip(self._codes, self._plain, strict=True):
            if code[0] == "R" and int(code[1:3]) < 70:
                texts.append(plain)
                self._semantic_codes.append(code)
        self._semantic_vectors = self.encoder.embed(texts)

    def _fuzzy(self, key: str) -> list[Concept]:
        import numpy as np
        from rapidfuzz import fuzz

        # query x (trigram -> descriptions) touches only the postings of the query's trigrams
        sims = self._similarities(key)
        cols = np.flatnonzero(sims)
        data = sims[cols]
        best = np.argpartition(-data, 19)[:20] if data.size > 20 else np.arange(data.size)
        order = best[np.lexsort((-cols[best], -data[best]))]  # ties: later code first
        scored = []
        for sim, i in zip(data[order], cols[order], strict=True):
            # token_set_ratio alone is 100 for any description holding all the mention's words
            # ("hepatitis" -> "hepatitis a with hepatic coma"); token_sort_ratio counts the rest
            ratio = (
                fuzz.token_set_ratio(key, self._plain[i])
                + fuzz.token_sort_ratio(key, self._plain[i])
            ) / 2
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

    def _similarities(self, key: str) -> Any:
        """Cosine of `key`'s trigram TF-IDF vector with every candidate description (dense)."""
        import numpy as np

        counts: dict[int, int] = {}
        for gram in self._analyzer(key):
            index = self._grams.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(len(self._codes), dtype=np.float32)
        rows = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1.0 + np.log(tf)) * self._idf[rows]
        weights /= np.linalg.norm(weights)
        return np.asarray(self._postings[rows].T @ weights.astype(np.float32)).ravel()


def _concept(code: str, score: float) -> Concept:
    return Concept(system=SYSTEM, code=code, description=description(code), score=score)


def _qualified_pairs(description: str) -> set[tuple[str, str]]:
    """(modifier, head) pairs of a normalised description whose head starts a lay synonym."""
    words = description.replace(",", " ").split()
    return {
        (a, b)
        for a, b in zip(words, words[1:], strict=False)
        if b in _LAY_FIRST_WORDS and a.isalpha() and len(a) > 2 and a not in _NOT_MODIFIERS
    }


def _inside(part: str, qualified: Collection[tuple[str, str]] = ()) -> str | None:
    """The code of the longest lay synonym that is a run of words of `part` (step 4), unless
    the word before it makes a more specific concept of a code description ("ventricular
    tachycardia" is not tachycardia, "pulmonary edema" not edema)."""
    words = part.split()
    for n in range(min(len(words), 6), 0, -1):
        for i in range(len(words) - n + 1):
            if i > 0 and (words[i - 1], words[i]) in qualified:
                continue
            phrase = " ".join(words[i : i + n])
            for form in (phrase, _singular(phrase)):
                if form in LAY_TERMS and form not in _NOT_INSIDE:
                    return LAY_TERMS[form][1]
    return None


def _misspelt(part: str) -> str | None:
    """The code of a lay synonym `part` is a misspelling of ("panic attcks", "dizzyness")."""
    from rapidfuzz import fuzz, process

    if len(part) < 5:
        return None
    found = process.extractOne(part, _LAY_KEYS, scorer=fuzz.ratio, score_cutoff=88)
    if not found or not _word_by_word(part, found[0]):
        return None
    return LAY_TERMS[found[0]][1]


def _word_by_word(part: str, phrase: str) -> bool:
    """A misspelling is one slip in the whole phrase ("hairloss", "inablility to concentrate")
    or at most one in each word: "head pounding" is no misspelling of "heart pounding", though
    the two strings are close."""
    from rapidfuzz.distance import DamerauLevenshtein

    def joined(text: str) -> str:
        return text.replace(" ", "").replace("-", "")

    if DamerauLevenshtein.distance(joined(part), joined(phrase)) <= 1:
        return True
    words, targets = part.split(), phrase.split()
    return len(words) == len(targets) and all(
        DamerauLevenshtein.distance(w, t) <= 1 for w, t in zip(words, targets, strict=True)
    )


_LAY_KEYS = sorted(k for k in LAY_TERMS if len(k) >= 5)
_LAY_FIRST_WORDS = frozenset(k.split()[0] for k in LAY_TERMS)
#: Words of code descriptions that do not narrow the concept after them.
_NOT_MODIFIERS = frozenset(
    "and the with without due other for from not any unspecified specified elsewhere".split()
)
