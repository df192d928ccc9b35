"""ComprehendMedicalExtractor against botocore's Stubber with responses shaped as documented."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from adverse_events.errors import ConfigError, PermanentBackendError, TransientBackendError
from adverse_events.extractors.comprehend_medical import (
    ComprehendMedicalExtractor,
    RateLimiter,
    split_text,
)
from adverse_events.records import AdverseEventRecord
from adverse_events.registry import get_registry
from adverse_events.testing import ExtractorConformance, make_post
from adverse_events.testing.doubles import MockClassifier

TEXT = (
    "Zoloft gave me a terrible headache and nausea. No dizziness though. "
    "If I get a rash I will stop. My mom had insomnia on it."
)


def _span(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def entity(
    text: str,
    phrase: str,
    category: str,
    type_: str,
    score: float,
    eid: int,
    traits: tuple[tuple[str, float], ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    begin, end = _span(text, phrase)
    return {
        "Id": eid,
        "BeginOffset": begin,
        "EndOffset": end,
        "Score": score,
        "Text": phrase,
        "Category": category,
        "Type": type_,
        "Attributes": [],
        "Traits": [{"Name": n, "Score": s} for n, s in traits],
        **extra,
    }


def detect_response(text: str = TEXT) -> dict[str, Any]:
    return {
        "Entities": [
            entity(text, "Zoloft", "MEDICATION", "BRAND_NAME", 0.99, 0),
            entity(
                text,
                "terrible headache",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.91,
                1,
                (("SYMPTOM", 0.8),),
            ),
            entity(text, "nausea", "MEDICAL_CONDITION", "DX_NAME", 0.95, 2, (("SYMPTOM", 0.9),)),
            entity(
                text, "dizziness", "MEDICAL_CONDITION", "DX_NAME", 0.97, 3, (("NEGATION", 0.96),)
            ),
            entity(text, "rash", "MEDICAL_CONDITION", "DX_NAME", 0.93, 4, (("HYPOTHETICAL", 0.7),)),
            entity(
                text,
                "insomnia",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.98,
                5,
                (("PERTAINS_TO_FAMILY", 0.8),),
            ),
            entity(text, "stop", "MEDICAL_CONDITION", "DX_NAME", 0.41, 6),
        ],
        "UnmappedAttributes": [],
        "ModelVersion": "2.4.0",
    }


def icd_response(text: str = TEXT) -> dict[str, Any]:
    def concepts(*rows: tuple[str, str, float]) -> list[dict[str, Any]]:
        return [{"Description": d, "Code": c, "Score": s} for c, d, s in rows]

    return {
        "Entities": [
            entity(
                text,
                "headache",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.9,
                0,
                (("SYMPTOM", 0.8),),
                ICD10CMConcepts=concepts(
                    ("R51.9", "Headache, unspecified", 0.82),
                    ("G44.209", "Tension-type headache, unspecified", 0.31),
                ),
            ),
            entity(
                text,
                "nausea",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.95,
                1,
                (("SYMPTOM", 0.9),),
                ICD10CMConcepts=concepts(
                    ("R11.0", "Nausea", 0.93), ("R11.2", "Nausea with vomiting, unspecified", 0.72)
                ),
            ),
            entity(
                text,
                "dizziness",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.96,
                2,
                (("NEGATION", 0.9),),
                ICD10CMConcepts=concepts(("R42", "Dizziness and giddiness", 0.9)),
            ),
            entity(
                text,
                "rash",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.9,
                3,
                (("HYPOTHETICAL", 0.7),),
                ICD10CMConcepts=concepts(("R21", "Rash and other nonspecific skin eruption", 0.88)),
            ),
            entity(
                text,
                "insomnia",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.97,
                4,
                (("PERTAINS_TO_FAMILY", 0.8),),
                ICD10CMConcepts=concepts(("G47.00", "Insomnia, unspecified", 0.8)),
            ),
            entity(
                text,
                "nausea",
                "MEDICAL_CONDITION",
                "DX_NAME",
                0.95,
                5,
                (),
                ICD10CMConcepts=concepts(("R11.0", "Nausea", 0.9)),
            ),
        ],
        "ModelVersion": "0.1.0",
    }


def rxnorm_response(text: str = TEXT) -> dict[str, Any]:
    return {
        "Entities": [
            entity(
                text,
                "Zoloft",
                "MEDICATION",
                "BRAND_NAME",
                0.99,
                0,
                RxNormConcepts=[
                    {"Description": "Zoloft", "Code": "82112", "Score": 0.97},
                    {"Description": "sertraline", "Code": "36437", "Score": 0.6},
                ],
            ),
        ],
        "ModelVersion": "0.1.0",
    }


def reference_design(detect: dict[str, Any], icd: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The reference design, as written: traits ignored."""
    conditions = [
        e for e in detect["Entities"] if e["Category"] == "MEDICAL_CONDITION" and e["Score"] >= 0.60
    ]
    ae_type = max(conditions, key=lambda e: e["Score"])["Text"] if conditions else None
    descriptions: list[str] = []
    for e in icd["Entities"]:
        kept = [c for c in e["ICD10CMConcepts"] if c["Score"] >= 0.70]
        if kept:
            top = max(kept, key=lambda c: c["Score"])["Description"]
            if top not in descriptions:
                descriptions.append(top)
    return ae_type, descriptions


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "comprehendmedical",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _stub(client: Any, text: str = TEXT, rxnorm: bool = True) -> Stubber:
    stubber = Stubber(client)
    stubber.add_response("detect_entities_v2", detect_response(text), {"Text": text})
    stubber.add_response("infer_icd10_cm", icd_response(text), {"Text": text})
    if rxnorm:
        stubber.add_response("infer_rx_norm", rxnorm_response(text), {"Text": text})
    stubber.activate()
    return stubber


