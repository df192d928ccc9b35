"""The Athena DDL matches what S3Sink writes, and the CLI prints it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from typer.testing import CliRunner

from adverse_events.aws.athena import DEAD_LETTER_COLUMNS, RECORD_COLUMNS, athena_ddl
from adverse_events.cli import app
from adverse_events.errors import ConfigError

pytestmark = pytest.mark.unit
pa = pytest.importorskip("pyarrow")

_HIVE = {
    pa.string(): "string",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.int64(): "bigint",
    pa.timestamp("us", tz="UTC"): "timestamp",
    pa.list_(pa.string()): "array<string>",
}


def test_columns_match_the_arrow_schemas_the_sink_writes():
    from adverse_events.schema import DEAD_LETTERS, RECORDS

    records, letters = RECORDS.arrow_schema(), DEAD_LETTERS.arrow_schema()
    assert [(f.name, _HIVE[f.type]) for f in records] == list(RECORD_COLUMNS)
    assert [(f.name, _HIVE[f.type]) for f in letters] == list(DEAD_LETTER_COLUMNS)


def test_ddl_projects_dt_partitions_under_the_prefix():
    ddl = athena_ddl("my-bucket", "lambda_predictions/", start=date(2024, 5, 1))
    assert "LOCATION 's3://my-bucket/lambda_predictions/'" in ddl
    assert "'storage.location.template' = 's3://my-bucket/lambda_predictions/dt=${dt}/'" in ddl
    assert "'projection.dt.range' = '2024-05-01,NOW'" in ddl
    assert "PARTITIONED BY (`dt` string)" in ddl and "STORED AS PARQUET" in ddl
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS adverse_events.predictions_dead_letters" in ddl
    assert "`" not in ddl.split("CREATE OR REPLACE VIEW")[1].split(";")[0]
    assert len(re.findall(r";\n", ddl)) == 4


def test_jsonl_uses_the_json_serde_and_text_timestamps():
    ddl = athena_ddl("b", format="jsonl", dead_letter_prefix=None)
    assert "org.openx.data.jsonserde.JsonSerDe" in ddl and "timestamp" not in ddl
    assert "dead_letters" not in ddl


def test_latest_view_query_runs_on_the_written_layout(tmp_path):
    """The view's SELECT runs (in DuckDB, over Parquet in the dt= layout) and dedups."""
    duckdb = pytest.importorskip("duckdb")
    import pyarrow.parquet as pq

    from adverse_events.schema import records_table
    from adverse_events.testing import make_record

    for day, score in (("2024-05-01", 0.9), ("2024-05-02", 0.3)):
        (tmp_path / f"dt={day}").mkdir()
        pq.write_table(
            records_table(
                [
                    make_record("a", score=score, processed_at=date.fromisoformat(day)),
                    make_record(f"b{day}"),
                ]
            ),
            tmp_path / f"dt={day}" / "part-x.parquet",
        )
    ddl = athena_ddl("b")
    view = ddl.split("CREATE OR REPLACE VIEW adverse_events.predictions_latest AS\n")[1]
    query = view.split(";")[0].replace("adverse_events.predictions", "predictions")
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW predictions AS SELECT * FROM read_parquet("
        f"'{tmp_path}/*/*.parquet', hive_partitioning = true)"
    )
    rows = con.execute(f"SELECT post_id, score, dt FROM ({query}) ORDER BY post_id").fetchall()
    assert [r[0] for r in rows] == ["a", "b2024-05-01", "b2024-05-02"]
    assert rows[0][1] == pytest.approx(0.3) and str(rows[0][2]) == "2024-05-02"


def test_bad_names_are_config_errors():
    with pytest.raises(ConfigError):
        athena_ddl("b", table="Drop Table")
    with pytest.raises(ConfigError):
        athena_ddl("s3://b")


def test_cli_prints_the_ddl():
    result = CliRunner().invoke(app, ["athena-ddl", "--bucket", "my-bucket", "--table", "ae"])
    assert result.exit_code == 0, result.output
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS adverse_events.ae (" in result.output
    bad = CliRunner().invoke(app, ["athena-ddl", "--bucket", "b", "--start", "yesterday"])
    assert bad.exit_code == 2 and "--start" in bad.output
