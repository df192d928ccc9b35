"""The dashboard file: self-contained, data consistent with the SQL and the signal module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from adverse_events.analytics.dashboard import (
    build_dashboard_data,
    render_dashboard,
    write_dashboard,
)
from adverse_events.analytics.signals import signals
from adverse_events.errors import ConfigError

pytest.importorskip("plotly")
pytestmark = pytest.mark.integration


def embedded(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S
    )
    assert match
    return json.loads(match.group(1))


def test_file_is_self_contained(synthetic_db: Path, tmp_path: Path) -> None:
    html = write_dashboard(synthetic_db, tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", html)  # every script inlined
    assert not re.search(r"<link[^>]+href=", html)
    assert "Plotly" in html and len(html) > 3_000_000  # plotly.js is inside
    data = embedded(html)
    assert data["meta"]["by"] == "icd10" and data["meta"]["grain"] == "week"
    assert data["drugs"][0] == "atorvastatin"  # the most reported drug first


def test_aggregates_match_the_signal_module(synthetic_db: Path) -> None:
    data = build_dashboard_data(synthetic_db)
    expected = {(s.drug, s.event): s for s in signals(synthetic_db, by="icd10")}
    reference = {(r["drug"], r["event"]): r for r in data["reference_signals"]}
    assert set(reference) == set(expected)
    for key, row in reference.items():
        assert row["a"] == expected[key].stats.a
        assert row["prr"] == pytest.approx(expected[key].stats.prr)
        assert row["ic025"] == pytest.approx(expected[key].stats.ic025)
    assert sum(data["pairs"]["n"]) == sum(s.stats.a for s in expected.values())
    assert sum(data["totals"]["n"]) == next(iter(expected.values())).n
    assert data["meta"]["dead_letter_total"] == 6


def test_min_cases_reaches_the_page_and_the_reference(synthetic_db: Path) -> None:
    data = build_dashboard_data(synthetic_db, min_cases=100_000)
    assert data["meta"]["min_cases"] == 100_000
    assert data["reference_signals"] and not any(
        r["evans"] or r["ror_signal"] or r["ic_signal"] for r in data["reference_signals"]
    )
    assert build_dashboard_data(synthetic_db)["meta"]["min_cases"] == 3
    with pytest.raises(ConfigError, match="min_cases"):
        build_dashboard_data(synthetic_db, min_cases=0)


def _page_disproportionality() -> str:
    """The page's `disproportionality` function, as JavaScript source."""
    from importlib import resources

    template = (
        resources.files("adverse_events.analytics")
        .joinpath("templates/dashboard.html")
        .read_text(encoding="utf-8")
    )
    start = template.index("function disproportionality(")
    end = template.index("\n}\n", start) + 3
    return template[start:end]


@pytest.mark.parametrize("min_cases", [2, 3])
def test_page_rules_match_python_at_two_and_three_cases(min_cases: int) -> None:
    import shutil
    import subprocess

    from adverse_events.analytics.signals import disproportionality

    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node to run the page's JavaScript")
    tables = [
        (2, 0, 0, 1000),
        (3, 0, 0, 1000),
        (2, 1, 1, 5000),
        (3, 1, 1, 5000),
        (2, 0, 0, 100000),
        (3, 0, 0, 100000),
        (3, 40, 30, 500),
    ]
    script = (
        "const state = { minCases: 99 };\nconst Z95 = 1.959963984540054;\n"
        + _page_disproportionality()
        + f"\nconst tables = {json.dumps(tables)};\n"
        + f"console.log(JSON.stringify(tables.map(t => {{ const r = "
        f"disproportionality(...t, {min_cases}); "
        "return [r.evans, r.ror_signal, r.ic_signal]; })));"
    )
    out = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, check=True, timeout=30
    )
    page = json.loads(out.stdout)
    python = [
        [(x := disproportionality(*t, min_cases=min_cases)).evans, x.ror_signal, x.ic_signal]
        for t in tables
    ]
    assert page == python
    assert any(any(row) for row in python) and not all(all(row) for row in python)


def test_drugs_are_ingredients_with_names_on_demand(synthetic_db: Path) -> None:
    from adverse_events.analytics.synthetic import DRUGS, UNRESOLVED_SPAN

    data = build_dashboard_data(synthetic_db)
    assert set(data["drugs"]) == set(DRUGS) and data["meta"]["drugs"] == "ingredient"
    assert ("sertraline", "zoloft") in {(r["ingredients"], r["name"]) for r in data["brands"]}
    assert [r["name"] for r in data["unresolved_drugs"]] == [UNRESOLVED_SPAN]
    by_name = build_dashboard_data(synthetic_db, drugs="name")
    assert {"zoloft", UNRESOLVED_SPAN} <= set(by_name["drugs"])


def test_post_sample_is_capped(synthetic_db: Path) -> None:
    data = build_dashboard_data(synthetic_db, posts_per_pair=2, recent_posts=10, max_posts=50)
    assert 0 < len(data["posts"]) <= 50
    assert all(len(p["text"]) <= 400 and p["period"] >= 0 for p in data["posts"])


@pytest.mark.parametrize("by", ["meddra_pt", "mention"])
def test_other_codings(synthetic_db: Path, by: str) -> None:
    data = build_dashboard_data(synthetic_db, by=by, grain="month")
    assert data["meta"]["by"] == by and len(data["periods"]) in (6, 7)
    assert ("insomnia" if by == "mention" else "10022437") in {e[0] for e in data["events"]}


def test_text_cannot_break_out_of_the_data_block() -> None:
    data = {"posts": [{"text": "</script><script>alert(1)</script><!--"}]}
    html = render_dashboard(data)
    block = html.split('id="dashboard-data">', 1)[1]
    assert block.index("</script>") > block.index("\\u003c/script>")
    assert embedded(html)["posts"][0]["text"].startswith("</script>")


def test_bad_options(synthetic_db: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.html"):
        write_dashboard(synthetic_db, tmp_path / "report.pdf")
    with pytest.raises(ConfigError, match="by must be"):
        build_dashboard_data(synthetic_db, by="snomed")
