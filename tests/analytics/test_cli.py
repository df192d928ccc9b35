"""`adverse-events report | signals | dashboard`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from adverse_events.cli import app

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_report_prints_key_numbers(synthetic_db: Path) -> None:
    result = runner.invoke(
        app, ["report", "--db", str(synthetic_db), "--top", "3"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    for text in (
        "ae_posts",
        "sertraline",
        "G47.00",
        "Evans",
        "synthetic-mock-classifier/1.0",
        "text field 'text' is missing",
    ):
        assert text in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_signals_exports(synthetic_db: Path, tmp_path: Path, suffix: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = tmp_path / f"signals{suffix}"
    result = runner.invoke(
        app,
        [
            "signals",
            "--db",
            str(synthetic_db),
            "--by",
            "mention",
            "--window",
            "month",
            "--only-signals",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pacsv.read_csv(out) if suffix == ".csv" else pq.read_table(out)
    rows = table.to_pylist()
    assert rows and all(r["any_signal"] for r in rows)
    assert {str(r["window"]) for r in rows} >= {"2024-06-01"}  # CSV reader parses dates
    assert ("sertraline", "insomnia") in {(r["drug"], r["event"]) for r in rows}


def test_signals_min_cases_option(synthetic_db: Path, tmp_path: Path) -> None:
    import pyarrow.csv as pacsv

    out = tmp_path / "signals.csv"
    result = runner.invoke(
        app, ["signals", "--db", str(synthetic_db), "--min-cases", "100000", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = pacsv.read_csv(out).to_pylist()
    assert rows and not any(r["any_signal"] for r in rows)
    assert {r["min_cases"] for r in rows} == {100000}
    report = runner.invoke(
        app, ["report", "--db", str(synthetic_db), "--min-cases", "100000"], env={"COLUMNS": "160"}
    )
    assert report.exit_code == 0, report.output
    assert "signals: 0 of" in report.output
    bad = runner.invoke(app, ["signals", "--db", str(synthetic_db), "--min-cases", "0"])
    assert bad.exit_code == 2 and "min_cases" in bad.output


def test_dashboard_command(synthetic_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["dashboard", "--db", str(synthetic_db), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 3_000_000
    strict = tmp_path / "strict.html"
    result = runner.invoke(
        app, ["dashboard", "--db", str(synthetic_db), "--output", str(strict), "--min-cases", "7"]
    )
    assert result.exit_code == 0, result.output
    assert '"min_cases":7' in strict.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["signals", "--db", "missing.duckdb"], "no database"),
        (["signals", "--db", "{db}", "--window", "fortnight"], "window must be"),
        (["signals", "--db", "{db}", "--output", "x.xlsx"], ".csv or .parquet"),
        (["dashboard", "--db", "{db}", "--output", "x.pdf"], ".html"),
        (["report", "--db", "{db}", "--by", "snomed"], "by must be"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(synthetic_db: Path, args: list, message: str) -> None:
    result = runner.invoke(app, [a.format(db=synthetic_db) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
