"""Mention features for stacking: the CRF is trained on training groups only; shapes and cues."""

from __future__ import annotations

import numpy as np
import pytest

from adverse_events.extractors.corpora import SpanExample
from adverse_events.training.mention_features import (
    FEATURE_NAMES,
    TEXT_FEATURE_NAMES,
    mention_features,
    span_examples_for,
    text_features,
)

pytestmark = pytest.mark.unit


def _examples() -> list[SpanExample]:
    return [
        SpanExample("Rash after drug A.", ((0, 4, "ADVERSE_EVENT"),), "11", "ade"),
        SpanExample("No problems.", (), "12", "ade"),
        SpanExample("Rash after drug A.", ((0, 4, "ADVERSE_EVENT"),), "13", "ade"),
        SpanExample("I got dizzy.", ((6, 11, "ADVERSE_EVENT"),), "r7", "psytar"),
    ]


def test_span_examples_for_keeps_training_groups_only() -> None:
    kept = span_examples_for(_examples(), {"pmid:11", "pmid:12", "r7"})
    assert [e.group for e in kept] == ["11", "12", "r7"]


def test_span_examples_for_drops_held_out_texts_found_in_training_groups() -> None:
    kept = span_examples_for(_examples(), {"pmid:11", "pmid:12"}, [" rash after DRUG a. "])
    assert [e.group for e in kept] == ["12"]


def test_text_features_see_first_person_past_and_negation() -> None:
    rows = text_features(["I felt dizzy and my head hurt.", "The drug is not approved."])
    assert rows.shape == (2, len(TEXT_FEATURE_NAMES))
    first, past, _, negation = rows.T
    assert first[0] > 0 == first[1]
    assert past[0] > 0
    assert negation.tolist() == [0.0, 1.0]


class _FakeModel:
    def spans(self, text: str) -> list[tuple[int, int, str, float]]:
        out = []
        if "nausea" in text:
            start = text.index("nausea")
            out.append((start, start + 6, "ADVERSE_EVENT", 0.8))
        if "Zoloft" in text:
            start = text.index("Zoloft")
            out.append((start, start + 6, "DRUG", 1.0))
        return out


def test_mention_features_count_spans_and_assertions() -> None:
    rows = mention_features(_FakeModel(), ["Zoloft gave me nausea.", "I had no nausea.", "Fine."])
    assert rows.shape == (3, len(FEATURE_NAMES))
    named = [dict(zip(FEATURE_NAMES, row, strict=True)) for row in rows]
    assert named[0]["ae_max"] == pytest.approx(0.8)
    assert named[0]["drug_present"] == 1.0
    assert named[0]["ae_asserted_max"] == pytest.approx(0.8)
    assert named[1]["ae_negated"] > 0 and named[1]["ae_asserted_max"] == 0.0
    assert not np.any(rows[2])
