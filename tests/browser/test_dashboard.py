"""The dashboard in a real browser: Debian's chromium, headless, no network, driven by Selenium.

Needs the apt packages ``chromium`` and ``chromium-driver`` (CI's .ci/run installs them) and
the Python package ``selenium`` (the ``dev`` extra); skipped with the reason when absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("ADVERSE_EVENTS_CHROMIUM") or shutil.which("chromium") or ""
CHROMEDRIVER = os.environ.get("ADVERSE_EVENTS_CHROMEDRIVER") or shutil.which("chromedriver") or ""
CHARTS = ("volume-chart", "top-events-chart", "heatmap-chart", "score-chart")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("plotly")
    pytest.importorskip("duckdb")
    from adverse_events.analytics.dashboard import write_dashboard
    from adverse_events.analytics.synthetic import build_database

    folder = tmp_path_factory.mktemp("browser")
    build_database(folder / "ae.duckdb", n=1500, seed=11, bad_every=300)
    return write_dashboard(folder / "ae.duckdb", folder / "report.html")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip(
            "needs Debian's chromium and chromium-driver: "
            "apt-get install -y chromium chromium-driver"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,2600",
        # no network: every host resolves to nothing, every proxy request fails
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: Any, report: Path) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(report.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === 'true'")
    )
    return browser


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def set_date(driver: Any, element_id: str, value: str) -> None:
    js(
        driver,
        """const el = document.getElementById(arguments[0]); el.value = arguments[1];
                  el.dispatchEvent(new Event('change'));""",
        element_id,
        value,
    )


def table_rows(driver: Any) -> list[dict[str, str]]:
    return js(
        driver,
        """return [...document.querySelectorAll('#signal-table tbody tr')].map(tr =>
        ({drug: tr.dataset.drug, event: tr.dataset.event,
          cells: [...tr.children].map(td => td.textContent)}));""",
    )


def test_every_chart_renders_with_data_and_no_errors(page: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    for chart in CHARTS:
        div = page.find_element(By.ID, chart)
        assert div.find_elements(By.CSS_SELECTOR, ".main-svg"), chart
        assert js(page, "return document.getElementById(arguments[0]).data.length", chart) > 0
    traces = page.find_elements(By.CSS_SELECTOR, "#volume-chart .barlayer .trace")
    assert len(traces) == len(js(page, "return dashboard.DATA.drugs"))
    assert page.find_elements(By.CSS_SELECTOR, "#heatmap-chart .heatmaplayer image")
    assert page.find_elements(By.CSS_SELECTOR, "#top-events-chart .barlayer .trace")
    assert len(table_rows(page)) > 10
    assert page.find_element(By.ID, "posts-title").text.startswith("Posts: ")
    assert "synthetic-mock-classifier/1.0" in page.find_element(By.ID, "provenance-table").text
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    shot = tmp_path / "dashboard.png"
    assert page.save_screenshot(str(shot)) and shot.stat().st_size > 20_000


def test_browser_statistics_match_python(page: Any) -> None:
    rows = js(
        page,
        """const rows = dashboard.signalRows(dashboard.aggregate());
        return rows.map(r => ({drug: r.drug_name, event: dashboard.DATA.events[r.event][0],
                               a: r.a, prr: r.prr, ror: r.ror, chi2: r.chi2, ic025: r.ic025,
                               evans: r.evans, ror_signal: r.ror_signal,
                               ic_signal: r.ic_signal}));""",
    )
    reference = {
        (r["drug"], r["event"]): r for r in js(page, "return dashboard.DATA.reference_signals")
    }
    assert len(rows) == len(reference)
    for row in rows:
        ref = reference[(row["drug"], row["event"])]
        assert row["a"] == ref["a"] and row["evans"] == ref["evans"]
        assert row["ror_signal"] == ref["ror_signal"] and row["ic_signal"] == ref["ic_signal"]
        for key in ("prr", "ror", "chi2", "ic025"):
            assert row[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


def test_drug_filter_changes_charts_and_table(page: Any) -> None:
    from selenium.webdriver.common.by import By

    drugs = js(page, "return dashboard.DATA.drugs")
    before = len(page.find_elements(By.CSS_SELECTOR, "#volume-chart .barlayer .trace"))
    page.find_element(By.CSS_SELECTOR, f".drug-box[value='{drugs.index('sertraline')}']").click()
    after = page.find_elements(By.CSS_SELECTOR, "#volume-chart .barlayer .trace")
    assert len(after) == before - 1
    names = js(page, "return document.getElementById('volume-chart').data.map(t => t.name)")
    assert "sertraline" not in names
    assert "sertraline" not in {r["drug"] for r in table_rows(page)}
    heat_drugs = js(page, "return document.getElementById('heatmap-chart').data[0].y")
    assert "sertraline" not in heat_drugs and heat_drugs
    assert f"{len(drugs) - 1} of {len(drugs)} drugs" in page.find_element(By.ID, "filter-note").text


def test_date_filter_changes_counts_and_axis(page: Any) -> None:
    from selenium.webdriver.common.by import By

    def population() -> int:
        return js(page, "return dashboard.aggregate().total")

    everything = population()
    note = page.find_element(By.ID, "filter-note").text
    set_date(page, "date-from", "2024-04-01")
    assert 0 < population() < everything
    assert page.find_element(By.ID, "filter-note").text != note
    xs = js(page, "return document.getElementById('volume-chart').data.flatMap(t => t.x)")
    assert xs and min(xs) >= "2024-04-01"
    set_date(page, "date-to", "2024-04-30")
    xs = js(page, "return document.getElementById('volume-chart').data.flatMap(t => t.x)")
    assert max(xs) <= "2024-04-30"
    page.find_element(By.ID, "reset").click()
    assert population() == everything


def test_table_search_sort_and_row_click(page: Any) -> None:
    from selenium.webdriver.common.by import By

    search = page.find_element(By.ID, "signal-search")
    search.send_keys("insomnia")
    rows = table_rows(page)
    assert rows and all("insomnia" in " ".join(r["cells"]).lower() for r in rows)
    search.clear()
    search.send_keys(" ")  # an input event with an empty query shows everything again
    page.find_element(By.ID, "signals-only").click()
    flagged = table_rows(page)
    assert flagged and all("yes" in r["cells"] for r in flagged)
    page.find_element(By.ID, "signals-only").click()
    page.find_element(By.CSS_SELECTOR, "#signal-table th[data-key='prr']").click()
    prr = [float(r["cells"][6]) for r in table_rows(page)]
    assert prr == sorted(prr, reverse=True)
    page.find_element(By.CSS_SELECTOR, "#signal-table th[data-key='prr']").click()
    prr = [float(r["cells"][6]) for r in table_rows(page)]
    assert prr == sorted(prr)
    row = page.find_element(
        By.CSS_SELECTOR, "#signal-table tbody tr[data-drug='metformin'][data-event='R19.7']"
    )
    row.click()
    assert "metformin" in page.find_element(By.ID, "posts-title").text
    assert "R19.7" in page.find_element(By.ID, "posts-title").text
    posts = page.find_elements(By.CSS_SELECTOR, "#posts .post")
    assert posts and all("metformin" in p.text.lower() for p in posts)


def test_heatmap_click_shows_the_cells_posts(page: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    # the centre of cell (row 1, column 0), relative to the chart's centre
    target = js(
        page,
        """const gd = document.getElementById('heatmap-chart');
        const fl = gd._fullLayout, box = gd.getBoundingClientRect();
        const x = fl.xaxis._offset + fl.xaxis.l2p(0), y = fl.yaxis._offset + fl.yaxis.l2p(1);
        return {dx: x - box.width / 2, dy: y - box.height / 2,
                drug: dashboard.DATA.drugs[gd._cells.drugs[1]],
                event: dashboard.DATA.events[gd._cells.events[0]][0]};""",
    )
    chart = page.find_element(By.ID, "heatmap-chart")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    ActionChains(page).move_to_element_with_offset(
        chart, int(target["dx"]), int(target["dy"])
    ).click().perform()
    title = page.find_element(By.ID, "posts-title").text
    assert target["drug"] in title and target["event"] in title
    posts = page.find_elements(By.CSS_SELECTOR, "#posts .post")
    assert posts and all(target["drug"] in p.text for p in posts)
