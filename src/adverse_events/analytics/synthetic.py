"""Deterministic synthetic posts with planted drug-event signals, for tests, docs and benchmarks.

The data is made up. Posts name one or two of six drugs and some events from a background mix;
two associations are planted and grow over the half year covered:

* ``sertraline`` -> insomnia (ICD-10-CM G47.00), strong;
* ``metformin`` -> diarrhea (ICD-10-CM R19.7), moderate.

``atorvastatin`` -> headache (R51.9) is a null pair: headache is common, but no more so with
atorvastatin than with the other drugs. A fixed seed gives the same posts on every machine.

The posts run through the real `Pipeline` with `MockClassifier` and `MockExtractor` (a small
lexicon that emits drug and event `Mention`s with ICD-10-CM and MedDRA-PT `Concept`s, negation
included; drug mentions are resolved to ingredients by the real `IngredientNormalizer`, so some
posts name a brand and a few name an unresolved "wonder pill"), into any sink, e.g. a
`DuckDBSink`.
"""

from __future__ import annotations

import os
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from adverse_events.coding.ingredients import IngredientNormalizer
from adverse_events.pipeline import Pipeline, RunReport
from adverse_events.records import Concept, Mention
from adverse_events.testing import MemorySource, MockClassifier, MockExtractor

__all__ = [
    "BRANDS",
    "DRUGS",
    "EVENTS",
    "NULL_PAIR",
    "PLANTED",
    "build_database",
    "synthetic_classifier",
    "synthetic_extractor",
    "synthetic_items",
]


@dataclass(frozen=True)
class _Event:
    phrase: str
    icd10: str | None
    icd10_name: str
    meddra: str | None
    meddra_name: str
    weight: float


#: Drug name -> share of posts naming it first.
DRUGS = {
    "atorvastatin": 0.20,
    "metformin": 0.18,
    "sertraline": 0.15,
    "lisinopril": 0.15,
    "ibuprofen": 0.17,
    "omeprazole": 0.15,
}

#: Brand names some posts use instead of the ingredient (one post in four, chosen by a hash of
#: the post id, so the random stream and every count by ingredient stay as they were).
BRANDS = {
    "atorvastatin": "Lipitor",
    "sertraline": "Zoloft",
    "ibuprofen": "Advil",
    "omeprazole": "Prilosec",
}
#: A span the synthetic extractor calls a drug that names no ingredient (one post in 50).
UNRESOLVED_SPAN = "wonder pill"

#: Background events with their codes and weights (brain fog has no code).
EVENTS = (
    _Event("headache", "R51.9", "Headache, unspecified", "10019211", "Headache", 0.24),
    _Event("nausea", "R11.0", "Nausea", "10028813", "Nausea", 0.18),
    _Event("fatigue", "R53.83", "Other fatigue", "10016256", "Fatigue", 0.14),
    _Event("dizziness", "R42", "Dizziness and giddiness", "10013573", "Dizziness", 0.12),
    _Event("rash", "R21", "Rash and other nonspecific skin eruption", "10037844", "Rash", 0.08),
    _Event("diarrhea", "R19.7", "Diarrhea, unspecified", "10012735", "Diarrhoea", 0.07),
    _Event("insomnia", "G47.00", "Insomnia, unspecified", "10022437", "Insomnia", 0.05),
    _Event("muscle pain", "M79.10", "Myalgia, unspecified site", "10028411", "Myalgia", 0.08),
    _Event("brain fog", None, "", None, "", 0.04),
)
_BY_PHRASE = {e.phrase: e for e in EVENTS}

#: Planted (drug, event phrase, ICD-10-CM code): co-reported far more often than expected.
PLANTED = (("sertraline", "insomnia", "G47.00"), ("metformin", "diarrhea", "R19.7"))
#: A (drug, event phrase, ICD-10-CM code) pair with no planted association.
NULL_PAIR = ("atorvastatin", "headache", "R51.9")

_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
_DAYS = 182
_OPENERS = (
    "been on {d} for a month and",
    "started {d} last week,",
    "since switching to {d}",
    "day 3 of {d}:",
    "my doctor put me on {d} and",
)
_NEUTRAL = (
    "picked up my {d} refill today",
    "does anyone know if {d} is generic now?",
    "reminder to take {d} with food",
    "{d} prices went up again",
)
_NEGATED = re.compile(r"\bno (\w+(?: \w+)?)")


def _planted_rate(drug: str, event: str, progress: float) -> float:
    """Chance that an AE post about `drug` reports the planted `event` (grows over time)."""
    if (drug, event) == ("sertraline", "insomnia"):
        return 0.15 + 0.45 * progress
    if (drug, event) == ("metformin", "diarrhea"):
        return 0.10 + 0.15 * progress
    return 0.0


def _pick_events(rng: random.Random, drug: str, progress: float) -> list[str]:
    phrases, weights = [e.phrase for e in EVENTS], [e.weight for e in EVENTS]
    count = 1 if rng.random() < 0.7 else 2
    chosen = rng.choices(phrases, weights=weights, k=count)
    for planted_drug, event, _code in PLANTED:
        if planted_drug == drug and rng.random() < _planted_rate(drug, event, progress):
            chosen.append(event)  # added, not substituted: other events keep their rates
    return list(dict.fromkeys(chosen))


