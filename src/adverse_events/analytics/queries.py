"""The questions users ask of stored records, as SQL for DuckDB and Athena.

The SQL is written in the subset DuckDB and Athena (Trino) share, over the flat record row
(`adverse_events.schema.RECORDS`): ``CROSS JOIN UNNEST(...) WITH ORDINALITY``,
``arr[i]`` (1-based in both), ``cardinality``, ``date_trunc``, window functions. The same query
therefore runs on

* a DuckDB file written by `DuckDBSink` (tables ``adverse_events`` and ``dead_letters``),
* its Parquet export or the S3 layout read by DuckDB (`connect` makes views of those names),
* Athena over the S3 layout, with ``Queries(dialect="athena", records="db.table", ...)``.

**Drugs are counted by active ingredient** (the ``ingredients`` column: brands, spellings and
products of one ingredient count once; drug spans that resolved to no ingredient are left out),
or, with ``Queries(drugs="name")``, by the drug name as written (lower-cased). Rows written
before the ``ingredients`` column existed count by name. `Queries.brand_breakdown` lists the
names behind each ingredient, `Queries.unresolved_drugs` the spans that resolved to none.

The one dialect switch: with ``since`` set, Athena queries also filter the ``dt`` partition
column (the processing date, never before the creation date) so Athena prunes partitions.
Counts are of distinct posts. `connect` sets DuckDB's time zone to UTC so calendar periods are
UTC periods, as they are on Athena.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from adverse_events.errors import BackendError, ConfigError

__all__ = ["GRAINS", "Queries", "connect", "fetch"]

Dialect = Literal["duckdb", "athena"]
DrugKey = Literal["ingredient", "name"]
#: Per way of counting drugs: the SQL of a row's drug array.
_DRUG_ARRAYS = {"ingredient": "coalesce({t}ingredients, {t}drugs)", "name": "{t}drugs"}
#: Calendar periods a time axis can be truncated to.
GRAINS = ("day", "week", "month", "quarter", "year")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

#: Per event coding: the array of keys and the array of labels (same length, same order).
_EVENT_ARRAYS = {
    "icd10": ("icd10_codes", "icd10_descriptions"),
    "meddra_pt": ("meddra_pt_codes", "meddra_pt_names"),
    "mention": ("events", "events"),
}


@dataclass(frozen=True)
class Queries:
    """SQL text for one dialect and one pair of table names.

    `records` holds the flat record rows, `dead_letters` the dead-letter rows. On Athena they
    are the Glue tables over the S3 layout (``"adverse_events_db.lambda_predictions"``).
    `since` / `until` keep posts created on or after `since` and before `until` (UTC dates).
    `drugs`: count drugs by active ``ingredient`` (default) or by ``name`` as written.
    """

    dialect: Dialect = "duckdb"
    records: str = "adverse_events"
    dead_letters: str = "dead_letters"
    since: date | None = None
    until: date | None = None
    drugs: DrugKey = "ingredient"

    def __post_init__(self) -> None:
        if self.dialect not in ("duckdb", "athena"):
            raise ConfigError(f"dialect must be 'duckdb' or 'athena', got {self.dialect!r}")
        if self.drugs not in _DRUG_ARRAYS:
            raise ConfigError(f"drugs must be 'ingredient' or 'name', got {self.drugs!r}")
        for table in (self.records, self.dead_letters):
            if not _IDENTIFIER.match(table):
                raise ConfigError(f"table name must be [schema.]identifier, got {table!r}")

    # -- fragments ---------------------------------------------------------------------------

    def _drugs(self, table: str = "") -> str:
        """The drug array of a row of `table` (ingredients, or names as written)."""
        return _DRUG_ARRAYS[self.drugs].format(t=f"{table}." if table else "")

    def _period(self, column: str, grain: str) -> str:
        if grain not in GRAINS:
            raise ConfigError(f"grain must be one of {', '.join(GRAINS)}, got {grain!r}")
        return f"CAST(date_trunc('{grain}', {column}) AS DATE)"

    def _window(self, window: str) -> str:
        """A text label of the time window of ``created_at``: 'all' or the period's first day."""
        if window == "all":
            return "'all'"
        return f"CAST({self._period('created_at', window)} AS VARCHAR)"

    def _where(self, *conditions: str) -> str:
        """WHERE clause of the given conditions plus the `since`/`until` filter."""
        found = list(conditions)
        if self.since is not None:
            found.append(f"created_at >= TIMESTAMP '{self.since.isoformat()} 00:00:00'")
            if self.dialect == "athena":
                found.append(f"dt >= '{self.since.isoformat()}'")
        if self.until is not None:
            found.append(f"created_at < TIMESTAMP '{self.until.isoformat()} 00:00:00'")
        return f"WHERE {' AND '.join(found)}" if found else ""

    @staticmethod
    def _event_arrays(by: str) -> tuple[str, str]:
        if by not in _EVENT_ARRAYS:
            raise ConfigError(f"by must be one of {', '.join(_EVENT_ARRAYS)}, got {by!r}")
        return _EVENT_ARRAYS[by]

    def _post_events(self, by: str, source: str = "ae") -> str:
        """SELECT of distinct (post_id, event, label) rows of `source`."""
        keys, labels = self._event_arrays(by)
        if by == "mention":
            event = label = "lower(trim(e.event))"
        else:
            event, label = "e.event", f"{source}.{labels}[e.i]"
        return (
            f"SELECT DISTINCT {source}.post_id, {event} AS event, {label} AS label "
            f"FROM {source} CROSS JOIN UNNEST({source}.{keys}) WITH ORDINALITY AS e(event, i)"
        )

    def _ae(self, *conditions: str) -> str:
        return f"SELECT * FROM {self.records} {self._where('is_adverse_event', *conditions)}"

    # -- the questions -----------------------------------------------------------------------

    def summary(self) -> str:
        """One row: posts, AE posts, AE posts with a drug, drugs, first and last post."""
        return f"""
SELECT count(*) AS posts,
       count_if(is_adverse_event) AS ae_posts,
       count_if(is_adverse_event AND cardinality({self._drugs()}) > 0) AS ae_posts_with_drug,
       count_if(is_adverse_event AND cardinality(events) > 0) AS ae_posts_with_event,
       min(created_at) AS first_post, max(created_at) AS last_post,
       max(processed_at) AS last_processed
FROM {self.records}
{self._where()}""".strip()

    def ae_volume(self, grain: str = "day") -> str:
        """AE posts per period and drug (posts without a drug under '(no drug)')."""
        period = self._period("ae.created_at", grain)
        return f"""
WITH ae AS ({self._ae("created_at IS NOT NULL")})
SELECT {period} AS period, coalesce(d.drug, '(no drug)') AS drug,
       count(DISTINCT ae.post_id) AS posts
FROM ae LEFT JOIN UNNEST({self._drugs("ae")}) AS d(drug) ON TRUE
GROUP BY 1, 2
ORDER BY 1, 2""".strip()

    def top_events(self, by: str = "icd10", limit: int = 10) -> str:
        """The `limit` most frequent events per drug among AE posts, with their share."""
        return f"""
WITH ae AS ({self._ae()}),
post_drug AS (SELECT DISTINCT ae.post_id, d.drug
              FROM ae CROSS JOIN UNNEST({self._drugs("ae")}) AS d(drug)),
post_event AS ({self._post_events(by)}),
counts AS (
  SELECT pd.drug, pe.event, max(pe.label) AS label, count(*) AS posts
  FROM post_drug pd JOIN post_event pe ON pd.post_id = pe.post_id
  GROUP BY pd.drug, pe.event),
ranked AS (
  SELECT counts.*, row_number() OVER (PARTITION BY drug ORDER BY posts DESC, event) AS rank
  FROM counts)
SELECT drug, rank, event, label, posts FROM ranked
WHERE rank <= {int(limit)}
ORDER BY drug, rank""".strip()

    def drug_event_counts(self, by: str = "icd10") -> str:
        """AE posts per (drug, event) pair."""
        return f"""
WITH ae AS ({self._ae()}),
post_drug AS (SELECT DISTINCT ae.post_id, d.drug
              FROM ae CROSS JOIN UNNEST({self._drugs("ae")}) AS d(drug)),
post_event AS ({self._post_events(by)})
SELECT pd.drug, pe.event, max(pe.label) AS label, count(*) AS posts
FROM post_drug pd JOIN post_event pe ON pd.post_id = pe.post_id
GROUP BY pd.drug, pe.event
ORDER BY posts DESC, pd.drug, pe.event""".strip()

    def brand_breakdown(self) -> str:
        """AE posts per active ingredient(s) and drug name as written: the brands, spellings and
        products behind each ingredient (a combination product under "a + b")."""
        return f"""
WITH ae AS ({self._ae("drug_ingredients IS NOT NULL")})
SELECT ae.drug_ingredients[d.i] AS ingredients, d.name AS name,
       count(DISTINCT ae.post_id) AS posts
FROM ae CROSS JOIN UNNEST(ae.drugs) WITH ORDINALITY AS d(name, i)
WHERE ae.drug_ingredients[d.i] <> ''
GROUP BY 1, 2
ORDER BY 1, posts DESC, 2""".strip()

    def unresolved_drugs(self) -> str:
        """AE posts per drug span that resolved to no ingredient (left out of the counts)."""
        return f"""
WITH ae AS ({self._ae("drug_ingredients IS NOT NULL")})
SELECT d.name AS name, count(DISTINCT ae.post_id) AS posts
FROM ae CROSS JOIN UNNEST(ae.drugs) WITH ORDINALITY AS d(name, i)
WHERE ae.drug_ingredients[d.i] = ''
GROUP BY 1
ORDER BY posts DESC, 1""".strip()

    def recent_posts(self, limit: int = 50) -> str:
        """The newest AE posts with their drugs, events and codes."""
        return f"""
SELECT post_id, created_at, source, text, score, {self._drugs()} AS drugs, events,
       icd10_codes, icd10_descriptions, meddra_pt_codes, meddra_pt_names, model, extractor
FROM {self.records}
{self._where("is_adverse_event")}
ORDER BY created_at DESC NULLS LAST, post_id
LIMIT {int(limit)}""".strip()

    def score_distribution(self, bins: int = 20) -> str:
        """Posts per classifier-score bin (bin = lower edge), split by the AE decision."""
        bins = int(bins)
        if bins < 1:
            raise ConfigError(f"bins must be at least 1, got {bins}")
        return f"""
SELECT CAST(least(floor(score * {bins}), {bins - 1}) AS INTEGER) AS bin,
       CAST(least(floor(score * {bins}), {bins - 1}) AS DOUBLE) / {bins} AS lower_edge,
       is_adverse_event, count(*) AS posts
FROM {self.records}
{self._where("score IS NOT NULL")}
GROUP BY 1, 2, 3
ORDER BY 1, 3""".strip()

    def dead_letter_counts(self) -> str:
        """Dead letters per stage and reason."""
        return f"""
SELECT stage, reason, count(*) AS letters, max(failed_at) AS last_failed
FROM {self.dead_letters}
GROUP BY stage, reason
ORDER BY letters DESC, stage, reason""".strip()

    def provenance(self) -> str:
        """Which model, extractor and library version produced the records, and when."""
        return f"""
SELECT model, extractor, library_version, count(*) AS posts,
       min(processed_at) AS first_processed, max(processed_at) AS last_processed
FROM {self.records}
{self._where()}
GROUP BY model, extractor, library_version
ORDER BY posts DESC""".strip()

    def signal_counts(self, by: str = "icd10", window: str = "all") -> str:
        """Per window and co-reported (drug, event): a, n_drug, n_event and N of the 2x2 table.

        The population is AE posts with at least one drug and one event under `by`
        (see `adverse_events.analytics.signals`). b = n_drug - a, c = n_event - a,
        d = N - a - b - c.
        """
        dated = () if window == "all" else ("created_at IS NOT NULL",)
        return f"""
WITH ae AS (SELECT *, {self._window(window)} AS win FROM {self.records}
            {self._where("is_adverse_event", *dated)}),
post_drug AS (SELECT DISTINCT ae.win, ae.post_id, d.drug
              FROM ae CROSS JOIN UNNEST({self._drugs("ae")}) AS d(drug)),
post_event AS (SELECT DISTINCT ae.win, x.post_id, x.event, x.label
               FROM ({self._post_events(by)}) x JOIN ae ON x.post_id = ae.post_id),
universe AS (SELECT DISTINCT pd.win, pd.post_id
             FROM post_drug pd JOIN post_event pe ON pd.post_id = pe.post_id),
totals AS (SELECT win, count(*) AS n FROM universe GROUP BY win),
drug_n AS (SELECT pd.win, pd.drug, count(*) AS n_drug
           FROM post_drug pd JOIN universe u ON pd.post_id = u.post_id GROUP BY pd.win, pd.drug),
event_n AS (SELECT pe.win, pe.event, max(pe.label) AS label, count(*) AS n_event
            FROM post_event pe JOIN universe u ON pe.post_id = u.post_id
            GROUP BY pe.win, pe.event),
pairs AS (SELECT pd.win, pd.drug, pe.event, count(*) AS a
          FROM post_drug pd JOIN post_event pe ON pd.post_id = pe.post_id
          GROUP BY pd.win, pd.drug, pe.event)
SELECT p.win AS time_window, p.drug, p.event, en.label, p.a, dn.n_drug, en.n_event, t.n
FROM pairs p
JOIN drug_n dn ON dn.win = p.win AND dn.drug = p.drug
JOIN event_n en ON en.win = p.win AND en.event = p.event
JOIN totals t ON t.win = p.win
ORDER BY 1, 2, 3""".strip()

    def all_queries(self) -> dict[str, str]:
        """Every question with default arguments (for docs, Athena saved queries, tests)."""
        return {
            "summary": self.summary(),
            "ae_volume": self.ae_volume(),
            "top_events": self.top_events(),
            "drug_event_counts": self.drug_event_counts(),
            "brand_breakdown": self.brand_breakdown(),
            "unresolved_drugs": self.unresolved_drugs(),
            "recent_posts": self.recent_posts(),
            "score_distribution": self.score_distribution(),
            "dead_letter_counts": self.dead_letter_counts(),
            "provenance": self.provenance(),
            "signal_counts": self.signal_counts(),
        }


