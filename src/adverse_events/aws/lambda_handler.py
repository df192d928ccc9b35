"""AWS Lambda handler: the library's pipeline on a DynamoDB Stream batch.

``DynamoDBStreamSource`` -> ``SageMakerClassifier`` -> ``ComprehendMedicalExtractor`` (adverse
events only) -> ``S3Sink`` (Parquet under ``dt=`` partitions). Handler:
``adverse_events.aws.lambda_handler.handler``.

Configuration is a `PipelineConfig` (`adverse_events.aws.lambda_config.lambda_config`): the
default pipeline above, or the TOML file ``PIPELINE_CONFIG`` names (packaged with the function),
with the environment variables as overrides of its keys:

* ``[source]``: ``ID_ATTRIBUTE`` -> ``id_attribute``, ``TEXT_ATTRIBUTE`` -> ``text_attribute``
* ``[classifier]``: ``ENDPOINT_NAME`` (required) -> ``endpoint_name``, ``THRESHOLD`` ->
  ``threshold``, ``BATCH_SIZE`` -> ``batch_size``
* ``[extractor]``: ``EXTRACTOR`` -> ``type`` (``comprehend-medical``; ``none`` removes the
  table), ``COMPREHEND_MEDICAL_REGION`` -> ``region``, ``CONDITION_THRESHOLD``,
  ``ICD10_THRESHOLD``, ``INCLUDE_RXNORM``, ``EXCLUDE_TRAITS``, ``KEEP_EXCLUDED`` -> the option of
  the same name in lower case
* ``[sink]``: ``BUCKET`` (required) -> ``bucket``, ``PREFIX`` -> ``prefix``,
  ``DEAD_LETTER_PREFIX`` -> ``dead_letter_prefix``, ``FORMAT`` -> ``format``
* ``[pipeline]``: ``BATCH_SIZE`` -> ``batch_size``, ``MAX_RETRIES`` -> ``max_retries``,
  ``BACKOFF_SECONDS`` -> ``backoff_initial``

``TIME_MARGIN_SECONDS`` (20) is the handler's own option. Defaults and parsing are in
`adverse_events.aws.lambda_config`. The classifier, extractor, sink and plugin manager are built
once per container and reused while it is warm; only the stream source is made per invocation
(it reads the event).

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
from typing import Any

import pluggy

from adverse_events.aws.lambda_config import Settings, lambda_config, time_margin
from adverse_events.config import STAGES, PipelineConfig, StageConfig, build_backend
from adverse_events.errors import AdverseEventsError
from adverse_events.hooks import default_manager
from adverse_events.pipeline import Pipeline
from adverse_events.records import AdverseEventRecord, DeadLetter, Post
from adverse_events.registry import get_registry
from adverse_events.sinks.memory import MemorySink
from adverse_events.sources.dynamodb_stream import sequence_number_of
from adverse_events.sources.memory import MemorySource

__all__ = ["Settings", "handle", "handler"]

log = logging.getLogger("adverse_events.aws.lambda_handler")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

#: backend registry name -> the boto3 service whose client `_Backends` may be given for it.
CLIENT_SERVICES = {
    "comprehend-medical": "comprehendmedical",
    "s3": "s3",
    "sagemaker": "sagemaker-runtime",
}


class _Backends:
    """The classifier, extractor, sink and plugin manager, built once per container from the
    config (a `Settings` is turned into one) and reused when warm.

    `clients` maps boto3 service names (``sagemaker-runtime``, ``comprehendmedical``, ``s3``)
    to ready clients for the backends that call them; the others make theirs lazily from the
    environment. Tests inject stubbed clients this way.
    """

    def __init__(self, config: PipelineConfig | Settings, clients: Mapping[str, Any] | None = None):
        config = config.config() if isinstance(config, Settings) else config
        self.key = _fingerprint(config)
        self.hooks: pluggy.PluginManager = default_manager()
        clients = clients or {}
        self.classifier = _build("classifier", config.classifier, clients)
        self.extractor = _build("extractor", config.extractor, clients)
        self.sink = _build("sink", config.sink, clients)


def _build(table: str, stage: StageConfig | None, clients: Mapping[str, Any]) -> Any:
    """The backend of one stage table, given its client when `clients` has one."""
    if stage is None:
        return None
    client = clients.get(CLIENT_SERVICES.get(stage.type, ""))
    if client is not None:
        stage = StageConfig(type=stage.type, options={**stage.options, "client": client})
    return build_backend(STAGES[table], stage, get_registry(), table)


def _fingerprint(config: PipelineConfig) -> str:
    """What makes two configs build the same backends (their real values, secrets included:
    it never leaves the process)."""
    stages = {t: [s.type, s.options] for t in STAGES if (s := getattr(config, t)) is not None}
    return json.dumps([stages, config.pipeline.model_dump()], sort_keys=True, default=repr)


#: The warm container's backends, by the fingerprint of the config they were built from.
_WARM: dict[str, _Backends] = {}


def _backends(config: PipelineConfig) -> _Backends:
    key = _fingerprint(config)
    if key not in _WARM:
        _WARM.clear()
        _WARM[key] = _Backends(config)
    return _WARM[key]


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (configure it as ``adverse_events.aws.lambda_handler.handler``)."""
    config = lambda_config()
    backends = _backends(config)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = (
        time.monotonic() + remaining() / 1000 - time_margin() if callable(remaining) else None
    )
    return handle(
        event,
        config=config,
        classifier=backends.classifier,
        extractor=backends.extractor,
        sink=backends.sink,
        hooks=backends.hooks,
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
    config: PipelineConfig | None = None,
    settings: Settings | None = None,
    classifier: Any,
    extractor: Any,
    sink: Any,
    hooks: pluggy.PluginManager | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Process one stream batch; return ``{"batchItemFailures": [...]}`` (see the module doc).

    `config` (or the older `settings`) gives the source's and the runner's options; the
    backends come ready (`handler` builds them once per container). `hooks`: the plugin
    manager whose lifecycle hooks run (default: the installed plugins, `default_manager`).
    `deadline` (a `time.monotonic` value): take no new posts after it; the rest is retried.
    """
    stream = _records_of(event)
    order = {seq: i for i, r in enumerate(stream) if (seq := _stream_sequence(r))}
    if not stream:
        return {"batchItemFailures": []}
    if config is None:
        if settings is None:
            raise TypeError("handle() needs config= (or settings=)")
        config = settings.config()
    options, hooks = config.pipeline, hooks if hooks is not None else default_manager()
    source = get_registry().resolve("source", config.source.type)(
        dict(event), **config.source.options
    )
    items = list(source.read())
    sequence_of = {
        item.post_id: sequence_number_of(item) for item in items if isinstance(item, Post)
    }
    position = {pid: order.get(seq or "", len(stream)) for pid, seq in sequence_of.items()}

    held, reports, done = MemorySink(), [], 0
    while done < len(items) and not (done and _out_of_time(deadline, items[done], order)):
        chunk = items[done : done + options.batch_size]
        reports.append(
            Pipeline(
                MemorySource(chunk),
                classifier,
                extractor,
                sink=held,
                dead_letter=held,
                batch_size=options.batch_size,
                max_retries=options.max_retries,
                backoff_initial=options.backoff_initial,
                backoff_max=options.backoff_max,
                progress=False,
                hooks=hooks,
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
