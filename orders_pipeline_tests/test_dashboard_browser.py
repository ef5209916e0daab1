"""The dashboard page in headless Chromium (Debian's package): every chart drawn, KPIs right."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from orders_pipeline.dashboard.charts import CHART_TITLES
from orders_pipeline.dashboard.health import LastCrawl, PipelineHealth
from orders_pipeline.dashboard.render import render_dashboard
from orders_pipeline_tests.prerequisites import required_module, required_program
from orders_pipeline_tests.test_dashboard_render import (
    NOW,
    cdc_frame,
    funnel_frame,
    pandas_oracle,
    sales_frame,
)

pytestmark = pytest.mark.browser

sync_playwright = required_module(
    "playwright.sync_api", install="pip install -e '.[dev]'"
).sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_MS = 30_000

# Per plot: its id, points per trace in the data, and the points drawn in the SVG.
PLOTS_JS = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
    id: el.id,
    points: el.data.map(trace => (trace.x || []).length),
    drawn: el.querySelectorAll('.point').length,
}))
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Debian's Chromium; never a downloaded browser.
    path = required_program(
        "chromium", "chromium-browser", install="apt-get install -y chromium (.ci/run does)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class LoadedPage:
    """A page opened from a file URL, with every console error and page error it raised."""

    def __init__(self, browser: Any, html: str, directory: Path) -> None:
        path = directory / "orders.html"
        path.write_text(html, encoding="utf-8")
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri(), wait_until="load")

    def wait_for_plots(self, count: int) -> list[dict[str, Any]]:
        self.page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length === {count}",
            timeout=RENDER_TIMEOUT_MS,
        )
        return self.page.evaluate(PLOTS_JS)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text().strip()


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return {
        "daily_sales": sales_frame(
            [
                ("2026-02-28", "Books", "Atlas", 3, 5, "100.00", "5.00", "95.00"),
                ("2026-02-28", "Garden", "Hose", 2, 2, "40.00", "0.00", "20.00"),
                ("2026-03-01", "Books", "Novel", 4, 6, "60.00", "2.00", "58.00"),
                ("2026-03-01", "Toys", "Kite <XL>", 7, 9, "1234.56", "34.56", "1100.00"),
                ("2026-03-02", "Garden", "Rake", 1, 1, "25.10", "0.10", "0.00"),
            ]
        ),
        "daily_status_funnel": funnel_frame(
            [
                ("2026-02-28", 5, 4, 3, 2, 1, 0),
                ("2026-03-01", 11, 10, 8, 5, 1, 1),
                ("2026-03-02", 1, 1, 0, 0, 1, 0),
            ]
        ),
        "hourly_cdc_activity": cdc_frame(
            [(datetime(2026, 3, 1, hour), hour + 1, 2 * hour, hour % 2) for hour in range(12)]
        ),
    }


@pytest.fixture
def health() -> PipelineHealth:
    return PipelineHealth(
        checked_at=NOW,
        newest_event_time=NOW - timedelta(seconds=42),
        firehose_failures={},
        crawler_state="READY",
        last_crawl=LastCrawl("SUCCEEDED", NOW - timedelta(minutes=5)),
    )


@pytest.fixture
def loaded(
    browser: Any, tables: dict[str, pd.DataFrame], health: PipelineHealth, tmp_path: Path
) -> Iterator[LoadedPage]:
    page = LoadedPage(browser, render_dashboard(tables, health), tmp_path)
    yield page
    page.page.close()


def test_every_chart_is_drawn_with_data(loaded: LoadedPage) -> None:
    plots = loaded.wait_for_plots(len(CHART_TITLES))
    assert [plot["id"] for plot in plots] == [f"chart-{name}" for name, _ in CHART_TITLES]
    for plot in plots:
        assert plot["points"] and all(n > 0 for n in plot["points"]), plot
        assert plot["drawn"] > 0, f"{plot['id']} has data but drew no points"


def test_the_page_logs_no_console_errors(loaded: LoadedPage) -> None:
    loaded.wait_for_plots(len(CHART_TITLES))
    assert loaded.errors == []


def test_kpis_read_as_the_pandas_oracle(
    loaded: LoadedPage, tables: dict[str, pd.DataFrame]
) -> None:
    oracle = pandas_oracle(tables)
    shown = {name: loaded.text(f'[data-kpi="{name}"] .value') for name in oracle}
    assert shown == {
        "orders": f"{oracle['orders']:,}",
        "units": f"{oracle['units']:,}",
        "gross_revenue": f"{oracle['gross_revenue']:,.2f}",
        "net_revenue": f"{oracle['net_revenue']:,.2f}",
        "avg_order_value": f"{oracle['avg_order_value']:,.2f}",
        "cancellation_rate": f"{oracle['cancellation_rate']:.1%}",
        "return_rate": f"{oracle['return_rate']:.1%}",
    }


def test_health_signals_are_readable(loaded: LoadedPage) -> None:
    assert loaded.text('[data-health="newest_event_age"] .value') == "42 s"
    assert loaded.text('[data-health="firehose_failed_records"] .value') == "0"
    assert loaded.text('[data-health="last_crawl"] .value') == "SUCCEEDED"


def test_empty_tables_give_a_page_that_says_no_data_yet(
    browser: Any, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    empty = {name: frame.iloc[0:0] for name, frame in tables.items()}
    loaded = LoadedPage(
        browser, render_dashboard(empty, PipelineHealth(NOW, newest_event_time=None)), tmp_path
    )
    try:
        assert loaded.text(".no-data-banner").startswith("No data yet")
        for name, _ in CHART_TITLES:
            assert loaded.text(f'[data-chart="{name}"] .no-data') == "no data yet"
        assert loaded.page.evaluate("document.querySelectorAll('.js-plotly-plot').length") == 0
        assert loaded.errors == []
    finally:
        loaded.page.close()
