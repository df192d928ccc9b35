"""The records that flow through a pipeline (pydantic v2, frozen).

A `Source` yields `Post`s (or `DeadLetter`s for input it cannot parse); the classifier adds a
`Prediction`; the extractor adds `Mention`s with coded `Concept`s; the runner joins them into an
`AdverseEventRecord`, which a `Sink` stores. `AdverseEventRecord.to_row()` is the flat form that
tabular sinks (DuckDB, Parquet, S3/Athena) store; `AdverseEventRecord.from_row()` reverses it.
Posts and dead letters are built storable by any sink (`adverse_events.storable`, whose limits
are re-exported here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adverse_events.schema import dead_letter_row, record_row
from adverse_events.storable import (
    MAX_ID_CHARS,
    MAX_NESTING_DEPTH,
    MAX_PAYLOAD_BYTES,
    MAX_REASON_CHARS,
    bounded_id,
    bounded_payload,
    bounded_reason,
    json_text,
    storable_text,
    valid_unicode,
)

__all__ = [
    "ADVERSE_EVENT_CATEGORIES",
    "EXCLUDING_TRAITS",
    "INGREDIENT_SYSTEM",
    "UNRESOLVED",
    "AdverseEventRecord",
    "Concept",
    "DeadLetter",
    "Mention",
    "Post",
    "Prediction",
    "MAX_ID_CHARS",
    "MAX_NESTING_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MAX_REASON_CHARS",
    "bounded_payload",
    "utc",
]

#: Mention categories that describe the event itself (as opposed to DRUG).
ADVERSE_EVENT_CATEGORIES = ("ADVERSE_EVENT", "MEDICAL_CONDITION")
#: Traits that mean a mention does not assert an event the patient had.
EXCLUDING_TRAITS = ("NEGATION", "HYPOTHETICAL", "PERTAINS_TO_FAMILY")
#: Concept system of a DRUG mention's active ingredient (code = the lower-case ingredient name).
INGREDIENT_SYSTEM = "ingredient"
#: Trait of a DRUG mention that an ingredient normaliser could resolve to no ingredient.
UNRESOLVED = "UNRESOLVED"


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime; naive datetimes are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Concept(_Frozen):
    """A code in a terminology that a mention was linked to."""

    system: str = Field(description='"ICD-10-CM", "MedDRA-PT", "MedDRA-LLT", "RxNorm", "SNOMED-CT"')
    code: str
    description: str = ""
    score: float | None = Field(default=None, ge=0.0, le=1.0)


class Mention(_Frozen):
    """A span of a post's text: a drug, an adverse event or another medical condition."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    category: str = Field(description="DRUG, ADVERSE_EVENT, MEDICAL_CONDITION, ...")
    score: float = Field(default=1.0, ge=0.0, le=1.0)
    traits: tuple[str, ...] = ()
    concepts: tuple[Concept, ...] = ()

    @model_validator(mode="after")
    def _check_span(self) -> Mention:
        if self.end < self.start:
            raise ValueError(f"mention end ({self.end}) is before its start ({self.start})")
        return self

    @property
    def asserted(self) -> bool:
        """False when a trait says the event did not happen to the writer (negated, ...)."""
        return not any(trait in EXCLUDING_TRAITS for trait in self.traits)

    @property
    def ingredients(self) -> tuple[str, ...]:
        """Active ingredients of a DRUG mention, as resolved by an ingredient normaliser.

        A DRUG mention no normaliser has seen (no ingredient concept, no ``UNRESOLVED`` trait)
        stands for itself: its lower-cased text. An unresolved one stands for nothing.
        """
        found = tuple(dict.fromkeys(c.code for c in self.concepts if c.system == INGREDIENT_SYSTEM))
        if found or self.category != "DRUG" or UNRESOLVED in self.traits:
            return found
        return (self.text.lower(),)


#: The `Post` fields that hold input text (checked for lone surrogates and nesting depth).
_TEXT_FIELDS = frozenset(
    ("post_id", "source", "text", "author_id", "lang", "url", "drug_mentions", "metadata")
)


