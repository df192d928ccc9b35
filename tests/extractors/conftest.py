"""Shared fixtures: the shared data folder and a tiny lexicon model trained in a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adverse_events.extractors.corpora import SpanExample
from adverse_events.extractors.lexicon import train_lexicon

REPO = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    return Path(os.environ.get("ADVERSE_EVENTS_DATA", REPO / ".." / "shared" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = shared_data()
    if not (root / "psytar").is_dir() or not (root / "ade_corpus_v2").is_dir():
        pytest.skip(f"shared data not found at {root} (set ADVERSE_EVENTS_DATA)")
    return root


def _example(text: str, *phrases: tuple[str, str], group: str = "g") -> SpanExample:
    spans = []
    for phrase, label in phrases:
        start = text.index(phrase)
        spans.append((start, start + len(phrase), label))
    return SpanExample(text, tuple(sorted(spans)), group)


TRAINING = [
    _example(
        "Zoloft gave me terrible headaches.",
        ("Zoloft", "DRUG"),
        ("terrible headaches", "ADVERSE_EVENT"),
    ),
    _example(
        "I gained 20 lbs on Lexapro.", ("gained 20 lbs", "ADVERSE_EVENT"), ("Lexapro", "DRUG")
    ),
    _example(
        "Brain zaps when I missed a dose of Effexor.",
        ("Brain zaps", "ADVERSE_EVENT"),
        ("Effexor", "DRUG"),
    ),
    _example(
        "Paxil made me so dizzy and nauseous.",
        ("Paxil", "DRUG"),
        ("dizzy", "ADVERSE_EVENT"),
        ("nauseous", "ADVERSE_EVENT"),
    ),
    _example(
        "Can't sleep since starting Prozac.", ("Can't sleep", "ADVERSE_EVENT"), ("Prozac", "DRUG")
    ),
    _example(
        "Cymbalta caused dry mouth and sweating.",
        ("Cymbalta", "DRUG"),
        ("dry mouth", "ADVERSE_EVENT"),
        ("sweating", "ADVERSE_EVENT"),
    ),
    _example("It works well and I feel fine.", group="h"),
    _example("Took it for my depression.", group="h"),
] * 3


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lexicon")
    train_lexicon(TRAINING, folder, max_iterations=50)
    return folder
