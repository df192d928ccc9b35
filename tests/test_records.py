from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adverse_events import AdverseEventRecord, Concept, DeadLetter, Mention, Post, Prediction
from adverse_events.schema import RECORDS

text = st.text(min_size=1, max_size=40)
score = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
aware = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)
concepts = st.builds(
    Concept,
    system=st.sampled_from(["ICD-10-CM", "MedDRA-PT", "RxNorm"]),
    code=text,
    description=st.text(max_size=20),
    score=st.none() | score,
)


@st.composite
def mentions(draw):
    start = draw(st.integers(0, 50))
    return Mention(
        text=draw(text),
        start=start,
        end=start + draw(st.integers(0, 20)),
        category=draw(st.sampled_from(["DRUG", "ADVERSE_EVENT", "MEDICAL_CONDITION"])),
        score=draw(score),
        traits=tuple(draw(st.lists(st.sampled_from(["NEGATION", "PAST_HISTORY"]), max_size=2))),
        concepts=tuple(draw(st.lists(concepts, max_size=3))),
    )


posts = st.builds(
    Post,
    post_id=text,
    source=st.sampled_from(["jsonl", "x"]),
    text=st.text(max_size=80),
    created_at=st.none() | aware,
    author_id=st.none() | text,
    lang=st.none() | st.just("en"),
    drug_mentions=st.lists(text, max_size=3).map(tuple),
    metadata=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)


@st.composite
def records(draw):
    p = draw(score)
    return AdverseEventRecord(
        post=draw(posts),
        prediction=Prediction(
            label="adverse_event" if p >= 0.5 else "not_adverse_event",
            score=p,
            probabilities={"adverse_event": p, "not_adverse_event": 1 - p},
            is_adverse_event=p >= 0.5,
            model=draw(st.none() | text),
        ),
        mentions=tuple(draw(st.lists(mentions(), max_size=4))),
        extractor=draw(st.none() | text),
        processed_at=draw(aware),
    )


@given(records())
@settings(max_examples=60)
def test_json_round_trip(record):
    assert AdverseEventRecord.model_validate_json(record.model_dump_json()) == record


@given(records())
@settings(max_examples=60)
def test_flat_row_round_trip(record):
    row = record.to_row()
    assert tuple(row) == RECORDS.names
    assert AdverseEventRecord.from_row(row) == record


def test_ae_type_is_top_asserted_event():
    record = AdverseEventRecord(
        post=Post(post_id="p", text="no headache but nausea"),
        prediction=Prediction(label="ae", score=0.9, is_adverse_event=True),
        mentions=(
            Mention(
                text="headache",
                start=3,
                end=11,
                category="ADVERSE_EVENT",
                score=0.99,
                traits=("NEGATION",),
            ),
            Mention(
                text="nausea",
                start=16,
                end=22,
                category="MEDICAL_CONDITION",
                score=0.7,
                concepts=(
                    Concept(system="ICD-10-CM", code="R11.0", description="Nausea", score=0.8),
                    Concept(system="ICD-10-CM", code="R11.2", score=0.9),
                ),
            ),
        ),
    )
    assert record.ae_type == "nausea"
    assert [c.code for c in record.codes("ICD-10-CM")] == ["R11.2"]
    assert record.to_row()["events"] == ["nausea"]


def test_naive_times_are_utc_and_aware_times_converted():
    naive = Post(post_id="p", text="t", created_at=datetime(2024, 1, 1, 12))
    assert naive.created_at == datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    other = Post(
        post_id="p",
        text="t",
        created_at=datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
    )
    assert other.created_at.hour == 10 and other.created_at.tzinfo == timezone.utc


@pytest.mark.parametrize("bad", [{"post_id": ""}, {"score": 1.5}, {"extra": 1}])
def test_validation(bad):
    fields = {"label": "x", "score": 0.5, "is_adverse_event": False, **bad}
    with pytest.raises(ValidationError):
        if "post_id" in bad:
            Post(post_id="", text="t")
        else:
            Prediction(**fields)


def test_records_are_frozen():
    post = Post(post_id="p", text="t")
    with pytest.raises(ValidationError):
        post.text = "changed"  # type: ignore[misc]


def test_mention_span_must_be_ordered():
    with pytest.raises(ValidationError, match="before its start"):
        Mention(text="x", start=5, end=2, category="DRUG")


def test_dead_letter_id_is_stable_and_payload_is_text():
    one = DeadLetter(stage="source", reason="bad", payload={"a": 1}, line=3, source="f")
    two = DeadLetter(stage="source", reason="bad again", payload={"a": 1}, line=3, source="f")
    assert one.dead_letter_id == two.dead_letter_id
    assert one.payload == '{"a": 1}'
    assert DeadLetter.from_row(one.to_row()) == one


def _drug(text: str, start: int, *ingredients: str, unresolved: bool = False) -> Mention:
    concepts = tuple(
        Concept(system="ingredient", code=i, description=i, score=1.0) for i in ingredients
    )
    return Mention(
        text=text,
        start=start,
        end=start + len(text),
        category="DRUG",
        concepts=concepts,
        traits=("UNRESOLVED",) if unresolved else (),
    )


def test_ingredients_group_brands_and_leave_out_unresolved_spans():
    record = AdverseEventRecord(
        post=Post(
            post_id="p",
            text="Effexor XR, then effexor, Percocet and a wonder pill",
            drug_mentions=("venlafaxine",),
        ),
        prediction=Prediction(label="ae", score=0.9, is_adverse_event=True),
        mentions=(
            _drug("Effexor XR", 0, "venlafaxine"),
            _drug("effexor", 17, "venlafaxine"),
            _drug("Percocet", 26, "oxycodone", "acetaminophen"),
            _drug("wonder pill", 41, unresolved=True),
        ),
    )
    assert record.drugs == ("effexor xr", "effexor", "percocet", "wonder pill")  # for audit
    assert record.ingredients == ("venlafaxine", "oxycodone", "acetaminophen")
    assert record.drug_ingredients == (
        "venlafaxine",
        "venlafaxine",
        "oxycodone + acetaminophen",
        "",
    )
    row = record.to_row()
    assert row["ingredients"] == ["venlafaxine", "oxycodone", "acetaminophen"]
    assert row["drug_ingredients"][-1] == "" and AdverseEventRecord.from_row(row) == record


def test_unnormalised_drug_mentions_and_source_tags_stand_for_themselves():
    post = Post(post_id="p", text="Zoloft", drug_mentions=("Sertraline",))
    prediction = Prediction(label="ae", score=0.9, is_adverse_event=True)
    tagged = AdverseEventRecord(post=post, prediction=prediction)
    assert tagged.ingredients == ("sertraline",) and tagged.drug_ingredients == ("sertraline",)
    raw = AdverseEventRecord(
        post=post,
        prediction=prediction,
        mentions=(Mention(text="Zoloft", start=0, end=6, category="DRUG"),),
    )
    assert raw.ingredients == ("zoloft",) and raw.drug_ingredients == ("zoloft",)
    assert Mention(text="nausea", start=0, end=6, category="ADVERSE_EVENT").ingredients == ()