class Post(_Frozen):
    """One piece of user-written text, from any source."""

    post_id: str = Field(min_length=1, description='unique across sources, e.g. "x:1234"')
    source: str = Field(default="unknown", description="registry name of the source")
    text: str
    created_at: datetime | None = None
    author_id: str | None = Field(default=None, description="pseudonymised author id")
    lang: str | None = None
    url: str | None = None
    drug_mentions: tuple[str, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        # before pydantic's own check, which refuses a str holding a lone surrogate; one call
        # per post (not one per field): this runs for every post of every source
        if not isinstance(data, dict):
            return data
        return {k: (valid_unicode(v) if k in _TEXT_FIELDS else v) for k, v in data.items()}

    @field_validator("created_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)


class Prediction(_Frozen):
    """A classifier's verdict on one text."""

    label: str
    score: float = Field(ge=0.0, le=1.0, description="probability of the adverse-event class")
    probabilities: dict[str, float] = Field(default_factory=dict)
    is_adverse_event: bool
    model: str | None = Field(default=None, description="model name and version")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AdverseEventRecord(_Frozen):
    """A post, its prediction, its mentions and where they came from."""

    post: Post
    prediction: Prediction
    mentions: tuple[Mention, ...] = ()
    extractor: str | None = None
    library_version: str | None = None
    processed_at: datetime = Field(default_factory=_now)

    @field_validator("processed_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @property
    def post_id(self) -> str:
        return self.post.post_id

    @property
    def event_mentions(self) -> tuple[Mention, ...]:
        """Asserted adverse-event / condition mentions, highest score first."""
        found = [m for m in self.mentions if m.category in ADVERSE_EVENT_CATEGORIES and m.asserted]
        return tuple(sorted(found, key=lambda m: m.score, reverse=True))

    @property
    def ae_type(self) -> str | None:
        """The text of the highest-scoring asserted adverse-event mention (reference design)."""
        events = self.event_mentions
        return events[0].text if events else None

    @property
    def drugs(self) -> tuple[str, ...]:
        """Drug names: extracted DRUG mentions, else the source's drug tags, de-duplicated."""
        names = [m.text for m in self.mentions if m.category == "DRUG"] or list(
            self.post.drug_mentions
        )
        return tuple(dict.fromkeys(n.lower() for n in names))

    @property
    def drug_ingredients(self) -> tuple[str, ...]:
        """Per name of `drugs`, in order: its ingredients joined by " + " ("" when unresolved)."""
        links: dict[str, dict[str, None]] = {}
        mentions = [m for m in self.mentions if m.category == "DRUG"]
        for m in mentions:
            links.setdefault(m.text.lower(), {}).update(dict.fromkeys(m.ingredients))
        if not mentions:
            for tag in self.post.drug_mentions:
                links.setdefault(tag.lower(), {}).update({tag.lower(): None})
        return tuple(" + ".join(links[name]) for name in self.drugs)

    @property
    def ingredients(self) -> tuple[str, ...]:
        """Active ingredients of the post's drugs, once each, in order of first mention; what
        analytics count by. Unresolved drug names are left out (they stay in `drugs`)."""
        mentions = [m for m in self.mentions if m.category == "DRUG"]
        if not mentions:
            return tuple(dict.fromkeys(t.lower() for t in self.post.drug_mentions))
        return tuple(dict.fromkeys(i for m in mentions for i in m.ingredients))

    def codes(self, system: str) -> tuple[Concept, ...]:
        """The best concept of `system` for each asserted event mention, de-duplicated by code."""
        return _best_codes(self.event_mentions, system)

    def to_row(self) -> dict[str, Any]:
        """The flat row stored by tabular sinks (`adverse_events.schema.RECORDS`); `from_row`
        reverses it exactly."""
        return record_row(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AdverseEventRecord:
        """Rebuild a record from `to_row()` output (derived columns are ignored)."""
        post = Post(
            post_id=row["post_id"],
            source=row["source"],
            text=row["text"],
            created_at=row.get("created_at"),
            author_id=row.get("author_id"),
            lang=row.get("lang"),
            url=row.get("url"),
            drug_mentions=tuple(row.get("drug_mentions") or ()),
            metadata=json.loads(row.get("metadata_json") or "{}"),
        )
        prediction = Prediction(
            label=row["label"],
            score=row["score"],
            probabilities=json.loads(row.get("probabilities_json") or "{}"),
            is_adverse_event=row["is_adverse_event"],
            model=row.get("model"),
        )
        mentions = tuple(Mention(**m) for m in json.loads(row.get("mentions_json") or "[]"))
        return cls(
            post=post,
            prediction=prediction,
            mentions=mentions,
            extractor=row.get("extractor"),
            library_version=row.get("library_version"),
            processed_at=row["processed_at"],
        )


def _best_codes(events: tuple[Mention, ...], system: str) -> tuple[Concept, ...]:
    best: dict[str, Concept] = {}
    for mention in events:
        found = [c for c in mention.concepts if c.system == system]
        if found:
            top = max(found, key=lambda c: c.score or 0.0)
            best.setdefault(top.code, top)
    return tuple(best.values())


class DeadLetter(_Frozen):
    """Input that could not be processed, kept with the reason so it can be fixed and replayed.

    `stage` is where it failed: ``"source"``, ``"classify"``, ``"extract"`` or ``"sink"``.
    `payload` is the raw input (the line as read, or the post as JSON), with lone surrogates
    replaced by U+FFFD and cut to `MAX_PAYLOAD_BYTES` (a trailer then names the original's size
    and SHA-256); `reason` is cut to `MAX_REASON_CHARS`, `post_id`, `source` and `stage` to
    `MAX_ID_CHARS` (ending in a digest of the whole), and every text field is storable UTF-8,
    so any sink can store any dead letter. `transient` says whether replaying it later may
    succeed (the cause was throttling or a timeout that outlasted the runner's retries): the
    Lambda handler hands exactly those back to Lambda for a retry.
    """

    stage: str
    reason: str
    payload: str = ""
    post_id: str | None = None
    source: str | None = None
    line: int | None = Field(default=None, ge=1, description="1-based line number in a file")
    failed_at: datetime = Field(default_factory=_now)
    transient: bool = Field(
        default=False,
        description="the cause was transient (throttling, a timeout that outlasted the retries): "
        "replaying the input later may succeed; False for bad input and permanent failures",
    )

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_text(cls, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bytes):
            text = value.decode("utf-8", errors="replace")
        elif isinstance(value, str):
            text = value
        elif isinstance(value, BaseModel):
            text = value.model_dump_json()
        else:
            text = json_text(value)
        return bounded_payload(storable_text(text))

    @field_validator("reason", mode="before")
    @classmethod
    def _bounded_reason(cls, value: Any) -> Any:
        return bounded_reason(value) if isinstance(value, str) else value

    @field_validator("stage", "post_id", "source", mode="before")
    @classmethod
    def _storable_ids(cls, value: Any) -> Any:
        return bounded_id(value) if isinstance(value, str) else value

    @field_validator("failed_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return utc(value)

    @property
    def dead_letter_id(self) -> str:
        """Stable id: the same bad input at the same place gives the same id (idempotent sinks)."""
        key = json.dumps([self.source, self.stage, self.line, self.post_id, self.payload])
        return hashlib.sha1(key.encode("utf-8")).hexdigest()

    def to_row(self) -> dict[str, Any]:
        """The flat row stored by tabular sinks (`adverse_events.schema.DEAD_LETTERS`)."""
        return dead_letter_row(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DeadLetter:
        fields = {k: v for k, v in row.items() if k != "dead_letter_id"}
        fields["transient"] = bool(fields.get("transient"))  # NULL in rows stored before it
        return cls(**fields)
