from __future__ import annotations

from pathlib import Path

import pytest

from adverse_events.coding.icd10cm import (
    ICD10CMCoder,
    can_be_adverse_event,
    clean_mention,
    is_valid_code,
)
from adverse_events.coding.lay_terms import LAY_TERMS


@pytest.mark.unit
def test_every_lay_term_code_is_a_real_icd10cm_code() -> None:
    assert all(is_valid_code(code) for _, code in LAY_TERMS.values())


@pytest.mark.unit
def test_every_lay_term_code_is_a_billable_adverse_event_code() -> None:
    import simple_icd_10_cm as icd

    for phrase, (_, code) in LAY_TERMS.items():
        assert icd.is_leaf(code) and can_be_adverse_event(code), (phrase, code)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("R42", True),
        ("G47.00", True),
        ("F41.9", True),
        ("R79.89", True),
        ("R88.0", False),
        ("Y93.K1", False),
        ("Z91.81", False),
        ("V43.52XA", False),
        ("T43.225A", False),
        ("S06.0X0A", False),
        ("O99.89", False),
        ("P28.2", False),
    ],
)
def test_candidates_are_codes_an_adverse_event_can_have(code: str, allowed: bool) -> None:
    assert can_be_adverse_event(code) is allowed


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
        # patient phrasing around the event: intensity, time course, amounts, framing verbs
        ("dizziness, went away after a month", "R42"),
        ("first two weeks a little dizzy", "R42"),
        ("felt dizzy", "R42"),
        ("gained 15 lbs", "R63.5"),
        ("panic attcks", "F41.0"),  # misspelt lay synonym
        ("stomach ulcer", "K25.9"),
        ("very listless all day", "R53.83"),
        ("concentration difficulties", "R41.840"),
    ],
)
def test_codes_lay_and_clinical_phrases(coder: ICD10CMCoder, phrase: str, code: str) -> None:
    [concept] = coder.code(phrase)
    assert concept.system == "ICD-10-CM" and concept.code == code
    assert concept.description and 0.5 <= (concept.score or 0) <= 1


@pytest.mark.slow
def test_weak_matches_are_dropped(coder: ICD10CMCoder) -> None:
    assert coder.code("walking around the shops on a tuesday", min_score=0.6) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "phrase",
    [
        "walking the dog",
        "history of falling",
        "cloudy dialysis effluent",
        "sleep a few hours a night",
        "ended up in the emergency department",
        "car accident",
    ],
)
def test_abstains_rather_than_coding_what_is_no_adverse_event(
    coder: ICD10CMCoder, phrase: str
) -> None:
    # before issue 15 these got Y93.K1, Z91.81, R88.0, G47.30, R40.2112 and V48.5XXD
    assert coder.code(phrase) == []


ENCODER = Path(__file__).resolve().parents[2] / ".." / "shared" / "models" / "all-MiniLM-L6-v2"


@pytest.mark.slow
def test_semantic_step_codes_paraphrases_only_with_an_encoder(coder: ICD10CMCoder) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if not (ENCODER / "config.json").is_file():
        pytest.skip("needs ../shared/models/all-MiniLM-L6-v2")
    phrase = "numb feet, first 2 weeks"
    assert coder.code(phrase) == []  # the lexical steps abstain
    semantic = ICD10CMCoder(encoder=ENCODER)
    [concept] = semantic.code(phrase)
    assert concept.code == "R20.0" and (concept.score or 0) >= semantic.semantic_min
    assert semantic.code("walking the dog") == []  # still abstains below the threshold


def test_encoder_must_be_a_model_folder(tmp_path: Path) -> None:
    from adverse_events.errors import ConfigError

    with pytest.raises(ConfigError, match="model folder"):
        ICD10CMCoder(encoder=tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("mention", "cleaned"),
    [
        ("extreme nausea the first few days", "nausea"),
        ("felt a little dizzy at night", "dizzy"),
        ("gained 15 lbs", "gained"),
        ("the", ""),
    ],
)
def test_clean_mention_drops_the_words_around_an_event(mention: str, cleaned: str) -> None:
    assert clean_mention(mention) == cleaned


@pytest.mark.unit
@pytest.mark.parametrize(
    ("phrase", "code"),
    [("hairloss", "L65.9"), ("panic attcks", "F41.0"), ("head pounding all day", None)],
)
def test_a_misspelling_is_one_slip_not_another_word(
    coder: ICD10CMCoder, phrase: str, code: str | None
) -> None:
    # "head pounding" is two edits from "heart pounding" (palpitations): another word
    assert [c.code for c in coder.code(phrase)] == ([code] if code else [])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("phrase", "not_code"),
    [
        ("hepatitis", "B15.0"),  # not Hepatitis A with hepatic coma: the description says more
        ("sustained monomorphic ventricular tachycardia", "R00.0"),  # "tachycardia" inside
        ("pulmonary edema", "R60.0"),
    ],
)
def test_a_clinical_term_is_not_coded_by_a_word_inside_it(
    coder: ICD10CMCoder, phrase: str, not_code: str
) -> None:
    assert not_code not in [c.code for c in coder.code(phrase)]


@pytest.mark.unit
def test_back_pain_by_region() -> None:
    coder = ICD10CMCoder()
    assert [c.code for c in coder.code("back pain")] == ["M54.9"]
    assert [c.code for c in coder.code("bit of lower back pain")] == ["M54.50"]
