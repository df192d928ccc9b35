"""What every social-media source shares: the drug vocabulary, rules, and post normalisation.

* `DrugVocabulary` (from `adverse_events.vocabulary`, the one vocabulary the lexicon extractor
  uses too): drug names, word-boundary matching of mentions, normalisation to the generic name,
  and the terms from which X stream rules and search queries are built (`build_queries`).
* `Pseudonymiser` (from `adverse_events.privacy`, the one pseudonymisation step of every
  source): a keyed hash (HMAC-SHA256) of author ids. Without a key, authors are dropped.
* `XPostNormaliser`: one X API v2 tweet (plus the response's ``includes``) -> `Post`, or ``None``
  when configuration filters it out (retweets, quotes, other languages).

Privacy by default: no raw author ids, no user names, no location unless the caller opts in,
and then only country and state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from adverse_events.errors import ConfigError, InputError
from adverse_events.privacy import PSEUDONYM_KEY_ENV, Pseudonymiser
from adverse_events.records import Post
from adverse_events.sources._mapping import parse_timestamp
from adverse_events.sources._places import reduce_location, reduce_place
from adverse_events.vocabulary import DrugVocabulary

__all__ = [
    "PSEUDONYM_KEY_ENV",
    "DrugVocabulary",
    "Pseudonymiser",
    "XPostNormaliser",
    "build_queries",
]


def _quote(term: str) -> str:
    """A term as an X query operand: exact phrase quotes when it is not one plain word."""
    plain = re.fullmatch(r"[\w]+", term) is not None
    return term if plain else '"' + term.replace('"', "") + '"'


def build_queries(terms: Sequence[str], suffix: str, max_length: int) -> list[str]:
    """Pack ``(t1 OR t2 ...) suffix`` queries, each at most `max_length` characters.

    X limits the length of a stream rule (512 characters on most tiers, 1,024 on Pro) and of a
    search query (512 on Basic), so a long vocabulary becomes several rules or queries.
    """
    tail = f" {suffix}" if suffix else ""
    queries: list[str] = []
    chunk: list[str] = []
    for term in dict.fromkeys(_quote(t.lower()) for t in terms):
        candidate = [*chunk, term]
        if len(f"({' OR '.join(candidate)}){tail}") <= max_length:
            chunk = candidate
            continue
        if not chunk:
            raise ConfigError(
                f"drug term {term!r} with {suffix!r} is longer than the rule length "
                f"limit ({max_length}); raise rule_max_length or shorten the term"
            )
        queries.append(f"({' OR '.join(chunk)}){tail}")
        chunk = [term]
    if chunk:
        queries.append(f"({' OR '.join(chunk)}){tail}")
    return queries


def _by_id(items: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}


@dataclass
class XPostNormaliser:
    """X API v2 tweet JSON -> `Post` (see the module docstring for the privacy rules).

    Args:
        vocabulary: drugs to tag (``Post.drug_mentions`` holds generic names).
        lang: keep only posts in this language (None keeps every language).
        retweets / quotes: ``"keep"`` or ``"drop"``.
        pseudonymiser: how author ids are hashed.
        location: add ``metadata["location"]`` = country/state (from the tweet's place, else
            the author's profile location) — off unless the operator opts in.
        source: the `Post.source` value.
    """

    vocabulary: DrugVocabulary
    lang: str | None = "en"
    retweets: str = "drop"
    quotes: str = "keep"
    pseudonymiser: Pseudonymiser = field(default_factory=Pseudonymiser)
    location: bool = False
    source: str = "twitter"

    def __post_init__(self) -> None:
        for option in ("retweets", "quotes"):
            if getattr(self, option) not in ("keep", "drop"):
                raise ConfigError(
                    f"{option} must be 'keep' or 'drop', got {getattr(self, option)!r}"
                )

    def kind(self, tweet: Mapping[str, Any]) -> str:
        """``"retweet"``, ``"quote"``, ``"reply"`` or ``"original"``."""
        refs = {
            ref.get("type") for ref in tweet.get("referenced_tweets") or [] if isinstance(ref, dict)
        }
        if "retweeted" in refs or str(tweet.get("text", "")).startswith("RT @"):
            return "retweet"
        if "quoted" in refs:
            return "quote"
        return "reply" if "replied_to" in refs else "original"

    def keep(self, tweet: Mapping[str, Any]) -> bool:
        """False when configuration filters this tweet out (language, retweet, quote)."""
        kind = self.kind(tweet)
        if kind == "retweet" and self.retweets == "drop":
            return False
        if kind == "quote" and self.quotes == "drop":
            return False
        return self.lang is None or tweet.get("lang") == self.lang

    def to_post(
        self,
        tweet: Any,
        includes: Mapping[str, Any] | None = None,
        matching_rules: Sequence[Mapping[str, Any]] = (),
    ) -> Post | None:
        """The post, None when filtered out; `InputError` when the tweet is malformed."""
        if not isinstance(tweet, dict):
            raise InputError(f"tweet is not an object but {type(tweet).__name__}", payload=tweet)
        tweet_id, text = tweet.get("id"), tweet.get("text")
        if not isinstance(tweet_id, (str, int)) or not str(tweet_id).isdigit():
            raise InputError(f"tweet has no numeric id: {tweet_id!r}", payload=tweet)
        post_id = f"x:{tweet_id}"
        if not isinstance(text, str) or not text.strip():
            raise InputError("tweet has no text", payload=tweet, post_id=post_id)
        try:
            post = Post(
                post_id=post_id,
                source=self.source,
                text=text,
                created_at=parse_timestamp(tweet.get("created_at")),
                author_id=self.pseudonymiser.author("x", tweet.get("author_id")),
                lang=tweet.get("lang"),
                url=f"https://x.com/i/web/status/{tweet_id}",
                drug_mentions=self.vocabulary.find(text),
                metadata=self._metadata(tweet, includes or {}, matching_rules),
            )
        except (ValueError, TypeError, AttributeError, OverflowError, ValidationError) as exc:
            raise InputError(f"malformed tweet: {exc}", payload=tweet, post_id=post_id) from exc
        return post if self.keep(tweet) else None

    def _metadata(
        self,
        tweet: Mapping[str, Any],
        includes: Mapping[str, Any],
        matching_rules: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"kind": self.kind(tweet)}
        if tweet.get("conversation_id"):
            meta["conversation_id"] = str(tweet["conversation_id"])
        rules = [str(r.get("tag") or r.get("id")) for r in matching_rules if isinstance(r, dict)]
        if rules:
            meta["matching_rules"] = rules
        if self.location:
            location = self._location(tweet, includes)
            if location:
                meta["location"] = location
        return meta

    @staticmethod
    def _location(tweet: Mapping[str, Any], includes: Mapping[str, Any]) -> dict[str, str]:
        place_id = (tweet.get("geo") or {}).get("place_id")
        place = _by_id(includes.get("places")).get(str(place_id)) if place_id else None
        if place:
            return reduce_place(place.get("country_code"), place.get("full_name"))
        user = _by_id(includes.get("users")).get(str(tweet.get("author_id")))
        return reduce_location(user.get("location")) if user else {}