def _record(mentions: Any) -> AdverseEventRecord:
    [prediction] = MockClassifier(lambda _: 0.9).classify([TEXT])
    return AdverseEventRecord(
        post=make_post("p", TEXT), prediction=prediction, mentions=tuple(mentions)
    )


@pytest.mark.unit
def test_reproduces_the_reference_design_with_traits_ignored(client: Any) -> None:
    stubber = _stub(client)
    extractor = ComprehendMedicalExtractor(
        client=client, exclude_traits=(), use_traits=False, normalize_drugs=False
    )
    [mentions] = extractor.extract([TEXT])
    stubber.assert_no_pending_responses()
    record = _record(mentions)
    ae_type, descriptions = reference_design(detect_response(), icd_response())
    assert record.ae_type == ae_type == "insomnia"  # the reference design's mistake
    assert sorted(c.description for c in record.codes("ICD-10-CM")) == sorted(descriptions)
    assert "stop" not in [m.text for m in mentions]  # below the 0.60 threshold
    [drug] = [m for m in mentions if m.category == "DRUG"]
    assert drug.text == "Zoloft" and [c.code for c in drug.concepts] == ["82112", "36437"]
    assert all(TEXT[m.start : m.end] == m.text for m in mentions)


@pytest.mark.unit
def test_drugs_resolve_to_the_ingredient_the_local_extractor_counts(client: Any) -> None:
    from adverse_events.coding.ingredients import IngredientNormalizer
    from adverse_events.records import INGREDIENT_SYSTEM

    _stub(client)
    [mentions] = ComprehendMedicalExtractor(client=client).extract([TEXT])
    [drug] = [m for m in mentions if m.category == "DRUG"]
    assert drug.ingredients == ("sertraline",)
    assert [c.system for c in drug.concepts][0] == INGREDIENT_SYSTEM
    assert {"82112", "36437"} <= {c.code for c in drug.concepts}  # RxNorm codes are kept
    assert drug.ingredients == IngredientNormalizer().normalize([drug])[0].ingredients
    assert _record(mentions).ingredients == ("sertraline",)


@pytest.mark.unit
def test_default_drops_negated_hypothetical_and_family_conditions(client: Any) -> None:
    _stub(client)
    [mentions] = ComprehendMedicalExtractor(client=client).extract([TEXT])
    events = {m.text: m for m in mentions if m.category == "ADVERSE_EVENT"}
    assert sorted(events) == ["nausea", "terrible headache"]
    assert [c.code for c in events["terrible headache"].concepts] == ["R51.9"]  # 0.31 dropped
    assert [c.code for c in events["nausea"].concepts] == ["R11.0", "R11.2", "R11.0"]
    record = _record(mentions)
    assert record.ae_type == "nausea"
    assert [c.code for c in record.codes("ICD-10-CM")] == ["R11.0", "R51.9"]


