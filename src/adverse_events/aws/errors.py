"""The one AWS error map: every AWS backend's botocore errors become the library's error tree.

Every AWS backend (S3 and DynamoDB sinks, the SageMaker classifier, Comprehend Medical, the
DynamoDB stream source, the Ray engine's S3 store) wraps its calls in `aws_errors` (or calls
`translate`), so one table decides what is worth a retry:

* **transient** (`TransientBackendError`): throttling, 5xx, timeouts, dropped connections. The
  runner is the one retry owner: it retries these with backoff, so backends do not loop on
  them (botocore's own retries are off too, see `adverse_events.aws.clients.make_client`);
* **input** (`InputError`): the service refused this one input (too large, bad encoding): the
  item is dead-lettered and retrying cannot help;
* **permanent** (`PermanentBackendError`): everything else (auth, missing resources,
  validation of the request as a whole, unknown errors).

Backends still handle what their service's protocol defines as partial success (DynamoDB
``UnprocessedItems``, Comprehend Medical's text-size limit by re-splitting, stream polling).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from adverse_events.errors import (
    AdverseEventsError,
    InputError,
    PermanentBackendError,
    TransientBackendError,
)

__all__ = ["INPUT_CODES", "TRANSIENT_CODES", "aws_errors", "classify", "error_code", "translate"]

Kind = Literal["transient", "permanent", "input"]

#: Error codes AWS services use for "slow down" and "try again later".
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "LimitExceededException",
        "ModelNotReadyException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionInProgressException",
    }
)

#: Error codes that refuse one input (the item is dead-lettered; a retry would fail the same).
INPUT_CODES = frozenset(
    {
        "InvalidEncodingException",  # Comprehend Medical: text not UTF-8
        "TextSizeLimitExceededException",  # Comprehend Medical: text too large
    }
)

#: Model-server statuses behind SageMaker's ``ModelError`` that are worth a retry.
_MODEL_RETRY_STATUSES = frozenset({429, 502, 503, 504})


def error_code(exc: BaseException) -> tuple[str, int]:
    """The AWS error code and HTTP status of a botocore `ClientError` (``("", 0)`` otherwise)."""
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def classify(exc: BaseException) -> Kind:
    """Whether a botocore / boto3 exception is transient, about one input, or permanent."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        code, status = error_code(exc)
        if code == "ModelError":  # SageMaker: the container answered non-200
            original = int(exc.response.get("OriginalStatusCode", 0) or 0)  # type: ignore[call-overload]
            return "transient" if original in _MODEL_RETRY_STATUSES else "permanent"
        if code in INPUT_CODES:
            return "input"
        if code in TRANSIENT_CODES or status == 429 or status >= 500:
            return "transient"
        return "permanent"
    transient = (
        bce.EndpointConnectionError,
        bce.ConnectionError,
        bce.ReadTimeoutError,
        bce.ConnectTimeoutError,
        bce.ConnectionClosedError,
    )
    return "transient" if isinstance(exc, transient) else "permanent"


def translate(exc: BaseException, *, backend: str, action: str) -> AdverseEventsError:
    """Map a botocore/boto3 exception to the library's error tree (raise it ``from exc``)."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        code, status = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        text = f"{action} failed: {code or status}: {message}"
    elif isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError, bce.NoRegionError)):
        text = (
            f"{action} failed: {exc} (configure AWS credentials and region: environment "
            "variables, profile or IAM role)"
        )
    elif isinstance(exc, bce.BotoCoreError):
        text = f"{action} failed: {exc}"
    else:
        text = f"{action} failed: {type(exc).__name__}: {exc}"
    kind = classify(exc)
    if kind == "input":
        return InputError(f"[{backend}] {text}")
    if kind == "transient":
        return TransientBackendError(text, backend=backend)
    return PermanentBackendError(text, backend=backend)


@contextmanager
def aws_errors(backend: str, action: str) -> Iterator[None]:
    """Run AWS calls; whatever botocore raises leaves as the library's error (``from`` it).

    The library's own errors pass through unchanged, so nested uses do not wrap twice.
    """
    try:
        yield
    except AdverseEventsError:
        raise
    except Exception as exc:  # noqa: BLE001 - every foreign error is translated here
        raise translate(exc, backend=backend, action=action) from exc
