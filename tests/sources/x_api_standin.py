"""A local stand-in for the X API v2 endpoints `TwitterSource` uses, over real HTTP.

Runs `http.server` in a thread on 127.0.0.1 (a free port). It implements:

* ``GET /2/tweets/search/stream``: chunked transfer encoding like X; each connection plays the
  next script from `stream_scripts` (tweets, raw text, keep-alive newlines, stalls, abrupt
  disconnects, an error status such as 429 with ``x-rate-limit-reset``); when the scripts run
  out, connections get keep-alives until the client hangs up.
* ``GET / POST /2/tweets/search/stream/rules``: list, add (with the length limit and duplicate
  check X applies) and delete rules.
* ``GET /2/tweets/search/recent``: newest first, ``since_id`` / ``until_id`` / ``start_time``,
  ``max_results`` and ``next_token`` pagination over `tweets`; `search_failures` queues error
  responses to return first.

Every request is recorded in `requests`. A wrong bearer token gets a 401 like X.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["BASE_TIME", "XApiStandIn", "make_tweet"]

#: Tweet n is created at BASE_TIME + n seconds: recent enough for a recent-search lookback.
BASE_TIME = int(time.time()) - 1800


def make_tweet(
    tweet_id: int,
    text: str,
    *,
    lang: str = "en",
    retweet: bool = False,
    quote: bool = False,
    author_id: str = "1001",
    **extra: Any,
) -> dict[str, Any]:
    """A tweet object as X API v2 returns it with the tweet fields the source asks for."""
    created = datetime.fromtimestamp(BASE_TIME + tweet_id, tz=timezone.utc)
    tweet: dict[str, Any] = {
        "id": str(tweet_id),
        "text": text,
        "lang": lang,
        "author_id": author_id,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conversation_id": str(tweet_id),
    }
    refs = []
    if retweet:
        refs.append({"type": "retweeted", "id": "42"})
        tweet["text"] = "RT @someone: " + text
    if quote:
        refs.append({"type": "quoted", "id": "43"})
    if refs:
        tweet["referenced_tweets"] = refs
    tweet.update(extra)
    return tweet


class XApiStandIn:
    """Start with `start()` (or as a context manager); `url` is its base URL."""

    def __init__(self, token: str = "test-token", rule_max_length: int = 512):
        self.token = token
        self.rule_max_length = rule_max_length
        self.rules: dict[str, dict[str, str]] = {}
        self.stream_scripts: list[list[tuple[Any, ...]]] = []
        self.idle_keepalive_seconds = 0.02
        self.tweets: list[dict[str, Any]] = []
        self.search_failures: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.stream_connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next_rule = 1000
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> XApiStandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="x-standin", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> XApiStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the stand-in is stopping."""
        return self._stop.wait(seconds)

    # -- rules ------------------------------------------------------------------------------------
    def add_rules(self, rules: list[dict[str, str]]) -> tuple[int, dict[str, Any]]:
        created, errors = [], []
        with self._lock:
            for rule in rules:
                value = rule.get("value", "")
                if len(value) > self.rule_max_length:
                    errors.append(
                        {
                            "value": value,
                            "title": "RuleTooLong",
                            "details": [f"Rule is longer than {self.rule_max_length}"],
                        }
                    )
                elif any(r["value"] == value for r in self.rules.values()):
                    errors.append(
                        {
                            "value": value,
                            "title": "DuplicateRule",
                            "id": next(i for i, r in self.rules.items() if r["value"] == value),
                        }
                    )
                else:
                    self._next_rule += 1
                    new = {"id": str(self._next_rule), "value": value}
                    if rule.get("tag"):
                        new["tag"] = rule["tag"]
                    self.rules[new["id"]] = new
                    created.append(new)
        body: dict[str, Any] = {
            "meta": {
                "sent": _now(),
                "summary": {
                    "created": len(created),
                    "not_created": len(errors),
                    "valid": len(created),
                    "invalid": len(errors),
                },
            }
        }
        if created:
            body["data"] = created
        if errors:
            body["errors"] = errors
        return 201, body

    def delete_rules(self, ids: list[str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            deleted = [i for i in ids if self.rules.pop(i, None) is not None]
        return 200, {
            "meta": {
                "sent": _now(),
                "summary": {"deleted": len(deleted), "not_deleted": len(ids) - len(deleted)},
            }
        }

    # -- recent search ----------------------------------------------------------------------------
    def search(self, params: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            if self.search_failures:
                return self.search_failures.pop(0)
            found = sorted(self.tweets, key=lambda t: int(t["id"]), reverse=True)
        if "since_id" in params:
            found = [t for t in found if int(t["id"]) > int(params["since_id"])]
        if "start_time" in params:
            start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00"))
            found = [
                t
                for t in found
                if datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) >= start
            ]
        for key in ("until_id", "next_token"):
            if key in params:
                found = [t for t in found if int(t["id"]) < int(params[key])]
        size = int(params.get("max_results", 10))
        page, rest = found[:size], found[size:]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if rest:
            meta["next_token"] = page[-1]["id"]
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
        return 200, {}, body

    def next_script(self) -> list[tuple[Any, ...]] | None:
        with self._lock:
            self.stream_connections += 1
            return self.stream_scripts.pop(0) if self.stream_scripts else None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Handler(BaseHTTPRequestHandler):
    standin: XApiStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    # -- helpers --------------------------------------------------------------------------------
    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.standin.token}":
            return True
        self._json(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        )
        return False

    def _record(self) -> tuple[str, dict[str, str]]:
        parsed = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.standin.requests.append((self.command, parsed.path, params))
        return parsed.path, params

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # -- routes ---------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path, params = self._record()
        if not self._authorised():
            return
        if path == "/2/tweets/search/stream/rules":
            rules = list(self.standin.rules.values())
            body: dict[str, Any] = {"meta": {"sent": _now(), "result_count": len(rules)}}
            if rules:
                body["data"] = rules
            self._json(200, body)
        elif path == "/2/tweets/search/recent":
            status, headers, body = self.standin.search(params)
            self._json(status, body, headers)
        elif path == "/2/tweets/search/stream":
            self._stream()
        else:
            self._json(404, {"title": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        path, _ = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        if not self._authorised():
            return
        if path != "/2/tweets/search/stream/rules":
            self._json(404, {"title": "Not Found"})
        elif "add" in payload:
            self._json(*self.standin.add_rules(payload["add"]))
        elif "delete" in payload:
            self._json(*self.standin.delete_rules(payload["delete"].get("ids", [])))
        else:
            self._json(400, {"title": "Invalid Request"})

    def _stream(self) -> None:
        script = self.standin.next_script()
        if script and script[0][0] == "status":
            _, status, headers, body = script[0]
            self._json(status, body, headers)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if script is None:
                while not self.standin.wait(self.standin.idle_keepalive_seconds):
                    self._chunk(b"\r\n")
                return
            for action, *args in script:
                if not self._play(action, args):
                    return
            self._chunk(b"\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _play(self, action: str, args: list[Any]) -> bool:
        """Play one scripted action; False ends the connection."""
        if action == "tweet":
            message = args[0] if "data" in args[0] else {"data": args[0]}
            self._chunk(json.dumps(message).encode() + b"\r\n")
        elif action == "raw":
            self._chunk(args[0].encode())
        elif action == "keepalive":
            self._chunk(b"\r\n")
        elif action == "stall":
            deadline = time.monotonic() + args[0]
            while time.monotonic() < deadline and not self.standin.wait(0.01):
                pass
        elif action == "close":  # abrupt: no terminating chunk
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        elif action == "end":  # clean end of the body
            self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
            return False
        else:  # pragma: no cover - a typo in a test script
            raise ValueError(f"unknown stand-in action {action!r}")
        return True
