"""Drug names -> active ingredients: vocabulary, the package dictionary, trimming, fuzzy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adverse_events.coding.ingredients import IngredientNormalizer, dictionary_available
from adverse_events.errors import PluginError
from adverse_events.records import INGREDIENT_SYSTEM, UNRESOLVED, Mention
from adverse_events.vocabulary import DrugVocabulary

pytestmark = pytest.mark.unit

needs_dictionary = pytest.mark.skipif(
    not dictionary_available(), reason="needs drug-named-entity-recognition (the extract extra)"
)


@pytest.fixture(scope="module")
def vocabulary_only() -> IngredientNormalizer:
    return IngredientNormalizer(dictionary=False)


@pytest.fixture(scope="module")
def full() -> IngredientNormalizer:
    if not dictionary_available():
        pytest.skip("needs drug-named-entity-recognition (the extract extra)")
    return IngredientNormalizer(dictionary=True)


def names(normalizer: IngredientNormalizer, text: str) -> list[str]:
    return [i.name for i in normalizer.resolve(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Effexor", ["venlafaxine"]),
        ("Effexor XR", ["venlafaxine"]),
        ("effexor a", ["venlafaxine"]),  # a span that ran one word too far
        ("effexor xr- dizzy", ["venlafaxine"]),
        ("cymbalta a", ["duloxetine"]),
        ("lexipro", ["escitalopram"]),  # a listed misspelling
        ("sertraline hydrochloride 50mg", ["sertraline"]),
        ("Percocet", ["oxycodone", "acetaminophen"]),  # a combination product
        ("oxycodone/acetaminophen", ["oxycodone", "acetaminophen"]),
        ("zoloft and wellbutrin", ["sertraline", "bupropion"]),
        ("paracetamol", ["acetaminophen"]),
        ("valiums", ["diazepam"]),  # a plural of a brand
        ("xanaxes", ["alprazolam"]),
        ("lexaproooo", ["escitalopram"]),  # elongated, as in tweets
    ],
)
def test_vocabulary_names_resolve_to_ingredients(
    vocabulary_only: IngredientNormalizer, text: str, expected: list[str]
) -> None:
    assert names(vocabulary_only, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "despite reduced calorie intake",
        "scary - anyone",
        "hearing",
        "ability",
        "lead",
        "out acid",
        "",
        "the pill",
        "my meds",
    ],
)
def test_non_drugs_resolve_to_nothing(vocabulary_only: IngredientNormalizer, text: str) -> None:
    assert vocabulary_only.resolve(text) == ()


def test_scores_say_how_the_name_was_found(vocabulary_only: IngredientNormalizer) -> None:
    assert vocabulary_only.resolve_scored("Zoloft")[1] == 1.0
    assert vocabulary_only.resolve_scored("Zoloft tablets")[1] == 0.9
    assert vocabulary_only.resolve_scored("venlafaxien") == (
        vocabulary_only.resolve("venlafaxine"),
        0.8,
    )  # one transposition
    assert IngredientNormalizer(dictionary=False, fuzzy=False).resolve("venlafaxien") == ()


def test_user_additions_win_and_carry_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "drugs.json"
    path.write_text(
        json.dumps(
            {
                "drugs": [
                    {"generic": "newdrugumab", "brands": ["Zorbiqa"], "ids": {"RxNorm": "999999"}},
                    {
                        "generic": "duozide",
                        "brands": ["Duoza"],
                        "ingredients": ["newdrugumab", "zide"],
                    },
                ]
            }
        )
    )
    normalizer = IngredientNormalizer(DrugVocabulary.load(path), dictionary=False)
    [found] = normalizer.resolve("Zorbiqa XR")
    assert found.name == "newdrugumab" and ("RxNorm", "999999") in found.ids
    assert names(normalizer, "Duoza") == ["newdrugumab", "zide"]
    assert names(normalizer, "Zoloft") == ["sertraline"]  # the built-in vocabulary stays


def test_normalize_adds_concepts_or_flags_unresolved(
    vocabulary_only: IngredientNormalizer,
) -> None:
    # "Percocet and a wonder pill gave me nausea"
    mentions = [
        Mention(text="Percocet", start=0, end=8, category="DRUG"),
        Mention(text="wonder pill", start=15, end=26, category="DRUG"),
        Mention(text="nausea", start=35, end=41, category="ADVERSE_EVENT"),
    ]
    percocet, pill, nausea = vocabulary_only.normalize(mentions)
    assert percocet.ingredients == ("oxycodone", "acetaminophen")
    assert {c.system for c in percocet.concepts} >= {INGREDIENT_SYSTEM}
    assert UNRESOLVED in pill.traits and pill.ingredients == () and pill.text == "wonder pill"
    assert nausea == mentions[2]
    # normalising twice changes nothing
    assert vocabulary_only.normalize([percocet, pill, nausea]) == [percocet, pill, nausea]


@needs_dictionary
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Triumeq", ["abacavir", "dolutegravir", "lamivudine"]),  # dictionary combination
        ("Lamictal XR", ["lamotrigine"]),
        ("klonopin", ["clonazepam"]),
        ("seroqual", ["quetiapine"]),  # fuzzy over the dictionary's brand names
    ],
)
def test_the_package_dictionary_adds_thousands_of_drugs(
    full: IngredientNormalizer, text: str, expected: list[str]
) -> None:
    assert names(full, text) == expected


@needs_dictionary
def test_dictionary_ids_and_drug_classes(full: IngredientNormalizer) -> None:
    [sertraline] = full.resolve("Zoloft")
    assert ("DrugBank", "DB01104") in sertraline.ids and ("MeSH", "D017367") in sertraline.ids
    assert full.resolve("antidepressants") == ()  # a class of drugs, not an ingredient
    concepts = full.concepts("Zoloft")
    assert [c.system for c in concepts] == ["ingredient", "DrugBank", "MeSH"]
    assert {c.description for c in concepts} == {"sertraline"}


def test_dictionary_required_but_missing_is_a_plugin_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import adverse_events.coding.ingredients as module

    monkeypatch.setattr(module, "_dictionary_file", lambda: None)
    assert not module.dictionary_available()
    with pytest.raises(PluginError, match=r"adverse-events\[extract\]"):
        IngredientNormalizer(dictionary=True)
    assert IngredientNormalizer().dictionary is False  # default: used when installed
