"""`adverse_events.text.social`: informal posts into plain words, applied by the classifiers
of models trained with ``preprocess="social"``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adverse_events.errors import ConfigError
from adverse_events.text.social import get_preprocessor, normalise_social, unelongate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("#SideEffects from #zoloft", "side effects from zoloft"),
        ("@DrSmith it made me dizzy", "@user it made me dizzy"),
        ("see https://t.co/AbC12 and www.example.com/x", "see url and url"),
        ("sooooo tiiiired", "soo tiired"),
        ("feel sick \U0001f922", "feel sick nauseated face"),
        ("w/ nausea b/c of it idk", "with nausea because of it i don't know"),
        ("rash &amp; itching\nall week", "rash & itching all week"),
        ("#WeightGain4Life", "weight gain 4 life"),
        ("I felt dizzy and sick.", "I felt dizzy and sick."),
        ("a@b.com is not a mention", "a@b.com is not a mention"),
        ("thumbs \U0001f44d\U0001f3fd", "thumbs thumbs up sign"),
    ],
)
def test_normalise_social(raw: str, clean: str) -> None:
    assert normalise_social(raw) == clean


@given(st.text(max_size=200))
def test_any_text_gives_text_and_a_second_pass_changes_nothing_more(text: str) -> None:
    once = normalise_social(text)
    assert isinstance(once, str)
    assert normalise_social(once) == normalise_social(normalise_social(once))


def test_preprocessor_by_name() -> None:
    assert get_preprocessor(None) is None
    social = get_preprocessor("social")
    assert social is not None and social(["#Rash", "ok"]) == ["rash", "ok"]
    with pytest.raises(ConfigError, match="unknown preprocess 'emoji'"):
        get_preprocessor("emoji")


def test_tfidf_model_trained_with_social_preprocessing_applies_it(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from adverse_events.classifiers.tfidf import TfidfClassifier
    from adverse_events.training.workflow import load_data, train

    rows = [
        {"text": f"this gave me {e} again", "label": 1}
        for e in ("a rash", "nausea", "headaches", "dizziness", "insomnia", "tremors")
    ] * 3 + [
        {"text": f"I talk about {o} again", "label": 0}
        for o in ("my dog", "the weather", "a job", "the train", "my garden", "football")
    ] * 3
    for i, row in enumerate(rows):
        row["group"] = str(i)
    data_file = tmp_path / "posts.jsonl"
    data_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = train(
        load_data([data_file]),
        "tfidf",
        tmp_path / "m",
        preprocess="social",
        test_size=0.25,
        validation_size=0.25,
        cross_fit=None,
    )
    info = json.loads((result.output / "adverse_events.json").read_text())
    assert info["preprocess"] == "social"
    with TfidfClassifier(result.output) as classifier:
        tagged, plain = classifier.classify(
            ["this gave me a #Rash again \U0001f622", "this gave me a rash again crying face"]
        )
    assert tagged.score == pytest.approx(plain.score)


def test_unelongate_cuts_repeats_to_two_then_one() -> None:
    assert unelongate("lexaproooo") == ("lexaproo", "lexapro")
    assert unelongate("xanaxxx") == ("xanaxx", "xanax")
    assert unelongate("zoloft") == ()  # nothing elongated: no variants