# -- DuckDB access ---------------------------------------------------------------------------

_EMPTY_DEAD_LETTERS = """
CREATE OR REPLACE TEMP VIEW dead_letters AS
SELECT CAST(NULL AS VARCHAR) AS dead_letter_id, CAST(NULL AS VARCHAR) AS stage,
       CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS payload,
       CAST(NULL AS VARCHAR) AS post_id, CAST(NULL AS VARCHAR) AS source,
       CAST(NULL AS BIGINT) AS line, CAST(NULL AS TIMESTAMPTZ) AS failed_at
WHERE false"""


def _parquet_glob(path: Path) -> str:
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _attach_parquet(conn: Any, path: Path) -> None:
    """Views `adverse_events` / `dead_letters` over a Parquet folder (Hive ``dt=`` partitions).

    A folder holding ``adverse_events/`` (and optionally ``dead_letters/``) is read as those
    tables; any other folder or glob is read as records only.
    """
    records, letters = path, None
    if path.is_dir() and (path / "adverse_events").is_dir():
        records = path / "adverse_events"
        letters = path / "dead_letters" if (path / "dead_letters").is_dir() else None
    read = "read_parquet({}, hive_partitioning = true, union_by_name = true)"
    conn.execute(
        "CREATE OR REPLACE TEMP VIEW adverse_events AS SELECT * FROM "
        + read.format(_sql_string(_parquet_glob(records)))
    )
    if letters is not None:
        conn.execute(
            "CREATE OR REPLACE TEMP VIEW dead_letters AS SELECT * FROM "
            + read.format(_sql_string(_parquet_glob(letters)))
        )
    else:
        conn.execute(_EMPTY_DEAD_LETTERS)


