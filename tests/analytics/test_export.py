"""`analytics.export.export_parquet`: a DuckDB sink file as the S3/Athena Parquet layout."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adverse_events.analytics.export import CHILD_TABLES, export_parquet
from adverse_events.analytics.queries import Queries, connect, fetch
from adverse_events.errors import BackendError, ConfigError

pytestmark = pytest.mark.integration


def test_exports_to_a_path_with_a_quote_and_a_space(synthetic_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "it's a folder" / "o'brien exports"
    count = export_parquet(synthetic_db, out)
    with duckdb.connect(str(synthetic_db), read_only=True) as conn:
        stored = conn.execute("SELECT count(*) FROM adverse_events").fetchone()
    assert stored is not None and count == stored[0] > 0
    assert list((out / "adverse_events").glob("dt=*/*.parquet"))
    for table in CHILD_TABLES:
        assert (out / f"{table}.parquet").is_file()
    with connect(out) as conn:  # the analytics read the export as they read the file
        [summary] = fetch(conn, Queries().summary())
    assert summary["posts"] == count
    assert export_parquet(synthetic_db, out) == count  # again: the records folder is replaced


def test_a_missing_file_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no DuckDB file at .*run a pipeline with a duckdb sink"):
        export_parquet(tmp_path / "no.duckdb", tmp_path / "out")


def test_a_database_without_sink_tables_is_a_backend_error(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(BackendError, match="cannot export"):
        export_parquet(other, tmp_path / "out")