@pytest.mark.unit
def test_keep_excluded_flags_instead_of_dropping(client: Any) -> None:
    _stub(client, rxnorm=False)
    extractor = ComprehendMedicalExtractor(client=client, include_rxnorm=False, keep_excluded=True)
    [mentions] = extractor.extract([TEXT])
    traits = {m.text: m.traits for m in mentions if m.category == "ADVERSE_EVENT"}
    assert traits["dizziness"] == ("NEGATION",) and traits["insomnia"] == ("PERTAINS_TO_FAMILY",)
    assert _record(mentions).ae_type == "nausea"


@pytest.mark.unit
def test_long_text_is_chunked_on_sentences_and_offsets_remapped(client: Any) -> None:
    chunks = [c for _, c in split_text(TEXT, 60)]
    assert len(chunks) == 3 and "".join(chunks) == TEXT
    stubber = Stubber(client)
    for chunk in chunks:
        detect = {
            "Entities": [e for e in detect_response(TEXT)["Entities"] if e["Text"] in chunk],
            "ModelVersion": "2.4.0",
        }
        for e in detect["Entities"]:
            e["BeginOffset"], e["EndOffset"] = _span(chunk, e["Text"])
        stubber.add_response("detect_entities_v2", detect, {"Text": chunk})
        stubber.add_response(
            "infer_icd10_cm", {"Entities": [], "ModelVersion": "2.4.0"}, {"Text": chunk}
        )
    stubber.activate()
    extractor = ComprehendMedicalExtractor(
        client=client, include_rxnorm=False, exclude_traits=(), max_chunk_bytes=100
    )
    extractor.max_chunk_bytes = 60  # below the validated minimum, to force three chunks here
    [mentions] = extractor.extract([TEXT])
    stubber.assert_no_pending_responses()
    assert {m.text for m in mentions} >= {"Zoloft", "insomnia", "rash"}
    assert all(TEXT[m.start : m.end] == m.text for m in mentions)


@pytest.mark.unit
def test_text_size_limit_exceeded_resplits(client: Any) -> None:
    text = "Zoloft made me dizzy all day, every day. Then I had bad nausea most mornings, too."
    chunks = split_text(text, len(text) // 2)
    assert len(chunks) == 2
    stubber = Stubber(client)
    stubber.add_client_error("detect_entities_v2", "TextSizeLimitExceededException", "too big", 400)
    for (_, chunk), word in zip(chunks, ("dizzy", "nausea"), strict=False):
        stubber.add_response(
            "detect_entities_v2", {"Entities": [], "ModelVersion": "2.4.0"}, {"Text": chunk}
        )
        stubber.add_response(
            "infer_icd10_cm",
            {
                "Entities": [
                    entity(
                        chunk,
                        word,
                        "MEDICAL_CONDITION",
                        "DX_NAME",
                        0.9,
                        0,
                        ICD10CMConcepts=[{"Description": "x", "Code": "R42", "Score": 0.9}],
                    )
                ],
                "ModelVersion": "0.1.0",
            },
            {"Text": chunk},
        )
    stubber.activate()
    extractor = ComprehendMedicalExtractor(client=client, include_rxnorm=False)
    [mentions] = extractor.extract([text])
    stubber.assert_no_pending_responses()
    assert [(m.text, m.start) for m in mentions] == [
        ("dizzy", 15),
        ("nausea", text.index("nausea")),
    ]


@pytest.mark.unit
def test_throttling_is_retried_by_the_runner_then_succeeds(client: Any) -> None:
    from adverse_events import Pipeline
    from adverse_events.sinks import MemorySink
    from adverse_events.sources import MemorySource
    from adverse_events.testing import MockClassifier, make_post

    empty = {"Entities": [], "ModelVersion": "2.4.0"}
    stubber = Stubber(client)
    stubber.add_client_error("detect_entities_v2", "TooManyRequestsException", "slow down", 400)
    stubber.add_client_error("detect_entities_v2", "ThrottlingException", "slow down", 400)
    stubber.add_response("detect_entities_v2", empty)
    stubber.add_client_error("infer_icd10_cm", "InternalServerException", "oops", 500)
    stubber.add_response("detect_entities_v2", empty)  # the runner retries the whole text
    stubber.add_response("infer_icd10_cm", empty)
    stubber.activate()
    extractor = ComprehendMedicalExtractor(client=client, include_rxnorm=False)
    report = Pipeline(
        MemorySource([make_post("p1", "a headache")]),
        MockClassifier(lambda _: 0.9),
        extractor,
        sink=MemorySink(),
        backoff_initial=0.001,
    ).run()
    assert (report.written, report.retries, report.dead_lettered) == (1, 3, 0)
    stubber.assert_no_pending_responses()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("TooManyRequestsException", 400, TransientBackendError),
        ("ServiceUnavailableException", 503, TransientBackendError),
        ("InvalidRequestException", 400, PermanentBackendError),
        ("UnrecognizedClientException", 403, PermanentBackendError),
        ("AccessDeniedException", 403, PermanentBackendError),
    ],
)
def test_errors_are_translated(client: Any, code: str, status: int, error: type[Exception]) -> None:
    stubber = Stubber(client)
    stubber.add_client_error("detect_entities_v2", code, "message", status)
    stubber.activate()
    extractor = ComprehendMedicalExtractor(client=client)
    with pytest.raises(error, match=code) as info:
        extractor.extract(["a headache"])
    assert info.value.backend == "comprehend-medical"


