"""HTTP to the X API: tweepy clients on our host, X's retry protocol, errors mapped at the edge.

Pointing tweepy at another host: tweepy 4.x hard-codes ``https://api.twitter.com`` in
``BaseClient.request`` and ``StreamingClient._connect``. `XAdapter`, a `requests` transport
adapter mounted on tweepy's session, rewrites that prefix to the configured base URL (a gateway
or a local stand-in) just before sending. The same adapter adds the ``Authorization`` header, so
tweepy only ever holds a placeholder token and its debug log (which prints request headers)
never shows the secret.

`XTransport` is the one place tweepy and ``requests`` exceptions become the library's errors:
420/429 wait for ``x-rate-limit-reset``, 5xx / 408 / 409 and network errors back off on X's
schedule (`Backoff`) and are retried (these are the reconnects the X protocol defines, so they
are retried here and not by the runner), any other status is a `PermanentBackendError` with a
hint, and ``max_retries`` consecutive failures a `TransientBackendError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from adverse_events.errors import PermanentBackendError, TransientBackendError
from adverse_events.sources._resilience import Backoff

__all__ = ["NETWORK_ERRORS", "OFFICIAL_API", "Deadline", "XAdapter", "XTransport"]

log = logging.getLogger(__name__)

#: The official X API host (tweepy's hard-coded default).
OFFICIAL_API = "https://api.twitter.com"
#: The token tweepy holds: the real one is added by `XAdapter` just before sending.
PLACEHOLDER_TOKEN = "<set-by-adverse-events>"
#: ``requests`` errors that mean the connection failed or dropped (retried on X's schedule).
NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_HINTS = {
    401: "check the bearer token",
    403: "your X access tier may not include "
    "this endpoint (filtered stream needs Pro; recent search needs Basic)",
}


class Deadline:
    """When a bounded read must end (``max_seconds``): waits and retries stop at it."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.at: float | None = None

    def start(self, seconds: float | None) -> None:
        """Start counting `seconds` from now (None: no deadline)."""
        self.at = None if seconds is None else self.clock() + seconds

    def expired(self) -> bool:
        return self.at is not None and self.clock() >= self.at

    def cap(self, seconds: float, floor: float = 0.0) -> float:
        """`seconds`, or the time left when the deadline is nearer (never below `floor`)."""
        if self.at is None:
            return seconds
        return max(floor, min(seconds, self.at - self.clock()))


class XAdapter(HTTPAdapter):
    """Sends requests for the official host to `base_url`, with auth and a default timeout."""

    def __init__(self, base_url: str, token: Callable[[], str], timeout: float):
        super().__init__()
        self.base_url, self._token, self.timeout = base_url.rstrip("/"), token, timeout

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        if url.startswith(OFFICIAL_API) and self.base_url != OFFICIAL_API:
            request.url = self.base_url + url[len(OFFICIAL_API) :]
        request.headers["Authorization"] = f"Bearer {self._token()}"
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class XTransport:
    """tweepy clients pointed at `base_url`, and X's backoff around every call.

    Args:
        base_url: the API host (the official one, a gateway or a local stand-in).
        token: returns the bearer token (called per request; raises `ConfigError` when unset).
        request_timeout: default timeout of a request, in seconds.
        max_retries: consecutive failed attempts before giving up (None: never give up).
        deadline: retrying stops when it expires.
        backend: the backend name carried by the errors raised.
        sleep: how to wait (`time.sleep`; injectable for tests).
    """

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        request_timeout: float,
        max_retries: int | None,
        deadline: Deadline,
        backend: str,
        sleep: Callable[[float], None],
    ):
        self.base_url, self._token = base_url.rstrip("/"), token
        self.request_timeout, self.max_retries = request_timeout, max_retries
        self.deadline, self.backend, self._sleep = deadline, backend, sleep
        self._clients: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"XTransport(base_url={self.base_url!r}, bearer_token=<hidden>)"

    def client(self, kind: str) -> Any:
        """tweepy `Client` ("search") or `StreamingClient` ("rules"), pointed at our host."""
        if kind not in self._clients:
            self._token()  # fail early with a clear message when the token is missing
            cls = tweepy.StreamingClient if kind == "rules" else tweepy.Client
            client = cls(bearer_token=PLACEHOLDER_TOKEN, return_type=dict, wait_on_rate_limit=False)
            adapter = XAdapter(self.base_url, self._token, self.request_timeout)
            for prefix in {OFFICIAL_API + "/", self.base_url + "/"}:
                client.session.mount(prefix, adapter)
            self._clients[kind] = client
        return self._clients[kind]

    def close(self) -> None:
        """Close every client's session (idempotent)."""
        for client in self._clients.values():
            client.session.close()
        self._clients.clear()

    def new_backoff(self) -> Backoff:
        """A fresh X reconnect schedule that sleeps with our `sleep`."""
        return Backoff(sleep=self._sleep, clock=self.deadline.clock)

    def give_up(self, backoff: Backoff, what: str) -> None:
        """Raise `TransientBackendError` once `max_retries` consecutive attempts failed."""
        if self.max_retries is not None and backoff.failures > self.max_retries:
            raise TransientBackendError(
                f"gave up after {backoff.failures} failed attempts: {what}", backend=self.backend
            )

    def http_failure(
        self, status: int, headers: Mapping[str, str], body: str, backoff: Backoff
    ) -> None:
        """Wait as X asks after an HTTP error status, or raise when retrying cannot help."""
        if status in (420, 429):
            reset = headers.get("x-rate-limit-reset")
            reset_at = float(reset) if reset and reset.strip().isdigit() else None
            waited = backoff.rate_limited(reset_at)
            log.warning("X API rate limit (HTTP %s); waited %.1f s", status, waited)
        elif status >= 500 or status in (408, 409):
            waited = backoff.http_error()
            log.warning("X API HTTP %s; waited %.1f s before retrying", status, waited)
        else:
            raise PermanentBackendError(
                f"X API HTTP {status}: {body[:300]} ({_HINTS.get(status, 'not retried')})",
                backend=self.backend,
            )
        self.give_up(backoff, f"HTTP {status}")

    def call(self, backoff: Backoff, what: str, fn: Callable[[], Any]) -> Any:
        """Call tweepy with X's backoff for 429 / 5xx / network errors."""
        while True:
            try:
                result = fn()
                backoff.success()
                return result
            except tweepy.HTTPException as exc:
                response = exc.response
                self.http_failure(
                    response.status_code,
                    response.headers,
                    getattr(response, "text", "") or str(exc),
                    backoff,
                )
            except NETWORK_ERRORS as exc:
                waited = backoff.network_error()
                log.warning(
                    "%s: network error (%s); waited %.2f s", what, type(exc).__name__, waited
                )
                self.give_up(backoff, what)
            if self.deadline.expired():
                raise TransientBackendError(
                    f"{what}: max_seconds reached while retrying", backend=self.backend
                )
