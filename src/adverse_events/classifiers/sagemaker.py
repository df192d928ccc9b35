"""`SageMakerClassifier`: classifies texts with a model behind a SageMaker real-time endpoint.

The endpoint runs `adverse_events.aws.sagemaker_entry` (or anything with the same contract):
a JSON list of strings in, a JSON list of ``{"label", "score", "probabilities"}`` out, one per
input, in order; ``score`` is the probability of the adverse-event class.

Texts are sent in payloads of at most `batch_size` texts and `max_payload_bytes` bytes (a
real-time invocation accepts 6 MB). The response is parsed as JSON and checked item by item;
it is never evaluated. Each invocation is made once: throttling, 5xx and connection errors
raise `TransientBackendError` and the runner, the one retry owner, retries the batch with
backoff (so a throttled batch costs at most ``max_retries + 1`` calls in all); validation errors
and model errors raise `PermanentBackendError` (the runner narrows the batch down to the
offending text). Errors are classified by the one AWS error map, `adverse_events.aws.errors`.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from adverse_events.aws.clients import make_client, warn_retry_options
from adverse_events.aws.errors import aws_errors
from adverse_events.errors import (
    ConfigError,
    InputError,
    PermanentBackendError,
)
from adverse_events.protocols import Backend
from adverse_events.records import Prediction

__all__ = ["SageMakerClassifier"]

#: The request size limit of a real-time InvokeEndpoint call.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
POSITIVE, NEGATIVE = "adverse_event", "not_adverse_event"


class SageMakerClassifier(Backend):
    """A `Classifier` that calls a SageMaker endpoint.

    Args:
        endpoint_name: the endpoint (never hard-coded: pass it, or ``"${ENDPOINT_NAME}"`` in a
            config file).
        region / endpoint_url / client: where SageMaker Runtime is, or a ready boto3
            ``sagemaker-runtime`` client.
        batch_size: most texts in one invocation.
        max_payload_bytes: most bytes in one invocation's body (at most 6 MB).
        threshold: the adverse-event probability at and above which a post is an adverse event.
        labels: the model's labels, negative first; `positive_label` is the adverse-event one.
        max_attempts, backoff_initial, backoff_max: no longer used (retries are the runner's:
            ``[pipeline] max_retries``); accepted with a warning so old configs still load.
        read_timeout: seconds to wait for the endpoint to answer (real-time endpoints: 60).
        target_variant: a production variant to address (A/B tests), or None.
    """

    name = "sagemaker"

    def __init__(
        self,
        endpoint_name: str,
        region: str | None = None,
        batch_size: int = 64,
        max_payload_bytes: int = 5 * 1024 * 1024,
        threshold: float = 0.6,
        client: Any = None,
        endpoint_url: str | None = None,
        *,
        labels: Sequence[str] = (NEGATIVE, POSITIVE),
        positive_label: str = POSITIVE,
        max_attempts: int | None = None,
        backoff_initial: float | None = None,
        backoff_max: float | None = None,
        read_timeout: float = 60.0,
        target_variant: str | None = None,
    ):
        if not endpoint_name or not endpoint_name.strip():
            raise ConfigError("endpoint_name is required (the SageMaker endpoint to call)")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if not 1024 <= max_payload_bytes <= MAX_PAYLOAD_BYTES:
            raise ConfigError(
                f"max_payload_bytes must be between 1024 and {MAX_PAYLOAD_BYTES} "
                f"(the real-time invocation limit), got {max_payload_bytes}"
            )
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {threshold}")
        if len(labels) < 2 or positive_label not in labels:
            raise ConfigError(
                f"labels must hold at least two labels including "
                f"positive_label {positive_label!r}, got {list(labels)}"
            )
        warn_retry_options(self.name, max_attempts, backoff_initial, backoff_max)
        self.endpoint_name = endpoint_name.strip()
        self.region, self.endpoint_url = region, endpoint_url
        self.batch_size, self.max_payload_bytes = batch_size, max_payload_bytes
        self.threshold = threshold
        self.labels = tuple(labels)
        self.positive_label = positive_label
        self.negative_label = next(label for label in self.labels if label != positive_label)
        self.read_timeout = read_timeout
        self.target_variant = target_variant
        self._client = client
        #: invocations made (for logs, tests and cost estimates).
        self.invocations = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                "sagemaker-runtime",
                region=self.region,
                endpoint_url=self.endpoint_url,
                read_timeout=self.read_timeout,
            )
        return self._client

    def open(self) -> None:
        _ = self.client

    @property
    def model(self) -> str:
        return f"sagemaker:{self.endpoint_name}"

    # -- classify -------------------------------------------------------------------------------
    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per text, in order; batched into payloads under the size limit."""
        predictions: list[Prediction] = []
        for start, body in self._payloads(texts):
            count = len(json.loads(body))
            outputs = self._invoke(body)
            if len(outputs) != count:
                raise PermanentBackendError(
                    f"endpoint {self.endpoint_name!r} returned {len(outputs)} results for "
                    f"{count} texts (is it running adverse_events.aws.sagemaker_entry?)",
                    backend=self.name,
                )
            predictions.extend(self._prediction(out, start + i) for i, out in enumerate(outputs))
        return predictions

    def _payloads(self, texts: Sequence[str]) -> Iterator[tuple[int, bytes]]:
        """(index of the first text, JSON body) for each invocation."""
        start, size = 0, 2  # "[]"
        batch: list[str] = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {index} is {type(text).__name__}, not a string")
            encoded = json.dumps(text, ensure_ascii=False).encode("utf-8")
            if len(encoded) + 2 > self.max_payload_bytes:
                raise InputError(
                    f"text {index} is {len(encoded):,} bytes as JSON, over the "
                    f"{self.max_payload_bytes:,}-byte payload limit"
                )
            extra = len(encoded) + (1 if batch else 0)
            if batch and (len(batch) >= self.batch_size or size + extra > self.max_payload_bytes):
                yield start, _body(batch)
                start, batch, size = index, [], 2
                extra = len(encoded)
            batch.append(text)
            size += extra
        if batch:
            yield start, _body(batch)

    def _invoke(self, body: bytes) -> list[Any]:
        """One invocation (never retried here: the runner owns retries)."""
        kwargs: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "Body": body,
            "ContentType": "application/json",
            "Accept": "application/json",
            "InferenceId": uuid.uuid4().hex,  # correlates with data capture and logs
        }
        if self.target_variant:
            kwargs["TargetVariant"] = self.target_variant
        self.invocations += 1
        with aws_errors(self.name, f"InvokeEndpoint {self.endpoint_name!r}"):
            response = self.client.invoke_endpoint(**kwargs)
            raw = response["Body"].read()
        return self._parse(raw)

    def _parse(self, raw: bytes) -> list[Any]:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            snippet = raw[:80].decode("utf-8", errors="replace")
            raise PermanentBackendError(
                f"endpoint returned non-JSON: {snippet!r}", backend=self.name
            ) from exc
        if not isinstance(data, list):
            raise PermanentBackendError(
                f"endpoint returned {type(data).__name__}, expected a JSON list", backend=self.name
            )
        return data

    def _prediction(self, out: Any, index: int) -> Prediction:
        """Validate one endpoint result and apply this client's threshold."""
        try:
            score = float(out["score"])
            probabilities = {str(k): float(v) for k, v in (out.get("probabilities") or {}).items()}
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise PermanentBackendError(
                f"result {index} is malformed: {str(out)[:120]!r}", backend=self.name
            ) from exc
        if probabilities:
            score = probabilities.get(self.positive_label, score)
        if not (0.0 <= score <= 1.0) or math.isnan(score):
            raise PermanentBackendError(
                f"result {index} has score {score}, outside [0, 1]", backend=self.name
            )
        is_ae = score >= self.threshold
        return Prediction(
            label=self.positive_label if is_ae else self.negative_label,
            score=score,
            probabilities=probabilities,
            is_adverse_event=is_ae,
            model=self.model,
        )

    def close(self) -> None:
        """Drop the client. Idempotent."""
        self._client = None

    def __repr__(self) -> str:
        return f"SageMakerClassifier(endpoint_name={self.endpoint_name!r})"


def _body(texts: list[str]) -> bytes:
    return json.dumps(texts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