def synthetic_items(n: int, seed: int = 7, bad_every: int = 0) -> Iterator[dict[str, Any]]:
    """`n` post dicts (post_id, text, created_at); every `bad_every`-th one is malformed."""
    rng = random.Random(seed)
    names, shares = list(DRUGS), list(DRUGS.values())
    for i in range(n):
        if bad_every and i % bad_every == bad_every - 1:
            yield {"post_id": f"syn-{i}", "created_at": "not a date"}  # no text: dead letter
            continue
        progress = rng.random()
        created = _START + timedelta(days=progress * _DAYS, seconds=rng.randrange(86_400))
        drugs = [rng.choices(names, weights=shares)[0]]
        if rng.random() < 0.1:
            drugs.append(rng.choice([d for d in names if d != drugs[0]]))
        drug_text = " and ".join(_as_written(drug, i) for drug in drugs)
        if rng.random() < 0.25:
            text = rng.choice(_NEUTRAL).format(d=drug_text)
        else:
            events = _pick_events(rng, drugs[0], progress)
            text = f"{rng.choice(_OPENERS).format(d=drug_text)} now {' and '.join(events)}"
            if rng.random() < 0.1:
                spare = rng.choice([e.phrase for e in EVENTS if e.phrase not in events])
                text += f", but no {spare}"
            if _hash(f"{i}:unresolved") % 50 == 0:
                text += f" (my {UNRESOLVED_SPAN})"
        yield {"post_id": f"syn-{i}", "text": text, "created_at": created.isoformat()}


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _as_written(drug: str, i: int) -> str:
    """The ingredient, or in one post of four its brand name (when it has one)."""
    brand = BRANDS.get(drug)
    return brand if brand and _hash(f"{i}:{drug}") % 4 == 0 else drug


def _fraction(text: str) -> float:
    return (zlib.crc32(text.encode("utf-8")) % 1000) / 1000.0


def _score(text: str) -> float:
    """High (0.6-1.0) when an event is asserted, low (0-0.4) otherwise."""
    asserted = [m for m in _mentions(text) if m.category == "ADVERSE_EVENT" and m.asserted]
    return (0.6 + 0.4 * _fraction(text)) if asserted else 0.4 * _fraction(text)


def _concepts(event: _Event) -> tuple[Concept, ...]:
    found = []
    if event.icd10:
        found.append(
            Concept(system="ICD-10-CM", code=event.icd10, description=event.icd10_name, score=0.9)
        )
    if event.meddra:
        found.append(
            Concept(system="MedDRA-PT", code=event.meddra, description=event.meddra_name, score=0.9)
        )
    return tuple(found)


def _mentions(text: str) -> list[Mention]:
    lowered = text.lower()
    negated = {m.start(1) for m in _NEGATED.finditer(lowered)}
    found = []
    for drug in (*DRUGS, *(b.lower() for b in BRANDS.values()), UNRESOLVED_SPAN):
        for match in re.finditer(rf"\b{drug}\b", lowered):
            found.append(_mention(text, match, "DRUG", 0.99))
    for phrase, event in _BY_PHRASE.items():
        for match in re.finditer(rf"\b{phrase}\b", lowered):
            traits = ("NEGATION",) if match.start() in negated else ()
            found.append(
                _mention(
                    text, match, "ADVERSE_EVENT", 0.95, traits=traits, concepts=_concepts(event)
                )
            )
    return sorted(_normalizer().normalize(found), key=lambda m: m.start)


def _mention(text: str, match: re.Match[str], category: str, score: float, **more: Any) -> Mention:
    """The mention of `text` that `match` (found in its lower-cased copy) spans."""
    return Mention(
        text=text[match.start() : match.end()],
        start=match.start(),
        end=match.end(),
        category=category,
        score=score,
        **more,
    )


@lru_cache(maxsize=1)
def _normalizer() -> IngredientNormalizer:
    """Drug mentions resolved as the local extractor resolves them (built-in vocabulary)."""
    return IngredientNormalizer(dictionary=False, fuzzy=False)


def synthetic_classifier() -> MockClassifier:
    """A `MockClassifier` that calls posts with an asserted event adverse events."""
    return MockClassifier(_score, model="synthetic-mock-classifier/1.0")


def synthetic_extractor() -> MockExtractor:
    """A `MockExtractor` over the synthetic lexicon (drugs, events, ICD-10-CM and MedDRA-PT)."""
    return MockExtractor(_mentions)


def build_database(
    path: str | os.PathLike[str],
    n: int = 2000,
    seed: int = 7,
    bad_every: int = 500,
    batch_size: int = 1000,
) -> RunReport:
    """Run `n` synthetic posts through the pipeline into a DuckDB file at `path`."""
    from adverse_events.sinks.duckdb import DuckDBSink

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(
        MemorySource(synthetic_items(n, seed=seed, bad_every=bad_every)),
        synthetic_classifier(),  # type: ignore[arg-type]  # core: MockClassifier.labels is a tuple
        synthetic_extractor(),
        DuckDBSink(path),
        batch_size=batch_size,
        progress=False,
    )
    return pipeline.run()
