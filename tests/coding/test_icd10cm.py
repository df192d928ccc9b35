from __future__ import annotations

import pytest

from adverse_events.coding._lay_terms import LAY_TERMS
from adverse_events.coding.icd10cm import ICD10CMCoder, is_valid_code


@pytest.mark.unit
def test_every_lay_term_code_is_a_real_icd10cm_code() -> None:
    assert all(is_valid_code(code) for _, code in LAY_TERMS.values())


@pytest.fixture(scope="module")
def coder() -> ICD10CMCoder:
    return ICD10CMCoder()


@pytest.mark.slow  # builds the n-gram index over all ~74k codes once (~5 s)
@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("brain zaps", "R20.2"),
        ("can't sleep", "G47.00"),
        ("gained 20 lbs", "R63.5"),
        ("terrible headaches", "R51.9"),
        ("Hypercalcemia", "E83.52"),
        ("Stevens-Johnson syndrome", "L51.1"),
        ("interstitial pneumonitis", "J84.114"),
    ],
)
def test_codes_lay_and_clinical_phrases(coder: ICD10CMCoder, phrase: str, code: str) -> None:
    [concept] = coder.code(phrase)
    assert concept.system == "ICD-10-CM" and concept.code == code
    assert concept.description and 0.5 <= (concept.score or 0) <= 1


@pytest.mark.slow
def test_weak_matches_are_dropped(coder: ICD10CMCoder) -> None:
    assert coder.code("feeling like a zombie walking around", min_score=0.6) == []
