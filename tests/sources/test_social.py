"""Drug vocabulary, rule building, pseudonyms, location reduction and X post normalisation."""

from __future__ import annotations

import json

import pytest

from adverse_events.errors import ConfigError, InputError
from adverse_events.sources._places import reduce_location, reduce_place
from adverse_events.sources._social import (
    DrugVocabulary,
    Pseudonymiser,
    XPostNormaliser,
    build_queries,
)
from tests.sources.x_api_standin import make_tweet

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def vocab() -> DrugVocabulary:
    return DrugVocabulary.load()


def test_builtin_vocabulary_maps_brands_to_generics(vocab: DrugVocabulary) -> None:
    assert vocab.generic("Prozac") == "fluoxetine"
    assert vocab.generic("zoloft") == "sertraline"
    assert vocab.generic("fluoxetine") == "fluoxetine"
    assert len(vocab.drugs) >= 50


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Prozac made me dizzy", ("fluoxetine",)),
        ("started #zoloft, then PROZAC", ("sertraline", "fluoxetine")),
        ("prozac's side effects", ("fluoxetine",)),
        ("antiprozac crowd and prozacs and prozac2", ()),
        ("on Effexor  XR since may", ("venlafaxine",)),
        ("took plan b yesterday", ("levonorgestrel",)),
        ("fluoxetine aka prozac", ("fluoxetine",)),
        ("nothing here", ()),
    ],
)
def test_find_matches_whole_words_only(vocab: DrugVocabulary, text: str, expected: tuple) -> None:
    assert vocab.find(text) == expected


def test_user_vocabulary_extends_or_replaces(tmp_path) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(
        json.dumps(
            {
                "drugs": [
                    {"generic": "fluoxetine", "brands": ["Flux"]},
                    {"generic": "newdrugumab", "synonyms": ["Newmab"]},
                ]
            }
        )
    )
    both = DrugVocabulary.load(path)
    assert both.find("Flux and Newmab and Prozac") == ("fluoxetine", "newdrugumab")
    only = DrugVocabulary.load(path, include_builtin=False)
    assert only.find("Flux and Prozac and zoloft") == ("fluoxetine",)


def test_misspellings_tag_posts_but_never_become_rule_terms(tmp_path) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"drugs": [{"generic": "fluoxetine", "misspellings": ["prozak"]}]}))
    vocab = DrugVocabulary.load(path)
    assert vocab.find("prozak and zolft") == ("fluoxetine", "sertraline")  # user + built-in
    assert vocab.generic("prozak") == "fluoxetine"
    assert vocab.generic("prozak", misspellings=False) is None
    assert not {"prozak", "zolft"} & set(vocab.terms)
    assert "zolft" not in " ".join(build_queries(vocab.terms, "lang:en", 512))


@pytest.mark.parametrize(
    "content",
    [
        "[1]",
        '{"drugs": [{"brands": ["x"]}]}',
        "{not json",
        '{"drugs": [{"generic": "x", "misspellings": "y"}]}',
        '{"drugs": [{"generic": "x", "brands": [1]}]}',
    ],
)
def test_bad_vocabulary_file_is_a_config_error(tmp_path, content: str) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="vocabulary"):
        DrugVocabulary.from_file(path)


def test_build_queries_respects_the_length_limit(vocab: DrugVocabulary) -> None:
    suffix = "lang:en -is:retweet"
    queries = build_queries(vocab.terms, suffix, 512)
    assert len(queries) > 1
    assert all(len(q) <= 512 and q.endswith(f") {suffix}") for q in queries)
    operands = [t for q in queries for t in q.split(")")[0].lstrip("(").split(" OR ")]
    assert "prozac" in operands and "fluoxetine" in operands and '"plan b"' in operands
    assert len(operands) == len(set(operands)) == len({t.lower() for t in vocab.terms})


def test_build_queries_rejects_a_term_longer_than_the_limit() -> None:
    with pytest.raises(ConfigError, match="rule_max_length"):
        build_queries(["x" * 50], "lang:en", 20)


