"""boto3 clients for every AWS backend: lazy, with explicit timeouts and botocore retries off.

Retries are the runner's (`adverse_events.aws.errors` decides what is transient), so a call is
never retried twice over by two layers. ``endpoint_url`` points a client at moto or LocalStack.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["make_client", "warn_retry_options"]


def make_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    max_pool_connections: int = 10,
) -> Any:
    """A boto3 client for `service` with one attempt per call (botocore's retries off)."""
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


def warn_retry_options(backend: str, *values: object) -> None:
    """Warn that a backend's old retry options (max_attempts, backoff_*) are ignored now.

    The runner is the one retry owner (``[pipeline] max_retries``, ``backoff_initial``,
    ``backoff_max``); old configs that still set the backend's own keep loading.
    """
    if any(v is not None for v in values):
        warnings.warn(
            f"{backend}: max_attempts / backoff_initial / backoff_max are ignored: retries are "
            "the runner's ([pipeline] max_retries, backoff_initial, backoff_max); remove them",
            DeprecationWarning,
            stacklevel=3,
        )
