"""One drug vocabulary: the X source and the lexicon extractor know the same drugs."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from adverse_events.errors import ConfigError
from adverse_events.extractors.lexicon import LexiconExtractor
from adverse_events.sources.twitter import TwitterSource
from adverse_events.vocabulary import BUILTIN_VOCABULARY, DrugVocabulary

pytestmark = pytest.mark.unit


def _file_entries() -> list[dict]:
    text = resources.files("adverse_events").joinpath(BUILTIN_VOCABULARY).read_text("utf-8")
    return json.loads(text)["drugs"]


@pytest.fixture(scope="module")
def source() -> TwitterSource:
    return TwitterSource("search", bearer_token="unused")


@pytest.fixture(scope="module")
def extractor() -> LexiconExtractor:
    return LexiconExtractor(code_icd10=False)


def test_source_and_extractor_know_every_name_in_the_file(
    source: TwitterSource, extractor: LexiconExtractor
) -> None:
    matcher = extractor.model.drugs
    rules = " ".join(source.queries).lower()
    for entry in _file_entries():
        generic = entry["generic"]
        ingredients = tuple(entry.get("ingredients", [generic]))
        for name in [generic, *entry.get("brands", []), *entry.get("synonyms", [])]:
            assert source.vocabulary.generic(name) == generic, name
            assert source.vocabulary.find(f"took {name} today") == ingredients, name
            assert source.vocabulary.ingredients(name) == ingredients, name
            assert name.lower() in rules, name
            if " " not in name:  # the extractor's gazetteer looks up single tokens
                assert matcher.lookup(name) == generic, name


def test_both_find_a_misspelling_but_rules_leave_it_out(
    source: TwitterSource, extractor: LexiconExtractor
) -> None:
    text = "lexipro gave me brain zaps"
    assert source.vocabulary.find(text) == ("escitalopram",)
    [mentions] = extractor.extract([text])
    assert ("lexipro", "DRUG") in {(m.text, m.category) for m in mentions}
    assert extractor.model.drugs.lookup("lexipro") == "escitalopram"
    assert "lexipro" not in " ".join(source.queries)
    assert "lexipro" not in source.vocabulary.terms


def test_paracetamol_and_acetaminophen_are_one_drug() -> None:
    vocab = DrugVocabulary.builtin()
    assert vocab.generic("paracetamol") == vocab.generic("Tylenol") == "acetaminophen"
    assert "paracetamol" not in vocab.drugs


def test_one_user_file_works_for_source_and_extractor(tmp_path) -> None:
    path = tmp_path / "drugs.json"
    path.write_text(
        json.dumps(
            {
                "drugs": [
                    {
                        "generic": "newdrugumab",
                        "brands": ["Zorbiqa"],
                        "synonyms": ["ndm-1"],
                        "misspellings": ["zorbika"],
                    },
                ]
            }
        )
    )
    source = TwitterSource("search", bearer_token="unused", vocabulary=path)
    assert source.vocabulary.find("Zorbiqa then zorbika") == ("newdrugumab",)
    assert any("zorbiqa" in q for q in source.queries)
    assert not any("zorbika" in q for q in source.queries)
    [mentions] = LexiconExtractor(code_icd10=False, drug_vocabulary=path).extract(
        ["Zorbiqa made me dizzy, zorbika again, and Prozac"]
    )
    drugs = {m.text for m in mentions if m.category == "DRUG"}
    assert {"Zorbiqa", "zorbika", "Prozac"} <= drugs
    [without] = LexiconExtractor(code_icd10=False).extract(["Zorbiqa made me dizzy"])
    assert "Zorbiqa" not in {m.text for m in without if m.category == "DRUG"}


def test_misspelling_of_an_unknown_drug_or_bad_list_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        DrugVocabulary({"fluoxetine": ["Prozac"]}, {"zolft": "sertraline"})
    path = tmp_path / "drugs.json"
    path.write_text(json.dumps({"drugs": [{"generic": "x", "misspellings": "notalist"}]}))
    with pytest.raises(ConfigError, match="lists of strings"):
        LexiconExtractor(code_icd10=False, drug_vocabulary=path)
    with pytest.raises(ConfigError, match="not found"):
        LexiconExtractor(code_icd10=False, drug_vocabulary=tmp_path / "missing.json")


def test_a_misspelling_never_shadows_a_real_name() -> None:
    vocab = DrugVocabulary({"a-drug": ["Paxil"], "b-drug": ["Paxill"]}, {"paxill": "a-drug"})
    assert vocab.generic("paxill") == "b-drug"
    assert vocab.misspellings == {}


def test_a_combination_product_gives_each_ingredient(tmp_path) -> None:
    vocab = DrugVocabulary.builtin()
    assert vocab.find("two Percocet and some Zoloft") == (
        "oxycodone",
        "acetaminophen",
        "sertraline",
    )
    assert vocab.ingredients("percoset") == ("oxycodone", "acetaminophen")  # misspelling
    assert vocab.ingredients("OxyContin") == ("oxycodone",)
    assert vocab.ingredients("no such drug") == ()
    path = tmp_path / "drugs.json"
    path.write_text(
        json.dumps(
            {
                "drugs": [
                    {"generic": "newcombo", "brands": ["Duoza"], "ingredients": ["alpha", "beta"]},
                    {"generic": "alpha", "ids": {"RxNorm": "123"}},
                ]
            }
        )
    )
    user = DrugVocabulary.load(path)
    assert user.find("Duoza") == ("alpha", "beta")
    assert user.ids["alpha"] == {"RxNorm": "123"}
    assert user.find("Percocet") == ("oxycodone", "acetaminophen")  # built-in kept


@pytest.mark.parametrize(
    "entry",
    [
        {"generic": "x", "ingredients": "alpha"},
        {"generic": "x", "ids": {"RxNorm": 123}},
        {"generic": "x", "ids": ["RxNorm"]},
    ],
)
def test_bad_ingredients_or_ids_are_config_errors(tmp_path, entry: dict) -> None:
    path = tmp_path / "drugs.json"
    path.write_text(json.dumps({"drugs": [entry]}))
    with pytest.raises(ConfigError, match="ingredient|ids"):
        DrugVocabulary.from_file(path)
