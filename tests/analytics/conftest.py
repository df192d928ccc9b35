"""Shared fixtures: a DuckDB file of synthetic posts (planted signals) built by the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("duckdb")


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic posts (6 dead letters) through Pipeline -> MockClassifier/MockExtractor
    -> DuckDBSink. Session-scoped: tests only read it."""
    from adverse_events.analytics.synthetic import build_database

    path = tmp_path_factory.mktemp("analytics") / "ae.duckdb"
    report = build_database(path, n=3000, seed=7, bad_every=500)
    assert report.written > 2000 and report.dead_lettered == 6
    return path


@pytest.fixture(scope="session")
def parquet_export(synthetic_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic DuckDB file exported as the S3 layout: Parquet, Hive `dt=` partitions by
    processing date, `adverse_events/` and `dead_letters/` folders."""
    import duckdb

    root = tmp_path_factory.mktemp("s3layout")
    conn = duckdb.connect(str(synthetic_db), read_only=True)
    conn.execute("SET TimeZone = 'UTC'")
    for table, column in (("adverse_events", "processed_at"), ("dead_letters", "failed_at")):
        target = str(root / table).replace("'", "''")
        conn.execute(
            f"COPY (SELECT *, CAST(CAST({column} AS DATE) AS VARCHAR) AS dt FROM {table}) "
            f"TO '{target}' (FORMAT parquet, PARTITION_BY (dt))"
        )
    conn.close()
    return root
