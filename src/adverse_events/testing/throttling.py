"""`ThrottlingProxy`: an HTTP proxy in front of a local AWS stand-in that throttles like AWS.

Point a backend's ``endpoint_url`` at the proxy instead of moto: a configurable share of
requests is answered with the service's own throttling error, the rest is forwarded. For
DynamoDB (``X-Amz-Target: DynamoDB_20120810.*``) that is HTTP 400
``ProvisionedThroughputExceededException``; for everything else (S3) HTTP 503 ``SlowDown``.
`partial` additionally makes DynamoDB batch calls succeed only in part, the way a throttled
table does: ``BatchWriteItem`` forwards the first half of its items and returns the rest as
``UnprocessedItems``; ``BatchGetItem`` likewise with ``UnprocessedKeys``.

Example::

    with MotoServer() as moto, ThrottlingProxy(moto.url, throttle=0.1) as proxy:
        sink = DynamoDBSink("table", endpoint_url=proxy.url)

Runs on 127.0.0.1 and a free port in a thread; seeded, so a run can be repeated.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ThrottlingProxy"]

_DYNAMODB = "DynamoDB_20120810."
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ThrottlingProxy:
    """Forwards to `target` (``http://host:port``), throttling `throttle` of the requests."""

    def __init__(self, target: str, *, throttle: float = 0.1, partial: float = 0.0, seed: int = 0):
        parts = urlsplit(target)
        self.target_host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.throttle, self.partial = throttle, partial
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        #: requests seen, throttled, and answered in part
        self.counts = {"requests": 0, "throttled": 0, "partial": 0}
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> ThrottlingProxy:
        handler = type("_Bound", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(
            target=self._server.serve_forever, daemon=True, name="throttling-proxy"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ThrottlingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def draw(self) -> str:
        """ "throttle", "partial" or "forward" for the next request."""
        with self._lock:
            self.counts["requests"] += 1
            value = self._random.random()
            if value < self.throttle:
                self.counts["throttled"] += 1
                return "throttle"
            if value < self.throttle + self.partial:
                return "partial"
            return "forward"

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.target_host, self.target_port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _halve(requests: dict[str, list[Any]]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Split every table's list in two: the half to send, the half left unprocessed."""
    sent: dict[str, list[Any]] = {}
    left: dict[str, list[Any]] = {}
    for table, items in requests.items():
        middle = (len(items) + 1) // 2
        sent[table], left[table] = items[:middle], items[middle:]
    return sent, {t: items for t, items in left.items() if items}


class _Handler(BaseHTTPRequestHandler):
    proxy: ThrottlingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep output quiet
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Host"] = f"{self.proxy.target_host}:{self.proxy.target_port}"
        action = self.proxy.draw()
        if action == "throttle":
            self._throttled(target)
            return
        operation = target.removeprefix(_DYNAMODB) if target.startswith(_DYNAMODB) else ""
        if action == "partial" and operation in ("BatchWriteItem", "BatchGetItem"):
            self._partial(operation, headers, body)
            return
        status, reply_headers, reply = self.proxy.forward(self.command, self.path, headers, body)
        self._reply(status, reply_headers, reply)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815 - http.server names

    def _throttled(self, target: str) -> None:
        if target.startswith(_DYNAMODB):
            body = json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#"
                    "ProvisionedThroughputExceededException",
                    "message": "The level of configured provisioned throughput for the table was "
                    "exceeded (injected by ThrottlingProxy)",
                }
            ).encode()
            self._reply(400, [("Content-Type", "application/x-amz-json-1.0")], body)
            return
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate (injected by ThrottlingProxy)."
            b"</Message></Error>"
        )
        self._reply(503, [("Content-Type", "application/xml")], body)

    def _partial(self, operation: str, headers: dict[str, str], body: bytes) -> None:
        request = json.loads(body)
        key = "UnprocessedItems" if operation == "BatchWriteItem" else "UnprocessedKeys"
        if operation == "BatchWriteItem":
            sent, left = _halve(request["RequestItems"])
            request["RequestItems"] = sent
            unprocessed: dict[str, Any] = left
        else:
            tables = request["RequestItems"]
            keys = {t: spec["Keys"] for t, spec in tables.items()}
            sent, left = _halve(keys)
            request["RequestItems"] = {t: {**tables[t], "Keys": k} for t, k in sent.items()}
            unprocessed = {t: {**tables[t], "Keys": k} for t, k in left.items()}
        with self.proxy._lock:
            self.proxy.counts["partial"] += 1
        status, reply_headers, reply = self.proxy.forward(
            "POST", self.path, headers, json.dumps(request).encode()
        )
        if status == 200:
            answer = json.loads(reply or b"{}")
            answer[key] = unprocessed
            reply = json.dumps(answer).encode()
            reply_headers = [(k, v) for k, v in reply_headers if k.lower() != "x-amz-crc32"]
        self._reply(status, reply_headers, reply)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
