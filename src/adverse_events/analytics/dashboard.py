"""One self-contained HTML dashboard over stored records: opens offline, from disk, anywhere.

Aggregates are computed in SQL (DuckDB) and shipped as compact columnar JSON, with a capped
sample of posts: per period, drug and event the co-report counts and the 2x2 margins, so the
page recomputes the disproportionality table for any date range in the browser with the same
formulas as `adverse_events.analytics.signals`. Plotly.js is inlined (no CDN), so the file has no
network dependency. Size grows with pairs x periods, not with posts.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from adverse_events.analytics.queries import Queries, connect, fetch
from adverse_events.analytics.signals import (
    EVENT_KEYS,
    MIN_CASES,
    disproportionality,
    signals_from_counts,
)
from adverse_events.errors import ConfigError
from adverse_events.version import library_version

__all__ = ["build_dashboard_data", "render_dashboard", "write_dashboard"]

_BY_LABEL = {"icd10": "ICD-10-CM", "meddra_pt": "MedDRA PT", "mention": "mention text"}
#: Grains tried in order when "auto"; a finer one is kept while the pair rows stay under the cap.
_GRAIN_SPAN_DAYS = (("day", 120), ("week", 3 * 366), ("month", 100 * 366))
_MAX_PAIR_ROWS = 60_000
_SCORE_BINS = 20
_TEXT_CHARS = 400


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _auto_by(conn: Any) -> str:
    [row] = fetch(
        conn,
        """SELECT count_if(cardinality(icd10_codes) > 0) AS icd10,
                                  count_if(cardinality(meddra_pt_codes) > 0) AS meddra_pt
                           FROM adverse_events WHERE is_adverse_event""",
    )
    if row["icd10"]:
        return "icd10"
    return "meddra_pt" if row["meddra_pt"] else "mention"


def _auto_grain(summary: dict[str, Any]) -> str:
    first, last = summary["first_post"], summary["last_post"]
    if first is None or last is None:
        return "day"
    span = (last - first).days
    return next((g for g, days in _GRAIN_SPAN_DAYS if span <= days), "year")


def _coarser(grain: str) -> str | None:
    order = ("day", "week", "month", "quarter", "year")
    index = order.index(grain)
    return order[index + 1] if index + 1 < len(order) else None


def _columnar(rows: list[tuple[Any, ...]], names: str) -> dict[str, list[Any]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _posts_sql(queries: Queries, by: str, posts_per_pair: int, recent: int, max_posts: int) -> str:
    keys = {"icd10": "icd10_codes", "meddra_pt": "meddra_pt_codes", "mention": "events"}[by]
    key = "lower(trim(k.key))" if by == "mention" else "k.key"
    return f"""
WITH ae AS (SELECT post_id, created_at, text, score, {queries._drugs()} AS drugs, {keys} AS keys
            FROM adverse_events WHERE is_adverse_event AND created_at IS NOT NULL),
pairs AS (SELECT ae.post_id, ae.created_at, d.drug, {key} AS key
          FROM ae CROSS JOIN UNNEST(ae.drugs) AS d(drug) CROSS JOIN UNNEST(ae.keys) AS k(key)),
ranked AS (SELECT post_id, row_number() OVER (PARTITION BY drug, key
                                              ORDER BY created_at DESC, post_id) AS r FROM pairs),
picked AS (SELECT post_id FROM ranked WHERE r <= {int(posts_per_pair)}
           UNION SELECT post_id FROM (SELECT post_id FROM ae
                                      ORDER BY created_at DESC, post_id LIMIT {int(recent)}))
