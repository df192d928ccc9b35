import duckdb
import pytest
from typer.testing import CliRunner

from adverse_events.cli import app

runner = CliRunner()

CONFIG = """
[source]
type = "jsonl"
path = "{posts}"
[classifier]
type = "keyword"
keywords = ["headache"]
[sink]
type = "duckdb"
path = "{db}"
"""


@pytest.fixture
def config(tmp_path):
    posts = tmp_path / "posts.jsonl"
    lines = [
        f'{{"post_id": "p{i}", "text": "post {i}{" headache" if i % 4 == 0 else ""}"}}'
        for i in range(200)
    ]
    lines[50] = '{"post_id": "p50", "text": '
    lines[120] = '{"post_id": "p120"}'
    posts.write_text("\n".join(lines) + "\n")
    path = tmp_path / "pipeline.toml"
    path.write_text(CONFIG.format(posts=posts, db=tmp_path / "ae.duckdb"))
    return path


def test_run_writes_every_valid_post_once_and_again_changes_nothing(config, keyword_registry):
    for _ in range(2):
        result = runner.invoke(app, ["run", str(config)])
        assert result.exit_code == 0, result.output
        assert "written" in result.output and "198" in result.output
        with duckdb.connect(str(config.parent / "ae.duckdb"), read_only=True) as conn:
            assert conn.execute(
                "SELECT count(*), count(DISTINCT post_id) FROM adverse_events"
            ).fetchone() == (198, 198)
            assert conn.execute("SELECT line FROM dead_letters ORDER BY line").fetchall() == [
                (51,),
                (121,),
            ]


def test_resume_flag_skips_stored_posts(config, keyword_registry):
    runner.invoke(app, ["run", str(config)])
    result = runner.invoke(app, ["run", str(config), "--resume"])
    assert result.exit_code == 0 and "skipped" in result.output and "198" in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[source]\ntype='jsonl'\npath='nope.jsonl'\n[classifier]\ntype='keyword'\n[sink]\n"
            "type='memory'\n",
            "no such file",
        ),
        ("[source]\ntype='jsonl'\n", "missing [classifier]"),
        ("not toml at all [", "not valid TOML"),
        (
            "[source]\ntype=1\n[classifier]\ntype='keyword'\n[sink]\ntype='memory'\n",
            "[source] type must be a backend name",
        ),
        (
            "[source]\ntype='jsonl'\npath='{posts}'\n[classifier]\ntype='keyword'\n[sink]\n"
            "type='dynamodb'\ntable=5\n",
            "sink 'dynamodb'",
        ),
    ],
)
def test_bad_config_is_one_clear_line_and_exit_2(tmp_path, keyword_registry, text, message):
    path = tmp_path / "bad.toml"
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"post_id": "1", "text": "x"}\n')
    path.write_text(text.replace("{posts}", str(posts)))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_config_path_that_is_a_directory_is_one_clear_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot read config file" in result.output and "Traceback" not in result.output


def test_backends_lists_roles_and_install_state():
    result = runner.invoke(app, ["backends"])
    assert result.exit_code == 0
    assert "duckdb" in result.output and "jsonl" in result.output and "installed" in result.output


def test_help_everywhere():
    for args in (["--help"], ["run", "--help"], ["backends", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_export_writes_partitioned_parquet(config, keyword_registry, tmp_path):
    runner.invoke(app, ["run", str(config)])
    out = tmp_path / "parquet"
    result = runner.invoke(
        app, ["export", "--db", str(config.parent / "ae.duckdb"), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert list((out / "adverse_events").glob("dt=*/*.parquet"))
    count = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out}/adverse_events/*/*.parquet', "
        "hive_partitioning=true)"
    ).fetchall()
    assert count == [(198,)]
    assert (out / "dead_letters.parquet").is_file()


def test_export_names_a_missing_database(tmp_path):
    result = runner.invoke(
        app, ["export", "--db", str(tmp_path / "no.duckdb"), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "no DuckDB file" in result.output


@pytest.mark.parametrize(
    "name", ["it's", 'quo"te', "semi;colon -- x", "spaced out", "o'brien's exports"]
)
def test_export_takes_any_output_path(config, keyword_registry, tmp_path, name):
    runner.invoke(app, ["run", str(config)])
    out = tmp_path / "out" / name
    result = runner.invoke(
        app, ["export", "--db", str(config.parent / "ae.duckdb"), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert list((out / "adverse_events").glob("dt=*/*.parquet"))
    assert (out / "dead_letters.parquet").is_file() and (out / "mentions.parquet").is_file()
    again = runner.invoke(
        app, ["export", "--db", str(config.parent / "ae.duckdb"), "--output", str(out)]
    )
    assert again.exit_code == 0, again.output


def test_export_of_a_database_that_is_no_sink_is_one_line_and_exit_2(tmp_path):
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    result = runner.invoke(app, ["export", "--db", str(other), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "cannot export" in result.output and "Traceback" not in result.output


def test_the_console_script_and_python_m_run_the_same_app():
    import subprocess
    import sys
    from pathlib import Path

    import adverse_events.cli

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '\nadverse-events = "adverse_events.cli:main"\n' in pyproject
    assert callable(adverse_events.cli.main)
    done = subprocess.run(
        [sys.executable, "-m", "adverse_events", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "train-extractor" in done.stdout
