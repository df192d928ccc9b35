from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events.extractors.corpora import load_ade, load_psytar, split
from adverse_events.extractors.evaluation import score_spans


@pytest.mark.integration
def test_psytar_and_ade_spans_are_located_and_split_by_group(data_root: Path) -> None:
    psytar, ade = load_psytar(data_root), load_ade(data_root)
    assert len(psytar) == 2752 and sum(len(e.spans) for e in psytar) > 1900
    assert len(ade) > 4000 and {c for e in ade for *_, c in e.spans} == {"ADVERSE_EVENT", "DRUG"}
    for examples in (psytar, ade):
        for example in examples[:500]:
            assert all(0 <= s < e <= len(example.text) for s, e, _ in example.spans)
        train, test = split(examples)
        assert not {e.group for e in train} & {e.group for e in test}
        assert 0.1 < len(test) / len(examples) < 0.3
        assert split(examples) == (train, test)  # deterministic


@pytest.mark.unit
def test_exact_and_partial_scores() -> None:
    gold = [[(0, 8, "ADVERSE_EVENT"), (20, 26, "DRUG")]]
    pred = [[(0, 8, "ADVERSE_EVENT"), (21, 26, "DRUG"), (30, 35, "DRUG")]]
    scores = score_spans(gold, pred)
    assert scores["ADVERSE_EVENT"]["exact"].f1 == 1.0
    assert scores["DRUG"]["exact"].precision == 0.0
    assert scores["DRUG"]["partial"].precision == pytest.approx(0.5)
    assert scores["DRUG"]["partial"].recall == 1.0
