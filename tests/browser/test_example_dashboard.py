"""Issue 8's acceptance path: `adverse-events run examples/local.toml`, then `adverse-events
dashboard`, opened in headless Chromium: every chart drawn from the example's real output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.browser.test_dashboard import CHARTS, browser, js  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def example_report(local_example: Path) -> Path:
    from adverse_events.cli import app

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(local_example)
        result = CliRunner().invoke(
            app, ["dashboard", "--db", "out/adverse_events.duckdb", "--output", "out/report.html"]
        )
    assert result.exit_code == 0, result.output
    return local_example / "out" / "report.html"


def test_example_run_gives_a_dashboard_that_renders(
    browser: Any,  # noqa: F811
    example_report: Path,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(example_report.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )
    for chart in CHARTS:
        assert browser.find_element(By.ID, chart).find_elements(By.CSS_SELECTOR, ".main-svg")
        assert js(browser, "return document.getElementById(arguments[0]).data.length", chart) > 0
    assert len(js(browser, "return dashboard.DATA.drugs")) >= 10
    provenance = browser.find_element(By.ID, "provenance-table").text
    assert "encoder" in provenance and "lexicon" in provenance  # the shipped models ran
    dead = browser.find_element(By.TAG_NAME, "body").text
    assert "malformed JSON" in dead
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert browser.save_screenshot(str(tmp_path / "example.png"))