def _connect_file(path: str) -> Any:
    """Read only, unless this process already holds the file open read-write (a sink)."""
    import duckdb

    try:
        return duckdb.connect(path, read_only=True)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise
        return duckdb.connect(path)


def _open(db: str | os.PathLike[str]) -> Any:
    import duckdb

    text = str(db)
    path = Path(text)
    is_parquet = path.is_dir() or text.endswith(".parquet") or any(ch in text for ch in "*?[")
    if not is_parquet and not path.is_file():
        raise ConfigError(f"no database at {text!r}: give a DuckDB file or a Parquet folder")
    try:
        if is_parquet:
            conn = duckdb.connect(":memory:")
            conn.execute("SET TimeZone = 'UTC'")
            _attach_parquet(conn, path)
            conn.execute("SELECT 1 FROM adverse_events LIMIT 0")
        else:
            conn = _connect_file(text)
            conn.execute("SET TimeZone = 'UTC'")
            tables = {row[0] for row in conn.execute("SHOW TABLES").fetchall()}
            if "adverse_events" not in tables:
                conn.close()
                raise ConfigError(f"{text!r} has no adverse_events table: is it a DuckDBSink file?")
            if "dead_letters" not in tables:
                conn.execute(_EMPTY_DEAD_LETTERS)
    except duckdb.Error as exc:
        raise BackendError(f"cannot open {text!r}: {exc}", backend="duckdb") from exc
    return conn


@contextlib.contextmanager
def connect(db: str | os.PathLike[str] | Any) -> Iterator[Any]:
    """A DuckDB connection where `Queries()` runs: over a DuckDB file (read only), a Parquet
    folder or glob, or an open connection (used as is, not closed)."""
    if hasattr(db, "execute") and not isinstance(db, (str, os.PathLike)):
        db.execute("SET TimeZone = 'UTC'")
        yield db
        return
    conn = _open(db)
    try:
        yield conn
    finally:
        conn.close()


def fetch(conn: Any, sql: str) -> list[dict[str, Any]]:
    """Rows of `sql` as dicts; DuckDB errors become `BackendError`."""
    import duckdb

    try:
        cursor = conn.execute(sql)
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise BackendError(f"query failed: {exc}", backend="duckdb") from exc
