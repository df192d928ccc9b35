from __future__ import annotations

import pytest

from adverse_events.extractors.assertion import apply_traits, filter_mentions, traits_for
from adverse_events.records import Mention


def _traits(text: str, phrase: str) -> tuple[str, ...]:
    start = text.index(phrase)
    return traits_for(text, start, start + len(phrase))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "phrase", "trait"),
    [
        ("no headache since I stopped", "headache", "NEGATION"),
        ("I don't have any nausea anymore", "nausea", "NEGATION"),
        ("Never had a rash on it.", "rash", "NEGATION"),
        ("if I get dizzy I sit down", "dizzy", "HYPOTHETICAL"),
        ("I'm worried about weight gain", "weight gain", "HYPOTHETICAL"),
        ("my mom had nausea on it", "nausea", "PERTAINS_TO_FAMILY"),
        ("My brother gets migraines.", "migraines", "PERTAINS_TO_FAMILY"),
        ("I used to have insomnia", "insomnia", "PAST_HISTORY"),
    ],
)
def test_trait_rules(text: str, phrase: str, trait: str) -> None:
    assert trait in _traits(text, phrase)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Zoloft gave me a headache", "headache"),
        ("I had no appetite.", "appetite"),
        ("No libido whatsoever, emotionless.", "emotionless"),
        ("It didn't help, but now I have headaches", "headaches"),
        ("my husband says I get irritable", "irritable"),
        ("no doubt it caused my weight gain", "weight gain"),
    ],
)
def test_asserted_events_get_no_excluding_trait(text: str, phrase: str) -> None:
    assert not {"NEGATION", "HYPOTHETICAL", "PERTAINS_TO_FAMILY"} & set(_traits(text, phrase))


@pytest.mark.unit
def test_apply_and_filter() -> None:
    text = "no headache but terrible nausea from Zoloft"
    mentions = [
        Mention(text="headache", start=3, end=11, category="ADVERSE_EVENT"),
        Mention(text="nausea", start=25, end=31, category="ADVERSE_EVENT"),
        Mention(text="Zoloft", start=37, end=43, category="DRUG", traits=("PAST_HISTORY",)),
    ]
    flagged = apply_traits(text, mentions, categories=("ADVERSE_EVENT",))
    assert flagged[0].traits == ("NEGATION",) and not flagged[0].asserted
    assert flagged[1].traits == () and flagged[2].traits == ("PAST_HISTORY",)
    kept = filter_mentions(flagged, ("NEGATION",))
    assert [m.text for m in kept] == ["nausea", "Zoloft"]
    assert filter_mentions(flagged, ("NEGATION",), keep_excluded=True) == flagged
