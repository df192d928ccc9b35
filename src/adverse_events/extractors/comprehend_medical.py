"""`ComprehendMedicalExtractor`: drug and condition mentions from Amazon Comprehend Medical.

Per text (split into chunks when needed) it calls:

* ``DetectEntitiesV2``: MEDICATION entities become DRUG mentions; MEDICAL_CONDITION entities
  with ``Score >= condition_threshold`` become ADVERSE_EVENT mentions, with the entity's traits
  (NEGATION, HYPOTHETICAL, PERTAINS_TO_FAMILY, SIGN, SYMPTOM, DIAGNOSIS, ...).
* ``InferICD10CM``: concepts with ``Score >= icd10_threshold`` (best first) are attached as
  ICD-10-CM `Concept`s to the event mention at the same offsets (or overlapping it); an entity
  that matches no detected condition becomes an ADVERSE_EVENT mention of its own when its score
  reaches ``condition_threshold``.
* ``InferRxNorm`` (``include_rxnorm=True``): RxNorm concepts attached to the DRUG mentions.

The reference design (top MEDICAL_CONDITION with score >= 0.60 is the AE type; ICD-10-CM
concepts >= 0.70, top description per entity, de-duplicated; traits ignored) is what you get
with ``exclude_traits=(), use_traits=False``: `AdverseEventRecord.ae_type` and
``codes("ICD-10-CM")`` apply the "top one" and "de-duplicated" rules. With the default
``exclude_traits``, mentions the service marks NEGATION, HYPOTHETICAL or PERTAINS_TO_FAMILY
are dropped ("no headache since I stopped" is not a headache); ``keep_excluded=True`` keeps
them, flagged, and they still never count as the AE type (`Mention.asserted`).

Limits (Amazon Comprehend Medical guidelines and API reference): DetectEntitiesV2 takes fewer
than 20,000 bytes of UTF-8, InferICD10CM and InferRxNorm at most 10,000 characters; a text is
split on sentence boundaries into chunks of at most ``max_chunk_bytes`` UTF-8 bytes (default
10,000, within all three limits) and offsets are mapped back. A ``TextSizeLimitExceededException``
re-splits the chunk at half the size. The default quota is 100 transactions per second per
operation: a client-side token bucket (``max_tps``) keeps under it. Each call is made once and
its errors are classified by the one AWS error map (`adverse_events.aws.errors`): throttling,
5xx and connection errors raise `TransientBackendError` for the runner, the one retry owner, to
retry with backoff; a text the service refuses raises `InputError`; validation and auth errors
raise `PermanentBackendError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adverse_events.aws.clients import make_client, warn_retry_options
from adverse_events.aws.errors import error_code, translate
from adverse_events.errors import ConfigError, PermanentBackendError, PluginError
from adverse_events.extractors.assertion import apply_traits, filter_mentions
from adverse_events.protocols import Backend
from adverse_events.records import EXCLUDING_TRAITS, Concept, Mention
from adverse_events.text.tokens import sentence_spans

__all__ = ["ComprehendMedicalExtractor", "RateLimiter", "split_text"]

#: Documented limits: DetectEntitiesV2 < 20,000 UTF-8 bytes; InferICD10CM/InferRxNorm 10,000 chars.
MAX_CHUNK_BYTES = 10_000
_TOO_LARGE = "TextSizeLimitExceededException"


class _TooLarge(Exception):
    """The service said the chunk is too large: split it further."""


class RateLimiter:
    """A token bucket: at most `rate` acquisitions per second, bursts up to `rate`. Thread-safe."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ConfigError("max_tps must be > 0")
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.tokens = rate
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1.0
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            self.sleep(wait)
        return wait


