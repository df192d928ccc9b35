"""Lay patterns: free phrasings of one event reach its code, and the other direction does not."""

from __future__ import annotations

import pytest

from adverse_events.coding.icd10cm import ICD10CMCoder, can_be_adverse_event, is_valid_code
from adverse_events.coding.lay_patterns import LAY_PATTERNS, LayPattern, match_lay_pattern


@pytest.mark.unit
def test_every_pattern_code_is_a_billable_adverse_event_code() -> None:
    import simple_icd_10_cm as icd

    for pattern in LAY_PATTERNS:
        assert is_valid_code(pattern.code), pattern
        assert icd.is_leaf(pattern.code) and can_be_adverse_event(pattern.code), pattern


@pytest.mark.unit
def test_head_cue_and_unless_all_decide() -> None:
    pattern = LayPattern("Loss of libido", "R68.82", r"\blibido\b", r"\blow\b", r"\bnot\b")
    assert pattern.matches("libido is low")
    assert not pattern.matches("libido is fine")  # no cue
    assert not pattern.matches("libido is not low")  # unless
    assert not pattern.matches("low mood")  # no head


@pytest.fixture(scope="module")
def coder() -> ICD10CMCoder:
    return ICD10CMCoder()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("mention", "code"),
    [
        ("sex drive non-existant", "R68.82"),
        ("interest in sex has decreased significantly", "R68.82"),
        ("difficulty climaxing", "R37"),
        ("takes much longer to climax", "R37"),
        ("very detailed, vivid, fascinating, cinematic-like dreams", "G47.59"),
        ("dreams, usually bad", "F51.5"),
        ("not sleeping for days", "G47.00"),
        ("sleep 13 hours", "G47.10"),
        ("mind was in a fog", "R41.840"),
        ("lack of motivation", "R45.3"),
        ("unmotivated to do anything", "R45.3"),
        ("zombie like feeling", "R45.89"),
        ("naseua", "R11.0"),
        ("pee every five minutes all night", "R35.1"),
    ],
)
def test_free_phrasings_are_coded(coder: ICD10CMCoder, mention: str, code: str) -> None:
    assert [c.code for c in coder.code(mention)] == [code]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("mention", "not_code"),
    [
        ("strengthened my libido", "R68.82"),  # the other direction
        ("strengthened my orgasms", "R37"),
        ("unable to drive on the freeway", "R45.3"),  # "drive" is not motivation here
        ("head felt numb", "R45.89"),  # physical numbness, not emotional
        ("weight would increase, then decrease, then increase again", "R63.5"),
        ("at first gave me tons of energy", "R53.83"),
    ],
)
def test_the_other_direction_is_not_coded_as_the_event(
    coder: ICD10CMCoder, mention: str, not_code: str
) -> None:
    assert not_code not in [c.code for c in coder.code(mention)]


@pytest.mark.unit
def test_first_match_wins_so_specific_patterns_come_first() -> None:
    found = match_lay_pattern("have to take a sedative to sleep")
    assert found is not None and found.code == "G47.00"
    assert match_lay_pattern("a perfectly ordinary sentence") is None
