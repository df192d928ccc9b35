"""Helpers shared by the AWS backends: lazy boto3 clients and botocore error translation.

Every AWS backend creates its client through `make_client` (so ``endpoint_url`` points it at
moto or LocalStack in tests) and wraps its calls with `translate`, so throttling, 5xx and
connection problems become `TransientBackendError` and everything else becomes
`PermanentBackendError`: no botocore exception reaches the runner.
"""

from __future__ import annotations

from typing import Any

from adverse_events.errors import BackendError, PermanentBackendError, TransientBackendError

__all__ = ["TRANSIENT_CODES", "make_client", "translate"]

#: Error codes AWS services use for "slow down" and "try again later".
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
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


def make_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_pool_connections: int = 10,
) -> Any:
    """A boto3 client with explicit timeouts and botocore's own retries off.

    Retries are ours (`TransientBackendError` + the runner's backoff), so a call is never
    retried twice over by two layers.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max_pool_connections,
    )
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=config)


def error_code(exc: BaseException) -> tuple[str, int]:
    """The AWS error code and HTTP status of a botocore `ClientError` (``("", 0)`` otherwise)."""
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def translate(exc: BaseException, *, backend: str, action: str) -> BackendError:
    """Map a botocore/boto3 exception to the library's error tree (raise it ``from exc``)."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        code, status = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        text = f"{action} failed: {code or status}: {message}"
        if code in TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientBackendError(text, backend=backend)
        return PermanentBackendError(text, backend=backend)
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError, bce.NoRegionError)):
        return PermanentBackendError(
            f"{action} failed: {exc} (configure AWS credentials and "
            "region: environment variables, profile or IAM role)",
            backend=backend,
        )
    if isinstance(
        exc,
        (
            bce.EndpointConnectionError,
            bce.ConnectionError,
            bce.ReadTimeoutError,
            bce.ConnectTimeoutError,
            bce.ConnectionClosedError,
        ),
    ):
        return TransientBackendError(f"{action} failed: {exc}", backend=backend)
    if isinstance(exc, bce.ParamValidationError):
        return PermanentBackendError(f"{action} failed: {exc}", backend=backend)
    return PermanentBackendError(f"{action} failed: {type(exc).__name__}: {exc}", backend=backend)