SELECT post_id, created_at, left(text, {_TEXT_CHARS}) AS text, score, drugs, keys
FROM ae WHERE post_id IN (SELECT post_id FROM picked)
ORDER BY created_at DESC, post_id
LIMIT {int(max_posts)}"""


def build_dashboard_data(
    db: str | os.PathLike[str] | Any,
    by: str = "auto",
    grain: str = "auto",
    posts_per_pair: int = 10,
    recent_posts: int = 500,
    max_posts: int = 5000,
    min_cases: int = MIN_CASES,
    drugs: str = "ingredient",
) -> dict[str, Any]:
    """The JSON the page renders: aggregates per period, margins, a post sample, provenance.

    `min_cases` is the page's initial minimum case count of every screening rule (the reader
    can change it on the page). `drugs`: count by active ``ingredient`` (default) or by
    ``name`` as written; the page also lists the names behind each ingredient and the drug
    spans that resolved to none.
    """
    if by != "auto" and by not in EVENT_KEYS:
        raise ConfigError(f"by must be auto or one of {', '.join(EVENT_KEYS)}, got {by!r}")
    disproportionality(1, 1, 1, 1, min_cases=min_cases)  # validates min_cases
    queries = Queries(drugs=drugs)  # type: ignore[arg-type]
    with connect(db) as conn:
        [summary] = fetch(conn, queries.summary())
        by = _auto_by(conn) if by == "auto" else by
        grain = _auto_grain(summary) if grain == "auto" else grain
        counts = fetch(conn, queries.signal_counts(by=by, window=grain))
        while len(counts) > _MAX_PAIR_ROWS and _coarser(grain):
            grain = _coarser(grain) or grain
            counts = fetch(conn, queries.signal_counts(by=by, window=grain))
        volume = fetch(conn, queries.ae_volume(grain=grain))
        scores = fetch(conn, queries.score_distribution(bins=_SCORE_BINS))
        provenance = fetch(conn, queries.provenance())
        dead_letters = fetch(conn, queries.dead_letter_counts())
        posts = fetch(conn, _posts_sql(queries, by, posts_per_pair, recent_posts, max_posts))
        brands = fetch(conn, queries.brand_breakdown())
        unresolved = fetch(conn, queries.unresolved_drugs())
    data = _assemble(
        db,
        by,
        grain,
        summary,
        counts,
        volume,
        scores,
        provenance,
        dead_letters,
        posts,
        posts_per_pair,
        min_cases,
    )
    data["meta"]["drugs"] = drugs
    data["brands"] = brands
    data["unresolved_drugs"] = unresolved
    return data


def _assemble(
    db: Any,
    by: str,
    grain: str,
    summary: dict[str, Any],
    counts: list[dict[str, Any]],
    volume: list[dict[str, Any]],
    scores: list[dict[str, Any]],
    provenance: list[dict[str, Any]],
    dead_letters: list[dict[str, Any]],
    posts: list[dict[str, Any]],
    posts_per_pair: int,
    min_cases: int = MIN_CASES,
) -> dict[str, Any]:
    periods = sorted({str(r["time_window"]) for r in counts} | {_iso(r["period"]) for r in volume})
    period_index = {p: i for i, p in enumerate(periods)}
    drug_posts: dict[str, int] = defaultdict(int)
    for r in volume:
        if r["drug"] != "(no drug)":
            drug_posts[r["drug"]] += r["posts"]
    drugs = sorted(drug_posts, key=lambda d: (-drug_posts[d], d))
    drug_index = {d: i for i, d in enumerate(drugs)}
    event_posts: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    for r in counts:
        event_posts[r["event"]] += r["a"]
        labels[r["event"]] = r["label"] or r["event"]
    events = sorted(event_posts, key=lambda e: (-event_posts[e], e))
    event_index = {e: i for i, e in enumerate(events)}

    pairs, drug_margin, event_margin, totals = [], {}, {}, {}
    overall: dict[tuple[str, str], list[int]] = {}
    for r in counts:
        p = period_index[str(r["time_window"])]
        d, e = drug_index[r["drug"]], event_index[r["event"]]
        pairs.append((p, d, e, r["a"]))
        drug_margin[(p, d)] = r["n_drug"]
        event_margin[(p, e)] = r["n_event"]
        totals[p] = r["n"]
        overall.setdefault((r["drug"], r["event"]), [0])[0] += r["a"]
    reference = _reference_signals(
        overall, drug_margin, event_margin, totals, drugs, events, labels, min_cases
    )

    def normalise(key: str) -> str:
        return key.strip().lower() if by == "mention" else key

    sample = [
        {
            "post_id": r["post_id"],
            "created_at": _iso(r["created_at"]),
            "period": _period_of(r["created_at"], grain, period_index),
            "text": r["text"],
            "score": r["score"],
            "drugs": [drug_index[d] for d in r["drugs"] if d in drug_index],
            "events": sorted(
                {event_index[k] for k in map(normalise, r["keys"]) if k in event_index}
            ),
        }
        for r in posts
    ]
    population = sum(totals.values())
    return {
        "meta": {
            "source": str(db) if isinstance(db, (str, os.PathLike)) else "DuckDB connection",
            "generated_at": _iso(datetime.now(timezone.utc)),
            "library_version": library_version(),
            "by": by,
            "by_label": _BY_LABEL[by],
            "grain": grain,
            "score_bins": _SCORE_BINS,
            "posts_per_pair": posts_per_pair,
            "min_cases": min_cases,
            "summary": {**{k: _iso(v) for k, v in summary.items()}, "population": population},
            "provenance": [{k: _iso(v) for k, v in r.items()} for r in provenance],
            "dead_letters": [{k: _iso(v) for k, v in r.items()} for r in dead_letters],
            "dead_letter_total": sum(r["letters"] for r in dead_letters),
        },
        "periods": periods,
        "drugs": drugs,
        "events": [[e, labels[e]] for e in events],
        "volume": _columnar(
            [
                (period_index[_iso(r["period"])], drug_index.get(r["drug"], -1), r["posts"])
                for r in volume
            ],
            "pdn",
        ),
        "pairs": _columnar(pairs, "pden"),
        "drug_margin": _columnar([(p, d, n) for (p, d), n in drug_margin.items()], "pdn"),
        "event_margin": _columnar([(p, e, n) for (p, e), n in event_margin.items()], "pen"),
        "totals": _columnar(sorted(totals.items()), "pn"),
        "scores": scores,
        "posts": sample,
        "reference_signals": reference,
    }


def _period_of(created: datetime, grain: str, period_index: dict[str, int]) -> int:
    """Index of the period (UTC calendar `grain`) a post falls in; -1 when outside the axis."""
    day = created.astimezone(timezone.utc).date()
    if grain == "week":
        day = date.fromordinal(day.toordinal() - day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    elif grain == "quarter":
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif grain == "year":
        day = day.replace(month=1, day=1)
    return period_index.get(day.isoformat(), -1)


def _reference_signals(
    overall: dict[tuple[str, str], list[int]],
    drug_margin: dict[tuple[int, int], int],
    event_margin: dict[tuple[int, int], int],
    totals: dict[int, int],
    drugs: list[str],
    events: list[str],
    labels: dict[str, str],
    min_cases: int = MIN_CASES,
) -> list[dict[str, Any]]:
    """Python-computed statistics over the whole axis (the page's default view), for checks."""
    n_drug: dict[int, int] = defaultdict(int)
    n_event: dict[int, int] = defaultdict(int)
    for (_, d), n in drug_margin.items():
        n_drug[d] += n
    for (_, e), n in event_margin.items():
        n_event[e] += n
    n = sum(totals.values())
    drug_index = {d: i for i, d in enumerate(drugs)}
    event_index = {e: i for i, e in enumerate(events)}
    rows = [
        ("all", d, e, labels[e], a, n_drug[drug_index[d]], n_event[event_index[e]], n)
        for (d, e), [a] in overall.items()
    ]
    return [
        {
            "drug": s.drug,
            "event": s.event,
            "a": s.stats.a,
            "prr": s.stats.prr,
            "prr_lower": s.stats.prr_lower,
            "ror": s.stats.ror,
            "chi2": s.stats.chi2,
            "ic": s.stats.ic,
            "ic025": s.stats.ic025,
            "evans": s.stats.evans,
            "ror_signal": s.stats.ror_signal,
            "ic_signal": s.stats.ic_signal,
        }
        for s in signals_from_counts(rows, min_cases=min_cases)
    ]


def render_dashboard(data: dict[str, Any]) -> str:
    """The page: template + inlined Plotly.js + inlined JSON data."""
    from plotly.offline import get_plotlyjs

    template = (
        resources.files("adverse_events.analytics")
        .joinpath("templates/dashboard.html")
        .read_text(encoding="utf-8")
    )
    payload = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    payload = payload.replace("<", "\\u003c")  # no "</script>" can end the JSON block early
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    head, rest = template.split("/*__PLOTLY__*/", 1)
    middle, tail = rest.split("__DATA__", 1)
    return head + plotly_js + middle + payload + tail


def write_dashboard(
    db: str | os.PathLike[str] | Any, output: str | os.PathLike[str], **options: Any
) -> Path:
    """Build the dashboard of `db` (DuckDB file or Parquet folder) into the HTML file `output`."""
    try:
        import plotly  # noqa: F401
    except ImportError as exc:
        from adverse_events.errors import PluginError

        raise PluginError("the dashboard needs: pip install 'adverse-events[dashboard]'") from exc
    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"output must be an .html file, got {out.name!r}")
    html = render_dashboard(build_dashboard_data(db, **options))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