@pytest.mark.unit
def test_empty_text_makes_no_call(client: Any) -> None:
    stubber = Stubber(client)
    stubber.activate()
    assert ComprehendMedicalExtractor(client=client).extract(["", "   "]) == [[], []]


@pytest.mark.unit
def test_rate_limiter_spaces_calls() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(30):
        limiter.acquire()
    assert now[0] == pytest.approx(2.0)  # 10 free (burst), then 20 at 10/s


@pytest.mark.unit
def test_split_text_covers_the_text() -> None:
    text = ("Short one. " * 50) + ("x" * 500) + " end."
    chunks = split_text(text, 120)
    assert "".join(c for _, c in chunks) == text
    assert all(len(c.encode()) <= 120 for _, c in chunks)
    assert all(text[o : o + len(c)] == c for o, c in chunks)


@pytest.mark.unit
def test_options_are_validated_and_client_is_lazy() -> None:
    with pytest.raises(ConfigError):
        ComprehendMedicalExtractor(condition_threshold=1.5)
    with pytest.raises(ConfigError):
        ComprehendMedicalExtractor(max_chunk_bytes=50_000)
    extractor = ComprehendMedicalExtractor(region="us-east-1")
    assert extractor._client is None  # nothing made until first use
    assert get_registry().resolve("extractor", "comprehend-medical") is ComprehendMedicalExtractor


class _FakeComprehend:
    """A stand-in client computing documented-shape responses from the text (for the suite)."""

    WORDS = {"headache": "R51.9", "nausea": "R11.0"}

    def _found(self, text: str) -> list[tuple[str, int]]:
        return [(w, text.find(w)) for w in self.WORDS if w in text]

    def detect_entities_v2(self, Text: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {
            "Entities": [
                entity(Text, w, "MEDICAL_CONDITION", "DX_NAME", 0.9, i)
                for i, (w, _) in enumerate(self._found(Text))
            ]
        }

    def infer_icd10_cm(self, Text: str) -> dict[str, Any]:  # noqa: N803
        return {
            "Entities": [
                entity(
                    Text,
                    w,
                    "MEDICAL_CONDITION",
                    "DX_NAME",
                    0.9,
                    i,
                    ICD10CMConcepts=[{"Description": w, "Code": self.WORDS[w], "Score": 0.9}],
                )
                for i, (w, _) in enumerate(self._found(Text))
            ]
        }

    def infer_rx_norm(self, Text: str) -> dict[str, Any]:  # noqa: N803
        return {"Entities": [], "ModelVersion": "2.4.0"}


class TestConformance(ExtractorConformance):
    @pytest.fixture
    def extractor(self) -> ComprehendMedicalExtractor:
        return ComprehendMedicalExtractor(client=_FakeComprehend())

    @pytest.fixture
    def texts(self) -> list[str]:
        return ["a headache and nausea", "nothing here", "more nausea"]


def test_own_client_sends_each_call_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner owns retries: neither this class nor botocore may retry a throttled call.
    import http.server
    import threading

    hits: list[str] = []

    class Throttled(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            hits.append(self.headers.get("X-Amz-Target", ""))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"__type": "TooManyRequestsException", "Message": "slow down"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Throttled)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}",
        }.items():
            monkeypatch.setenv(key, value)
        extractor = ComprehendMedicalExtractor(region="us-east-1")
        with pytest.raises(TransientBackendError):
            extractor.extract(["Zoloft gave me a headache"])
    finally:
        server.shutdown()
        server.server_close()
    assert len(hits) == 1, hits
