"""AWS Lambda handler: the library's pipeline on a DynamoDB Stream batch.

``DynamoDBStreamSource`` -> ``SageMakerClassifier`` -> ``ComprehendMedicalExtractor`` (adverse
events only) -> ``S3Sink`` (Parquet under ``dt=`` partitions), configured from environment
variables (see `Settings`). Handler: ``adverse_events.aws.lambda_handler.handler``.

What happens to each stream record:

* Valid posts are classified and written to S3 in one object per partition per invocation.
* Records that can never succeed (malformed images, texts the model or Comprehend Medical
  reject) are written to the dead-letter prefix with their reason. They are not reported as
  failures: a retry would fail the same way, and they must not block the shard.
* Records that failed for a transient reason (throttling that outlasted the retries, a
  timeout) are returned in ``batchItemFailures``. Lambda retries from the earliest of them, so
  nothing from that record on is written in this invocation (it all comes back in the retry);
  everything before it is written exactly once.
* If writing to S3 fails, the whole batch is reported, and the retry rewrites the same
  objects: object keys are digests of the input posts, so a redelivered batch adds no rows.
* Posts are processed ``BATCH_SIZE`` at a time while the invocation has time left: when less
  than ``TIME_MARGIN_SECONDS`` remain, the rest of the batch is reported from its first record
  and what was done is written, so a slow endpoint ends in a partial retry, not in a timeout
  that would redo (and re-bill) the whole batch.

The event source mapping should enable ``ReportBatchItemFailures``, bisect on error, bounded
retries and an on-failure destination (see ``examples/aws_cdk``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adverse_events.errors import AdverseEventsError, ConfigError
from adverse_events.records import EXCLUDING_TRAITS, AdverseEventRecord, DeadLetter, Post
from adverse_events.sources.dynamodb_stream import sequence_number_of

__all__ = ["Settings", "handle", "handler"]

log = logging.getLogger("adverse_events.aws.lambda_handler")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

#: The extractors the handler can build from its environment (``none`` skips extraction).
EXTRACTORS = ("comprehend-medical",)


def _env(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, default)
    return value.strip() if isinstance(value, str) and value.strip() else default


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (_env(env, name) or "").lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _traits(env: Mapping[str, str]) -> tuple[str, ...]:
    value = _env(env, "EXCLUDE_TRAITS")
    if value is None:
        return EXCLUDING_TRAITS
    if value.lower() == "none":
        return ()
    return tuple(t.strip().upper() for t in value.split(",") if t.strip())


@dataclass(frozen=True)
class Settings:
    """The handler's configuration, read from environment variables by `from_env`.

    ``ENDPOINT_NAME`` and ``BUCKET`` are required. Optional: ``THRESHOLD`` (0.6), ``PREFIX``
    (``lambda_predictions/``), ``DEAD_LETTER_PREFIX`` (``lambda_dead_letters/``), ``FORMAT``
    (``parquet``), ``EXTRACTOR`` (``comprehend-medical``; ``none`` to skip extraction),
    ``BATCH_SIZE`` (64 texts per endpoint call), ``MAX_RETRIES`` (2 pipeline retries of a
    transient failure), ``BACKOFF_SECONDS`` (0.5), ``ID_ATTRIBUTE`` (``post_id``) and
    ``TEXT_ATTRIBUTE`` (``text``): the table's attribute names. ``TIME_MARGIN_SECONDS`` (20):
    stop taking new posts when less time than this remains in the invocation (writing to S3
    must fit in it).

    Comprehend Medical (`ComprehendMedicalExtractor`): ``COMPREHEND_MEDICAL_REGION`` (default:
    the function's own region; the service runs in a few regions only),
    ``CONDITION_THRESHOLD`` (0.60), ``ICD10_THRESHOLD`` (0.70), ``INCLUDE_RXNORM`` (true),
    ``EXCLUDE_TRAITS`` (``NEGATION,HYPOTHETICAL,PERTAINS_TO_FAMILY``; ``none`` keeps every
    condition, as the reference design does) and ``KEEP_EXCLUDED`` (false: excluded conditions
    are dropped; true: kept, flagged by their traits, never the AE type).
    """

    endpoint_name: str
    bucket: str
    threshold: float = 0.6
    prefix: str = "lambda_predictions/"
    dead_letter_prefix: str = "lambda_dead_letters/"
    format: str = "parquet"
    extractor: str | None = "comprehend-medical"
    batch_size: int = 64
    max_retries: int = 2
    backoff_seconds: float = 0.5
    id_attribute: str = "post_id"
    text_attribute: str = "text"
    comprehend_region: str | None = None
    condition_threshold: float = 0.60
    icd10_threshold: float = 0.70
    include_rxnorm: bool = True
    exclude_traits: tuple[str, ...] = EXCLUDING_TRAITS
    keep_excluded: bool = False
    time_margin_seconds: float = 20.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [n for n in ("ENDPOINT_NAME", "BUCKET") if not _env(env, n)]
        if missing:
            raise ConfigError(
                f"set the environment variable(s) {', '.join(missing)} on the Lambda function"
            )
        extractor = _env(env, "EXTRACTOR", "comprehend-medical")
        extractor = None if (extractor or "").lower() in ("", "none") else extractor
        if extractor is not None and extractor not in EXTRACTORS:
            raise ConfigError(
                f"EXTRACTOR must be one of {', '.join(EXTRACTORS)} or none, got {extractor!r}"
            )
        try:
            return cls(
                endpoint_name=str(_env(env, "ENDPOINT_NAME")),
                bucket=str(_env(env, "BUCKET")),
                threshold=float(_env(env, "THRESHOLD", "0.6") or 0.6),
                prefix=str(_env(env, "PREFIX", cls.prefix)),
                dead_letter_prefix=str(_env(env, "DEAD_LETTER_PREFIX", cls.dead_letter_prefix)),
                format=str(_env(env, "FORMAT", "parquet")),
                extractor=extractor,
                batch_size=int(_env(env, "BATCH_SIZE", "64") or 64),
                max_retries=int(_env(env, "MAX_RETRIES", "2") or 2),
                backoff_seconds=float(_env(env, "BACKOFF_SECONDS", "0.5") or 0.5),
                id_attribute=str(_env(env, "ID_ATTRIBUTE", "post_id")),
                text_attribute=str(_env(env, "TEXT_ATTRIBUTE", "text")),
                comprehend_region=_env(env, "COMPREHEND_MEDICAL_REGION"),
                condition_threshold=float(_env(env, "CONDITION_THRESHOLD", "0.6") or 0.6),
                icd10_threshold=float(_env(env, "ICD10_THRESHOLD", "0.7") or 0.7),
                include_rxnorm=_flag(env, "INCLUDE_RXNORM", True),
                exclude_traits=_traits(env),
                keep_excluded=_flag(env, "KEEP_EXCLUDED", False),
                time_margin_seconds=float(_env(env, "TIME_MARGIN_SECONDS", "20") or 20),
            )
        except ValueError as exc:
            raise ConfigError(f"bad number in the Lambda environment: {exc}") from exc


class _Backends:
    """The classifier, extractor and sinks, built once per container and reused when warm.

    `clients` maps boto3 service names (``sagemaker-runtime``, ``comprehendmedical``, ``s3``)
    to ready clients; the others are made lazily from the environment. Tests inject stubbed
    clients this way.
    """

    def __init__(self, settings: Settings, clients: Mapping[str, Any] | None = None):
        from adverse_events.registry import get_registry

        clients = clients or {}
        registry = get_registry()
        self.settings = settings
        self.classifier = registry.resolve("classifier", "sagemaker")(
            settings.endpoint_name,
            threshold=settings.threshold,
            batch_size=settings.batch_size,
            client=clients.get("sagemaker-runtime"),
        )
        self.extractor = None
        if settings.extractor == "comprehend-medical":
            self.extractor = registry.resolve("extractor", "comprehend-medical")(
                client=clients.get("comprehendmedical"),
                region=settings.comprehend_region,
                condition_threshold=settings.condition_threshold,
                icd10_threshold=settings.icd10_threshold,
                include_rxnorm=settings.include_rxnorm,
                exclude_traits=settings.exclude_traits,
                keep_excluded=settings.keep_excluded,
            )
        elif settings.extractor is not None:
            raise ConfigError(
                f"EXTRACTOR must be one of {', '.join(EXTRACTORS)} or none, "
                f"got {settings.extractor!r}"
            )
        self.sink = registry.resolve("sink", "s3")(
            settings.bucket,
            settings.prefix,
            settings.format,
            dead_letter_prefix=settings.dead_letter_prefix,
            client=clients.get("s3"),
        )


_WARM: dict[Settings, _Backends] = {}


def _backends(settings: Settings) -> _Backends:
    if settings not in _WARM:
        _WARM.clear()
        _WARM[settings] = _Backends(settings)
    return _WARM[settings]


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (configure it as ``adverse_events.aws.lambda_handler.handler``)."""
    settings = Settings.from_env()
    backends = _backends(settings)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = (
        time.monotonic() + remaining() / 1000 - settings.time_margin_seconds
        if callable(remaining)
        else None
    )
    return handle(
        event,
        settings=settings,
        classifier=backends.classifier,
        extractor=backends.extractor,
        sink=backends.sink,
        deadline=deadline,
    )


def _records_of(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return [r for r in records if isinstance(r, Mapping)] if isinstance(records, list) else []


def _stream_sequence(record: Mapping[str, Any]) -> str | None:
    dynamodb = record.get("dynamodb")
    value = dynamodb.get("SequenceNumber") if isinstance(dynamodb, Mapping) else None
    return str(value) if value else None


def handle(
    event: Mapping[str, Any],
    *,
    settings: Settings,
    classifier: Any,
    extractor: Any,
    sink: Any,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Process one stream batch; return ``{"batchItemFailures": [...]}`` (see the module doc).

    `deadline` (a `time.monotonic` value): take no new posts after it; the rest is retried.
    """
    from adverse_events.pipeline import Pipeline
    from adverse_events.registry import get_registry
    from adverse_events.sinks.memory import MemorySink
    from adverse_events.sources.memory import MemorySource

    stream = _records_of(event)
    order = {seq: i for i, r in enumerate(stream) if (seq := _stream_sequence(r))}
    if not stream:
        return {"batchItemFailures": []}
    source = get_registry().resolve("source", "dynamodb-stream")(
        dict(event), id_attribute=settings.id_attribute, text_attribute=settings.text_attribute
    )
    items = list(source.read())
    sequence_of = {
        item.post_id: sequence_number_of(item) for item in items if isinstance(item, Post)
    }
    position = {pid: order.get(seq or "", len(stream)) for pid, seq in sequence_of.items()}

    held, reports, done = MemorySink(), [], 0
    while done < len(items) and not (done and _out_of_time(deadline, items[done], order)):
        chunk = items[done : done + settings.batch_size]
        reports.append(
            Pipeline(
                MemorySource(chunk),
                classifier,
                extractor,
                sink=held,
                dead_letter=held,
                batch_size=settings.batch_size,
                max_retries=settings.max_retries,
                backoff_initial=settings.backoff_seconds,
                progress=False,
                close=False,
            ).run()
        )
        if reports[-1].failed:  # a backend could not start: retry it all
            log.error("the pipeline failed, the batch will be retried: %s", reports[-1].error)
            return _whole_batch(stream)
        done += len(chunk)
    letters = list(held.dead_letters.values())
    retry = [d for d in letters if d.transient and d.post_id]
    cut = min((position.get(d.post_id or "", 0) for d in retry), default=len(stream) + 1)
    left = str(sequence_number_of(items[done])) if done < len(items) else None
    if left is not None:  # out of time: retry from the first post not processed
        log.warning(
            "%d posts left for the retry: the invocation is running out of time", len(items) - done
        )
        cut = min(cut, order[left])
    records = [r for r in held.records.values() if position.get(r.post_id, 0) < cut]
    final = [d for d in letters if d not in retry and _letter_position(d, position, order) < cut]
    failures = sorted(
        {seq for d in retry if (seq := sequence_of.get(d.post_id or ""))}
        | ({left} if left else set()),
        key=lambda s: order.get(s, 0),
    )
    if retry and not failures:  # cannot name the record: retry the batch from its start
        failures = [s for s in (_stream_sequence(stream[0]),) if s]
    try:
        _write(sink, records, final)
    except AdverseEventsError as exc:
        log.error("writing to S3 failed, the batch will be retried: %s", exc)
        return _whole_batch(stream)
    log.info(
        json.dumps(
            {
                "stream_records": len(stream),
                "written": len(records),
                "dead_lettered": len(final),
                "retry_from": failures[0] if failures else None,
                "adverse_events": sum(r.adverse_events for r in reports),
                "retries": sum(r.retries for r in reports),
                "seconds": round(sum(r.seconds for r in reports), 3),
            }
        )
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}


def _out_of_time(deadline: float | None, item: Post | DeadLetter, order: Mapping[str, int]) -> bool:
    """Past the deadline, and `item` names its stream record (so the retry can start there)."""
    return (
        deadline is not None and time.monotonic() >= deadline and sequence_number_of(item) in order
    )


def _whole_batch(stream: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The response that makes Lambda retry the batch from its first record."""
    first = _stream_sequence(stream[0])
    return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}


def _letter_position(
    letter: DeadLetter, position: Mapping[str, int], order: Mapping[str, int]
) -> int:
    """Where in the batch a dead letter's record was (0 when unknown: it is kept)."""
    if letter.post_id and letter.post_id in position:
        return position[letter.post_id]
    return order.get(sequence_number_of(letter) or "", 0)


def _write(sink: Any, records: Sequence[AdverseEventRecord], letters: Sequence[DeadLetter]) -> None:
    if records or letters:
        sink.write([*records, *letters])
    flush = getattr(sink, "flush", None)
    if flush is not None:
        flush()