def test_pseudonymiser_is_keyed_and_stable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVERSE_EVENTS_PSEUDONYM_KEY", raising=False)
    one, other = Pseudonymiser("k1"), Pseudonymiser("k2")
    assert one.author("x", "1001") == one.author("x", "1001")
    assert one.author("x", "1001") != other.author("x", "1001")
    assert "1001" not in one.author("x", "1001")
    assert Pseudonymiser().author("x", "1001") is None  # no key: author dropped
    assert "k1" not in repr(one)
    monkeypatch.setenv("ADVERSE_EVENTS_PSEUDONYM_KEY", "k1")
    assert Pseudonymiser().author("x", "1001") == one.author("x", "1001")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Austin, TX", {"country": "US", "state": "TX"}),
        ("Columbus, Ohio, USA", {"country": "US", "state": "OH"}),
        ("Toronto, Ontario", {"country": "CA", "state": "ON"}),
        ("Manchester, UK", {"country": "GB"}),
        ("in my head", {}),
        ("me or you", {}),
        (None, {}),
    ],
)
def test_reduce_location_keeps_country_and_state_only(text, expected) -> None:
    assert reduce_location(text) == expected


def test_reduce_place_uses_the_country_code() -> None:
    assert reduce_place("US", "Austin, TX") == {"country": "US", "state": "TX"}
    assert reduce_place("FR", "Paris, Ile-de-France") == {"country": "FR"}


def _normaliser(vocab: DrugVocabulary, **options) -> XPostNormaliser:
    return XPostNormaliser(vocab, pseudonymiser=Pseudonymiser("key"), **options)


def test_to_post_normalises_a_tweet(vocab: DrugVocabulary) -> None:
    tweet = make_tweet(1234, "Zoloft gave me headaches", author_id="77")
    post = _normaliser(vocab).to_post(tweet, {}, [{"id": "9", "tag": "adverse-events:1"}])
    assert post is not None
    assert post.post_id == "x:1234" and post.source == "twitter" and post.lang == "en"
    assert post.created_at is not None and post.created_at.utcoffset().total_seconds() == 0
    assert post.drug_mentions == ("sertraline",)
    assert post.author_id and "77" not in post.author_id
    assert post.metadata["matching_rules"] == ["adverse-events:1"]
    assert "location" not in post.metadata


def test_filters_follow_configuration(vocab: DrugVocabulary) -> None:
    retweet, quote = make_tweet(1, "prozac", retweet=True), make_tweet(2, "prozac", quote=True)
    spanish = make_tweet(3, "prozac", lang="es")
    default = _normaliser(vocab)
    assert default.to_post(retweet) is None and default.to_post(spanish) is None
    assert default.to_post(quote) is not None
    custom = _normaliser(vocab, retweets="keep", quotes="drop", lang=None)
    assert custom.to_post(retweet) is not None and custom.to_post(spanish) is not None
    assert custom.to_post(quote) is None
    with pytest.raises(ConfigError):
        _normaliser(vocab, retweets="maybe")


def test_location_only_when_opted_in(vocab: DrugVocabulary) -> None:
    tweet = make_tweet(5, "prozac", author_id="9")
    includes = {"users": [{"id": "9", "location": "Austin, TX", "username": "someone"}]}
    assert "location" not in _normaliser(vocab).to_post(tweet, includes).metadata
    post = _normaliser(vocab, location=True).to_post(tweet, includes)
    assert post.metadata["location"] == {"country": "US", "state": "TX"}
    assert "someone" not in post.model_dump_json() and "Austin" not in post.model_dump_json()
    placed = dict(tweet, geo={"place_id": "p1"})
    places = {"places": [{"id": "p1", "country_code": "CA", "full_name": "Toronto, ON"}]}
    assert _normaliser(vocab, location=True).to_post(placed, places).metadata["location"] == {
        "country": "CA",
        "state": "ON",
    }


@pytest.mark.parametrize(
    "tweet",
    [
        "not an object",
        {"text": "prozac"},
        {"id": "abc", "text": "prozac"},
        {"id": "5", "text": ""},
        {"id": "5", "text": "prozac", "created_at": "yesterday"},
    ],
)
def test_malformed_tweets_raise_input_error(vocab: DrugVocabulary, tweet) -> None:
    with pytest.raises(InputError):
        _normaliser(vocab).to_post(tweet)
