"""Splits: stratified, grouped, deduplicated, reproducible, written with a manifest."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from adverse_events.errors import ConfigError
from adverse_events.training import datasets as ds
from adverse_events.training import splits as sp

pytestmark = pytest.mark.unit


WORDS = (
    "rash headache nausea dizzy sleep weight tired anxious pain fever cough itch swelling "
    "tremor dose tablet morning night doctor pharmacy week month year better worse fine "
    "great awful mild severe started stopped switched"
).split()


def _data(n_groups: int = 40, copies: int = 1) -> ds.Dataset:
    examples = []
    for g in range(n_groups):
        for k in range(3):
            label = ds.POSITIVE if (g + k) % 3 == 0 else ds.NEGATIVE
            text = " ".join(random.Random(g * 10 + k).sample(WORDS, 6))
            for c in range(copies if label == ds.POSITIVE else 1):
                examples.append(ds.Example(text, label, f"doc{g}", "t", f"t:{g}:{k}:{c}"))
    return ds.Dataset(examples, [ds.NEGATIVE, ds.POSITIVE], ds.POSITIVE)


def test_normalise_ignores_case_punctuation_and_spaces() -> None:
    assert sp.normalise("Drug-X  caused RASH!") == sp.normalise("drug x caused rash")


def test_grouped_split_keeps_groups_on_one_side_and_removes_duplicates() -> None:
    data = _data(copies=2)
    split = sp.make_split(data, "grouped", seed=1)
    manifest = split.manifest()
    assert manifest["shared_groups"] == 0 and manifest["leaked_test_texts"] == 0
    assert manifest["removed"]["exact_duplicates"] == 40
    parts = [set(getattr(split, p)) for p in sp.PARTS]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in parts) == 120
    for name in sp.PARTS:
        assert manifest["parts"][name]["labels"][ds.POSITIVE] > 0  # stratified


def test_random_split_keeps_duplicates_and_shows_the_leak() -> None:
    split = sp.make_split(_data(copies=3), "random", seed=1)
    manifest = split.manifest()
    assert manifest["removed"] == {}
    assert sum(manifest["parts"][p]["examples"] for p in sp.PARTS) == 200
    assert manifest["leaked_test_texts"] > 0


def test_near_duplicates_are_removed() -> None:
    base = "the patient developed severe hepatotoxicity after starting isoniazid therapy"
    examples = [
        ds.Example(base, ds.POSITIVE, "a", "t", "1"),
        ds.Example(base + " today", ds.POSITIVE, "b", "t", "2"),
        ds.Example("a completely different sentence about dosing", ds.NEGATIVE, "c", "t", "3"),
    ]
    keep, removed = sp.deduplicate(ds.Dataset(examples, [ds.NEGATIVE, ds.POSITIVE], ds.POSITIVE))
    assert keep == [0, 2] and removed["near_duplicates"] == 1


def test_duplicate_with_conflicting_labels_keeps_the_positive() -> None:
    examples = [
        ds.Example("Same text.", ds.NEGATIVE, "a", "t", "1"),
        ds.Example("same text", ds.POSITIVE, "b", "t", "2"),
    ]
    keep, removed = sp.deduplicate(ds.Dataset(examples, [ds.NEGATIVE, ds.POSITIVE], ds.POSITIVE))
    assert keep == [1] and removed["label_conflicts"] == 1


@pytest.mark.parametrize("protocol", sp.PROTOCOLS)
def test_same_seed_same_split_other_seed_other_split(protocol: str) -> None:
    data = _data()
    one, two = sp.make_split(data, protocol, seed=3), sp.make_split(data, protocol, seed=3)
    assert one.manifest() == two.manifest()
    assert sp.make_split(data, protocol, seed=4).test != one.test


@pytest.mark.parametrize("protocol", sp.PROTOCOLS)
def test_kfold_test_parts_cover_the_data_once(protocol: str) -> None:
    data = _data()
    folds = list(sp.kfold(data, 4, protocol, seed=0))
    tests = [i for f in folds for i in f.test]
    assert len(tests) == len(set(tests)) == 120
    assert [f.fold for f in folds] == [0, 1, 2, 3] and folds[0].folds == 4
    if protocol == "grouped":
        assert all(f.shared_groups() == 0 for f in folds)


def test_write_split_writes_parts_and_manifest(tmp_path: Path) -> None:
    split = sp.make_split(_data(), "grouped", seed=0)
    manifest = json.loads(sp.write_split(split, tmp_path).read_text())
    assert manifest["protocol"] == "grouped" and manifest["seed"] == 0
    lines = (tmp_path / "test.jsonl").read_text().splitlines()
    assert len(lines) == manifest["parts"]["test"]["examples"]
    assert len(manifest["parts"]["train"]["ids_sha256"]) == 64


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="split must be one of"):
        sp.make_split(_data(), "temporal")
    with pytest.raises(ConfigError, match="fractions"):
        sp.make_split(_data(), test_size=0.9, validation_size=0.2)
    with pytest.raises(ConfigError, match="too few examples"):
        sp.make_split(_data(n_groups=2), "random")
