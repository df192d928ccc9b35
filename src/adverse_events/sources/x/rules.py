"""Filtered-stream rules: built from the drug vocabulary, kept in step with X idempotently.

Rules (stream mode) and queries (search mode) are the same strings: the vocabulary's terms
joined with ``OR`` (`build_queries`, split to respect the rule length limit) followed by the
filters (``lang:en -is:retweet``). `sync_stream_rules` adds the rules that are missing, deletes
stale ones (and, unless asked to keep them, rules with other tags, whose posts would flow into
this source) through tweepy's `StreamingClient` rule methods, and sends nothing when the rules
already match.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import tweepy

from adverse_events.errors import PermanentBackendError
from adverse_events.sources._resilience import Backoff
from adverse_events.sources._social import build_queries
from adverse_events.sources.x.transport import XTransport

__all__ = ["desired_rules", "filter_suffix", "queries_for", "sync_stream_rules"]

log = logging.getLogger(__name__)


def filter_suffix(lang: str | None, retweets: str, quotes: str) -> str:
    """The operators every rule and query ends with, e.g. ``lang:en -is:retweet``."""
    parts = (
        f"lang:{lang}" if lang else "",
        "-is:retweet" if retweets == "drop" else "",
        "-is:quote" if quotes == "drop" else "",
    )
    return " ".join(part for part in parts if part)


def queries_for(
    terms: Sequence[str], suffix: str, max_length: int, rules: Sequence[str] | None = None
) -> list[str]:
    """Your own `rules` when given, else the vocabulary `terms` as rules of `max_length`."""
    return list(rules) if rules else build_queries(terms, suffix, max_length)


def desired_rules(queries: Sequence[str], rule_tag: str) -> dict[str, str]:
    """rule value -> tag (``<rule_tag>:1``, ``<rule_tag>:2``, ...), one per query."""
    return {value: f"{rule_tag}:{index}" for index, value in enumerate(queries, start=1)}


def sync_stream_rules(
    transport: XTransport,
    desired: Mapping[str, str],
    backoff: Backoff,
    *,
    rule_tag: str,
    keep_foreign_rules: bool,
) -> dict[str, list[str]]:
    """Make the stream's rules match `desired` (value -> tag): add missing, delete stale.

    Returns ``{"added": [values], "deleted": [values], "kept": [values]}``. Running it twice
    changes nothing the second time.
    """
    client = transport.client("rules")
    current = transport.call(backoff, "list rules", client.get_rules).get("data") or []
    stale = _stale(current, desired, rule_tag, keep_foreign_rules)
    kept = {r["value"] for r in current if r not in stale}
    if stale:
        ids = [str(rule["id"]) for rule in stale]
        _check(
            transport.call(backoff, "delete rules", lambda: client.delete_rules(ids)),
            transport.backend,
        )
    missing = [tweepy.StreamRule(value=v, tag=t) for v, t in desired.items() if v not in kept]
    if missing:
        _check(
            transport.call(backoff, "add rules", lambda: client.add_rules(missing)),
            transport.backend,
        )
    summary = {
        "added": [r.value for r in missing],
        "deleted": [r["value"] for r in stale],
        "kept": sorted(kept),
    }
    log.info(
        "stream rules: %d added, %d deleted, %d kept",
        len(summary["added"]),
        len(summary["deleted"]),
        len(summary["kept"]),
    )
    return summary


def _stale(
    current: Sequence[Any], desired: Mapping[str, str], rule_tag: str, keep_foreign_rules: bool
) -> list[Any]:
    """The rules on the stream (X's rule objects) that are not wanted: another value or tag
    (rules with a foreign tag are spared on request)."""
    stale = [
        rule
        for rule in current
        if rule.get("value") not in desired or rule.get("tag") != desired[rule.get("value")]
    ]
    if keep_foreign_rules:
        stale = [r for r in stale if str(r.get("tag", "")).startswith(rule_tag)]
    return stale


def _check(response: Mapping[str, Any], backend: str) -> None:
    """Raise `PermanentBackendError` for rule errors other than ``DuplicateRule``."""
    errors = [e for e in response.get("errors") or [] if e.get("title") != "DuplicateRule"]
    if errors:
        detail = "; ".join(str(e.get("details") or e.get("title") or e) for e in errors)
        raise PermanentBackendError(f"X rejected stream rules: {detail}", backend=backend)