def split_text(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> list[tuple[int, str]]:
    """(offset, chunk) pieces of at most `max_bytes` UTF-8 bytes, cut at sentence ends when
    possible, else at whitespace, else anywhere; ``"".join`` of the chunks is `text`."""
    if len(text.encode("utf-8")) <= max_bytes:
        return [(0, text)]
    pieces: list[tuple[int, int]] = []
    for start, end in _sentence_bounds(text):
        pieces += _hard_split(text, start, end, max_bytes)
    chunks: list[tuple[int, str]] = []
    begin = end_ = pieces[0][0]
    for start, end in pieces:
        if len(text[begin:end].encode("utf-8")) > max_bytes and end_ > begin:
            chunks.append((begin, text[begin:end_]))
            begin = start
        end_ = end
    chunks.append((begin, text[begin:end_]))
    return chunks


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Sentence spans that together cover the whole text (gaps go to the previous sentence)."""
    starts = [s for s, _ in sentence_spans(text)] or [0]
    starts[0] = 0
    return list(zip(starts, [*starts[1:], len(text)], strict=False))


def _hard_split(text: str, start: int, end: int, max_bytes: int) -> list[tuple[int, int]]:
    out = []
    while len(text[start:end].encode("utf-8")) > max_bytes:
        cut = min(end, start + max_bytes)
        while (size := len(text[start:cut].encode("utf-8"))) > max_bytes:
            cut -= max(1, (size - max_bytes) // 4)  # a character is at most 4 bytes
        space = text.rfind(" ", start + 1, cut)
        cut = space if space > start else cut
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _traits(entity: dict[str, Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t["Name"] for t in entity.get("Traits", []) if t.get("Name")))


def _overlap(a: Mention, start: int, end: int) -> int:
    return max(0, min(a.end, end) - max(a.start, start))


class ComprehendMedicalExtractor(Backend):
    """Amazon Comprehend Medical (DetectEntitiesV2 + InferICD10CM + InferRxNorm) as an extractor.

    Args:
        client: a boto3 ``comprehendmedical`` client (made lazily from `region` when None).
        region: AWS region of the lazily made client.
        condition_threshold: lowest MEDICAL_CONDITION score kept (reference design: 0.60).
        icd10_threshold: lowest ICD-10-CM concept score kept (reference design: 0.70).
        include_rxnorm: also call InferRxNorm and attach RxNorm codes to drugs.
        exclude_traits: event mentions with any of these traits are dropped ...
        keep_excluded: ... unless this is true (kept, flagged by their traits).
        local_traits: also add this library's rule-based traits (PAST_HISTORY, ...).
        use_traits: record the service's traits on mentions; ``False`` (with
            ``exclude_traits=()``) reproduces the reference design, which ignores them.
        max_tps: client-side rate limit per operation (default quota: 100).
        max_attempts, backoff_initial, backoff_max: no longer used (retries are the runner's:
            ``[pipeline] max_retries``); accepted with a warning so old configs still load.
        max_chunk_bytes: largest chunk sent, in UTF-8 bytes.
        meddra_path: a MedDRA ASCII release folder to code events to MedDRA as well.
        normalize_drugs: resolve each DRUG mention to its active ingredient(s) with the same
            `adverse_events.coding.ingredients` normaliser the local extractor uses, so both
            extractors (and analytics) count the same ingredient; a mention that names none
            keeps its text and RxNorm codes and gets the ``UNRESOLVED`` trait.
    """

    name = "comprehend-medical"

    def __init__(
        self,
        client: Any = None,
        region: str | None = None,
        condition_threshold: float = 0.60,
        icd10_threshold: float = 0.70,
        include_rxnorm: bool = True,
        exclude_traits: Sequence[str] = EXCLUDING_TRAITS,
        keep_excluded: bool = False,
        local_traits: bool = False,
        use_traits: bool = True,
        max_tps: float = 100.0,
        max_attempts: int | None = None,
        backoff_initial: float | None = None,
        backoff_max: float | None = None,
        max_chunk_bytes: int = MAX_CHUNK_BYTES,
        meddra_path: str | None = None,
        normalize_drugs: bool = True,
    ):
        for key, value in (
            ("condition_threshold", condition_threshold),
            ("icd10_threshold", icd10_threshold),
        ):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"comprehend-medical: {key} must be in [0, 1], got {value}")
        warn_retry_options(self.name, max_attempts, backoff_initial, backoff_max)
        if not 100 <= max_chunk_bytes <= MAX_CHUNK_BYTES:
            raise ConfigError(
                f"comprehend-medical: max_chunk_bytes must be in [100, {MAX_CHUNK_BYTES}]"
            )
        if meddra_path is not None and not Path(meddra_path).is_dir():
            raise ConfigError(f"comprehend-medical: meddra_path {meddra_path!r} is not a folder")
        self._client = client
        self._owns_client = client is None
        self.region = region
        self.condition_threshold = condition_threshold
        self.icd10_threshold = icd10_threshold
        self.include_rxnorm = include_rxnorm
        self.exclude_traits = tuple(exclude_traits)
        self.keep_excluded = keep_excluded
        self.local_traits = local_traits
        self.use_traits = use_traits
        self.max_tps = max_tps
        self.max_chunk_bytes = max_chunk_bytes
        self.meddra_path = meddra_path
        self.normalize_drugs = normalize_drugs
        self._ingredients: Any = None
        self._limiters = {
            op: RateLimiter(max_tps)
            for op in ("detect_entities_v2", "infer_icd10_cm", "infer_rx_norm")
        }
        self._meddra: Any = None

    def __repr__(self) -> str:
        return f"ComprehendMedicalExtractor(region={self.region!r})"

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use (botocore retries off: the runner retries)."""
        if self._client is None:
            try:
                import boto3  # noqa: F401
            except ModuleNotFoundError as exc:
                raise PluginError(
                    "extractor 'comprehend-medical' needs: pip install 'adverse-events[aws]'"
                ) from exc
            try:
                self._client = make_client("comprehendmedical", region=self.region)
            except Exception as exc:  # noqa: BLE001 - NoRegionError and friends
                raise translate(exc, backend=self.name, action="create client") from exc
        return self._client

    def close(self) -> None:
        """Close the client this extractor made (an injected client is left to its owner)."""
        if self._owns_client and self._client is not None:
            getattr(self._client, "close", lambda: None)()
            self._client = None
        self._meddra = None

    # -- extraction ---------------------------------------------------------------------------
    def extract(self, texts: Sequence[str]) -> list[list[Mention]]:
        """One list of mentions per text, in order."""
        return [self._extract_one(text) for text in texts]

    def _extract_one(self, text: str) -> list[Mention]:
        if not isinstance(text, str):
            raise PermanentBackendError(
                f"expected text, got {type(text).__name__}", backend=self.name
            )
        if not text.strip():
            return []
        entities: dict[str, list[dict[str, Any]]] = {"detect": [], "icd10": [], "rxnorm": []}
        for offset, chunk in split_text(text, self.max_chunk_bytes):
            self._analyse(chunk, offset, entities, self.max_chunk_bytes)
        return self._mentions(text, entities)

    def _analyse(
        self, chunk: str, offset: int, out: dict[str, list[dict[str, Any]]], limit: int
    ) -> None:
        """Call the APIs on one chunk, re-splitting it when the service says it is too large."""
        if not chunk.strip():
            return
        try:
            found = {
                "detect": self._call("detect_entities_v2", chunk),
                "icd10": self._call("infer_icd10_cm", chunk),
            }
            if self.include_rxnorm:
                found["rxnorm"] = self._call("infer_rx_norm", chunk)
        except _TooLarge:
            half = min(limit, len(chunk.encode("utf-8"))) // 2
            if half < 20:
                raise PermanentBackendError(
                    "service says the text is too large even in 20-byte chunks", backend=self.name
                ) from None
            for sub_offset, sub in split_text(chunk, half):
                self._analyse(sub, offset + sub_offset, out, half)
            return
        for key, entities in found.items():
            for entity in entities:
                shifted = dict(entity)
                shifted["BeginOffset"] = entity.get("BeginOffset", 0) + offset
                shifted["EndOffset"] = entity.get("EndOffset", 0) + offset
                out[key].append(shifted)

    def _call(self, operation: str, text: str) -> list[dict[str, Any]]:
        """One rate-limited API call (never retried here); returns the response's Entities."""
        self._limiters[operation].acquire()
        try:
            response = getattr(self.client, operation)(Text=text)
        except Exception as exc:  # noqa: BLE001 - translated by the one AWS error map
            code, _ = error_code(exc)
            if code == _TOO_LARGE:  # the protocol's own partial case: split and call again
                raise _TooLarge(f"{operation}: {code}") from exc
            raise translate(exc, backend=self.name, action=operation) from exc
        return list(response.get("Entities", []))

    # -- building mentions --------------------------------------------------------------------
    def _mention(self, text: str, entity: dict[str, Any], category: str) -> Mention | None:
        start = max(0, min(int(entity["BeginOffset"]), len(text)))
        end = max(start, min(int(entity["EndOffset"]), len(text)))
        if end == start:
            return None
        return Mention(
            text=text[start:end],
            start=start,
            end=end,
            category=category,
            score=max(0.0, min(1.0, float(entity.get("Score", 0.0)))),
            traits=_traits(entity),
        )

    def _mentions(self, text: str, found: dict[str, list[dict[str, Any]]]) -> list[Mention]:
        mentions: list[Mention] = []
        for entity in found["detect"]:
            category = entity.get("Category")
            if category == "MEDICATION":
                mention = self._mention(text, entity, "DRUG")
            elif (
                category == "MEDICAL_CONDITION"
                and entity.get("Score", 0.0) >= self.condition_threshold
            ):
                mention = self._mention(text, entity, "ADVERSE_EVENT")
            else:
                continue
            if mention is not None:
                mentions.append(mention)
        self._attach(
            text,
            mentions,
            found["icd10"],
            "ICD10CMConcepts",
            "ICD-10-CM",
            "ADVERSE_EVENT",
            self.icd10_threshold,
        )
        if self.include_rxnorm:
            self._attach(text, mentions, found["rxnorm"], "RxNormConcepts", "RxNorm", "DRUG", 0.0)
        mentions = list({(m.start, m.end, m.category): m for m in mentions}.values())
        if not self.use_traits:
            mentions = [m.model_copy(update={"traits": ()}) for m in mentions]
        if self.meddra_path is not None:
            mentions = [self._with_meddra(m) for m in mentions]
        if self.local_traits:
            mentions = apply_traits(text, mentions, categories=("ADVERSE_EVENT",))
        if self.normalize_drugs:
            mentions = self._ingredient_normalizer().normalize(mentions)
        mentions.sort(key=lambda m: (m.start, m.end, m.category))
        return filter_mentions(mentions, self.exclude_traits, self.keep_excluded)

    def _attach(
        self,
        text: str,
        mentions: list[Mention],
        entities: list[dict[str, Any]],
        field: str,
        system: str,
        category: str,
        threshold: float,
    ) -> None:
        """Attach each entity's concepts to the mention it matches (same or overlapping span)."""
        for entity in entities:
            concepts = sorted(
                (
                    Concept(
                        system=system,
                        code=c["Code"],
                        description=c.get("Description", ""),
                        score=max(0.0, min(1.0, float(c.get("Score", 0.0)))),
                    )
                    for c in entity.get(field, [])
                    if c.get("Score", 0.0) >= threshold
                ),
                key=lambda c: c.score or 0.0,
                reverse=True,
            )
            if not concepts:
                continue
            start, end = int(entity["BeginOffset"]), int(entity["EndOffset"])
            candidates = [
                (i, _overlap(m, start, end))
                for i, m in enumerate(mentions)
                if m.category == category
            ]
            candidates = [(i, n) for i, n in candidates if n > 0]
            if candidates:
                index = max(candidates, key=lambda c: c[1])[0]
                target = mentions[index]
                mentions[index] = target.model_copy(
                    update={
                        "concepts": (*target.concepts, *concepts),
                        "traits": tuple(dict.fromkeys((*target.traits, *_traits(entity)))),
                    }
                )
                continue
            if category == "ADVERSE_EVENT" and entity.get("Score", 0.0) < self.condition_threshold:
                continue
            mention = self._mention(text, entity, category)
            if mention is not None:
                mentions.append(mention.model_copy(update={"concepts": tuple(concepts)}))

    def _ingredient_normalizer(self) -> Any:
        if self._ingredients is None:
            from adverse_events.coding.ingredients import IngredientNormalizer

            self._ingredients = IngredientNormalizer()
        return self._ingredients

    def _with_meddra(self, mention: Mention) -> Mention:
        if mention.category != "ADVERSE_EVENT":
            return mention
        if self._meddra is None:
            from adverse_events.coding.meddra import MedDRACoder

            self._meddra = MedDRACoder(self.meddra_path)  # type: ignore[arg-type]
        return mention.model_copy(
            update={"concepts": (*mention.concepts, *self._meddra.code(mention.text))}
        )
