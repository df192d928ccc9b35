"""Fixtures of the engine tests: tiny trained models, posts with malformed lines, configs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TEXTS = [
    "Zoloft gave me terrible headaches",
    "I take it every morning with food",
    "Paxil made me so dizzy and nauseous",
    "the price went up again",
    "Can't sleep since starting Prozac",
    "my doctor prescribed it for depression",
]


def write_posts(path: Path, n: int, seed: int = 0) -> tuple[set[str], int]:
    """`n` JSONL lines, about one in five malformed in one of five ways, plus one id repeated
    a few lines on (the later line wins). Returns the ids a run must store and how many lines
    must become dead letters."""
    rng = random.Random(seed)
    valid: set[str] = set()
    bad = 0
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = {
                "post_id": f"p{i}",
                "text": f"{rng.choice(TEXTS)} #{i}",
                "created_at": f"2024-01-{1 + i % 28:02d}T10:00:00Z",
                "lang": "en",
            }
            line = _malformed(i, row)
            handle.write((line or json.dumps(row)) + "\n")
            if line is None:
                valid.add(row["post_id"])
            else:
                bad += 1
            if i % 50 == 3:
                handle.write("\n")  # blank lines are skipped, not dead letters
            if i == 4:  # the same id again, a few lines on (the same shard): the later wins
                handle.write(json.dumps({"post_id": "p1", "text": "Zoloft again, a rash"}) + "\n")
    return valid, bad


def _malformed(i: int, row: dict[str, str]) -> str | None:
    """The bad line written instead of `row` (about one line in five), else None."""
    if i % 20 == 3:
        return '{"post_id": "broken", "text": '  # malformed JSON
    if i % 20 == 13:
        return json.dumps({**row, "text": ""})  # empty text
    if i % 30 == 6:
        return json.dumps({**row, "created_at": "yesterday"})  # bad timestamp
    if i % 30 == 16:
        return json.dumps({"text": "no id here"})  # missing id
    if i % 30 == 26:
        return "[1, 2, 3]"  # not an object
    return None


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A TF-IDF classifier and a lexicon extractor trained in a few seconds."""
    from adverse_events.classifiers.tfidf import TfidfClassifier
    from adverse_events.extractors.lexicon import train_lexicon
    from tests.classifiers.test_tfidf import _write_posts
    from tests.extractors.conftest import TRAINING

    root = tmp_path_factory.mktemp("engine-models")
    data = _write_posts(root / "train.csv")
    TfidfClassifier(
        root / "tfidf", train_data=[data], label_column="adr", group_column="review"
    ).open()
    train_lexicon(TRAINING, root / "lexicon", max_iterations=50)
    return {"tfidf": root / "tfidf", "lexicon": root / "lexicon"}


def pipeline_toml(
    source: str,
    sink: str,
    models: dict[str, Path] | None = None,
    classifier: str | None = None,
    extra: str = "",
) -> str:
    """A pipeline file: `source` and `sink` are TOML table bodies."""
    if classifier is None:
        assert models is not None
        classifier = f'type = "tfidf"\nmodel_dir = "{models["tfidf"]}"\n'
        extractor = f'[extractor]\ntype = "lexicon"\nmodel_dir = "{models["lexicon"]}"\n'
    else:
        extractor = ""
    return (
        f"[source]\n{source}\n[classifier]\n{classifier}\n{extractor}\n[sink]\n{sink}\n"
        f"[pipeline]\nbatch_size = 16\nbackoff_initial = 0.01\nbackoff_max = 0.05\n{extra}"
    )
