"""Fixtures for the training tests: small labelled files and the shared data directory."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

AE = [
    "this drug gave me a terrible headache",
    "I got a rash all over after starting it",
    "the pills made me dizzy and sick",
    "caused severe nausea and vomiting",
    "I gained 20 pounds on this medication",
    "insomnia every night since the higher dose",
    "hair loss after two months of this drug",
    "my heart raced and I felt anxious on it",
    "terrible drowsiness, could not work",
    "it gave me tremors in my hands",
    "sexual side effects were awful",
    "dry mouth and blurred vision from the drug",
]
OK = [
    "I take it every morning with food",
    "my doctor prescribed it for depression",
    "the pharmacy was out of stock today",
    "it works well for my anxiety",
    "I switched brands last year",
    "feeling much better and calmer now",
    "the price went up again",
    "I have been on it for six months",
    "my sister takes the same medicine",
    "the tablets are small and easy to swallow",
    "I read the leaflet before starting",
    "it helped me sleep better",
]


def rows(n_groups: int = 8) -> list[dict[str, object]]:
    """Labelled rows in groups of three texts (a post per group), both labels everywhere."""
    out = []
    for g in range(n_groups):
        for k in range(3):
            positive = (g + k) % 2 == 0
            pool = AE if positive else OK
            text = f"{pool[(g * 3 + k) % len(pool)]} (post {g} line {k})"
            out.append({"post_id": f"p{g}", "text": text, "label": int(positive)})
    return out


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "posts.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["post_id", "text", "label"])
        writer.writeheader()
        writer.writerows(rows())
    return path


@pytest.fixture
def jsonl_file(tmp_path: Path) -> Path:
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows()), encoding="utf-8")
    return path


@pytest.fixture
def ade_dir(tmp_path: Path) -> Path:
    """A miniature ADE corpus directory in the original format."""
    root = tmp_path / "ade"
    root.mkdir()
    rel = []
    for i, text in enumerate(AE):
        pmid = 1000 + i // 2
        rel.append(f"{pmid}|{text}.|effect|0|5|drug|6|10")
        if i % 3 == 0:  # a second relation for the same sentence, as in the real corpus
            rel.append(f"{pmid}|{text}.|other effect|0|5|drug|6|10")
    (root / "DRUG-AE.rel").write_text("\n".join(rel) + "\n", encoding="utf-8")
    neg = [f"{2000 + i // 2} NEG {text}." for i, text in enumerate(OK)]
    (root / "ADE-NEG.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    return root


def data_dir() -> Path:
    """The shared data directory: $ADVERSE_EVENTS_DATA, else <repo>/../shared/data."""
    env = os.environ.get("ADVERSE_EVENTS_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = data_dir()
    if not (root / "ade_corpus_v2" / "DRUG-AE.rel").is_file():
        pytest.skip(f"shared data not found at {root}; set ADVERSE_EVENTS_DATA")
    return root
