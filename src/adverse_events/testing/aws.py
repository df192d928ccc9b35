"""A moto server for tests of AWS backends over real HTTP (needs ``pip install 'moto[server]'``).

Example::

    with MotoServer() as moto:
        sink = S3Sink("bucket", endpoint_url=moto.url)
        moto.client("s3").create_bucket(Bucket="bucket")

The server runs in a thread on a free local port; `MotoServer` sets fake credentials and a
region in the environment while it runs (and restores them after), so no real account is ever
reached. `reset()` empties every mocked service between tests.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Sequence
from typing import Any

__all__ = ["MotoServer"]

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class MotoServer:
    """moto's `ThreadedMotoServer` on 127.0.0.1 and a free port, with fake credentials."""

    def __init__(self, region: str = "us-east-1"):
        self.region = region
        self._server: Any = None
        self._saved: dict[str, str | None] = {}
        self.url = ""

    def start(self) -> MotoServer:
        from moto.server import ThreadedMotoServer

        env = {**_ENV, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        self._saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved = {}

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of `service` pointed at this server."""
        import boto3

        return boto3.session.Session().client(
            service, region_name=self.region, endpoint_url=self.url
        )

    def _post(self, path: str, payload: Any = None) -> None:
        data = json.dumps(payload).encode("utf-8") if payload is not None else b""
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        # Straight to the local server: no proxy from the environment (nor the one urllib's
        # shared opener captured from it when first used).
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:  # noqa: S310 - local
            response.read()

    def reset(self) -> None:
        """Forget every bucket, table, queued result... (moto's reset API)."""
        self._post("/moto-api/reset")

    def queue_sagemaker_results(
        self, bodies: Sequence[str], content_type: str = "application/json"
    ) -> None:
        """Queue response bodies for the next distinct ``InvokeEndpoint`` requests, in order.

        moto answers each distinct request (body + ``X-Amzn-SageMaker-*`` headers) with the next
        queued result, and repeats that answer for an identical request.
        """
        results = [{"Body": body, "ContentType": content_type} for body in bodies]
        self._post(
            "/moto-api/static/sagemaker/endpoint-results",
            {"region": self.region, "results": results},
        )

    def queue_sagemaker_async_results(self, bodies: Sequence[str]) -> None:
        """Queue answers for the next distinct ``InvokeEndpointAsync`` requests, in order.

        moto writes each answer to a new S3 object and returns its location as the call's
        ``OutputLocation``; a request with the same ``InputLocation`` gets the same answer.
        """
        self._post(
            "/moto-api/static/sagemaker/async-endpoint-results",
            {"region": self.region, "results": [{"data": body} for body in bodies]},
        )
