"""The dashboard's pure parts: KPIs against a pandas oracle, the SQL it reads, the page."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pandas as pd
import pytest
import sqlglot

from orders_pipeline import tables as registry
from orders_pipeline.dashboard.charts import CHART_TITLES, build_charts
from orders_pipeline.dashboard.health import LastCrawl, PipelineHealth, format_age
from orders_pipeline.dashboard.kpis import Kpis, compute_kpis, format_kpi
from orders_pipeline.dashboard.queries import (
    dashboard_since,
    read_aggregate_tables,
    read_newest_event_time,
    table_query,
)
from orders_pipeline.dashboard.render import render_dashboard

DASHBOARD_TABLES = [t.name for t in registry.DASHBOARD_TABLES]

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SALES_COLUMNS = list(registry.table("daily_sales").dashboard_columns)
FUNNEL_COLUMNS = list(registry.table("daily_status_funnel").dashboard_columns)
CDC_COLUMNS = list(registry.table("hourly_cdc_activity").dashboard_columns)


def sales_frame(rows: list[tuple]) -> pd.DataFrame:
    """daily_sales rows as (dt, category, product, orders, units, gross, discounts, net)."""
    return pd.DataFrame(
        [
            (dt, cat, product, orders, units, Decimal(gross), Decimal(disc), Decimal(net), None)
            for dt, cat, product, orders, units, gross, disc, net in rows
        ],
        columns=SALES_COLUMNS,
    )


def funnel_frame(rows: list[tuple]) -> pd.DataFrame:
    """daily_status_funnel rows as (dt, placed, paid, shipped, delivered, cancelled, returned)."""
    return pd.DataFrame(
        [(*row, None, None, None, None, None) for row in rows], columns=FUNNEL_COLUMNS
    )


def cdc_frame(rows: list[tuple]) -> pd.DataFrame:
    """hourly_cdc_activity rows as (event_hour, inserts, modifies, removes)."""
    return pd.DataFrame(
        [
            (hour.strftime("%Y-%m-%d"), hour, i, m, r, i + m + r, Decimal("0.00"))
            for hour, i, m, r in rows
        ],
        columns=CDC_COLUMNS,
    )


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return {
        "daily_sales": sales_frame(
            [
                ("2026-03-01", "Books", "Atlas <A&B>", 3, 5, "100.00", "5.00", "95.00"),
                ("2026-03-01", "Garden", "Hose", 2, 2, "40.00", "0.00", "20.00"),
                ("2026-03-02", "Books", "Novel", 4, 6, "60.00", "2.00", "58.00"),
            ]
        ),
        "daily_status_funnel": funnel_frame(
            [("2026-03-01", 5, 4, 3, 2, 1, 0), ("2026-03-02", 4, 3, 1, 0, 0, 1)]
        ),
        "hourly_cdc_activity": cdc_frame(
            [(datetime(2026, 3, 1, hour), hour + 1, 2 * hour, hour % 2) for hour in range(6)]
        ),
    }


@pytest.fixture
def empty_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {name: frame.iloc[0:0] for name, frame in tables.items()}


@pytest.fixture
def health() -> PipelineHealth:
    return PipelineHealth(
        checked_at=NOW,
        newest_event_time=NOW - timedelta(minutes=3, seconds=5),
        firehose_failures={"Lambda.FunctionError": 2},
        crawler_state="READY",
        last_crawl=LastCrawl("SUCCEEDED", NOW - timedelta(hours=1)),
    )


def pandas_oracle(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The headline KPIs computed independently with pandas, the way an analyst would."""
    sales, funnel = tables["daily_sales"], tables["daily_status_funnel"]
    orders = int(sales["orders"].sum())
    placed = int(funnel["placed"].sum())
    net_of_discount = sales["gross_revenue"].sum() - sales["discounts"].sum()
    return {
        "orders": orders,
        "units": int(sales["units"].sum()),
        "gross_revenue": Decimal(sales["gross_revenue"].sum()),
        "net_revenue": Decimal(sales["net_revenue"].sum()),
        "avg_order_value": (
            (net_of_discount / orders).quantize(Decimal("0.01"), ROUND_HALF_UP) if orders else None
        ),
        "cancellation_rate": funnel["cancelled"].sum() / placed if placed else None,
        "return_rate": funnel["returned"].sum() / placed if placed else None,
    }


def random_tables(seed: int) -> dict[str, pd.DataFrame]:
    rng = random.Random(seed)
    days = [f"2026-02-{day:02d}" for day in range(1, rng.randint(2, 20))]
    sales_rows, funnel_rows = [], []
    for dt in days:
        for product in range(rng.randint(1, 8)):
            orders = rng.randint(1, 40)
            gross = Decimal(rng.randint(100, 500_000)) / 100
            discounts = (gross * Decimal(rng.randint(0, 20)) / 100).quantize(Decimal("0.01"))
            net = gross - discounts - Decimal(rng.randint(0, 5_000)) / 100
            units = orders + rng.randint(0, 9)
            sales_rows.append(
                (dt, f"cat{product % 3}", f"p{product}", orders, units, gross, discounts, net)
            )
        placed = rng.randint(0, 300)
        cancelled, returned = rng.randint(0, placed), rng.randint(0, placed)
        funnel_rows.append((dt, placed, placed, placed, placed, cancelled, returned))
    return {
        "daily_sales": sales_frame(sales_rows),
        "daily_status_funnel": funnel_frame(funnel_rows),
        "hourly_cdc_activity": cdc_frame([]),
    }


# ---- KPIs -------------------------------------------------------------------------------


def test_kpis_match_values_computed_by_hand(tables: dict[str, pd.DataFrame]) -> None:
    assert compute_kpis(tables) == Kpis(
        orders=9,
        units=13,
        gross_revenue=D("200.00"),
        net_revenue=D("173.00"),
        avg_order_value=D("21.44"),  # (200.00 - 7.00) / 9 = 21.444...
        cancellation_rate=1 / 9,
        return_rate=1 / 9,
    )


@pytest.mark.parametrize("seed", range(5))
def test_kpis_equal_the_pandas_oracle(seed: int) -> None:
    tables = random_tables(seed)
    kpis = compute_kpis(tables)
    oracle = pandas_oracle(tables)
    rates = ("cancellation_rate", "return_rate")
    # Counts and money exactly (Decimal to the cent); rates are floats.
    assert {n: getattr(kpis, n) for n in oracle if n not in rates} == {
        n: v for n, v in oracle.items() if n not in rates
    }
    assert [getattr(kpis, n) for n in rates] == pytest.approx([oracle[n] for n in rates])


def test_average_order_value_weights_each_row_by_its_orders() -> None:
    tables = {
        "daily_sales": sales_frame(
            [
                ("2026-03-01", "Books", "Big", 9, 9, "900.00", "0.00", "900.00"),
                ("2026-03-02", "Books", "Small", 1, 1, "10.00", "0.00", "10.00"),
            ]
        ),
        "daily_status_funnel": funnel_frame([]),
        "hourly_cdc_activity": cdc_frame([]),
    }
    # 910 / 10 orders; the mean of the two daily averages (100 and 10) would say 55.
    assert compute_kpis(tables).avg_order_value == D("91.00")


def test_empty_tables_give_zero_totals_and_no_ratios(
    empty_tables: dict[str, pd.DataFrame],
) -> None:
    assert compute_kpis(empty_tables) == Kpis(
        orders=0,
        units=0,
        gross_revenue=D("0.00"),
        net_revenue=D("0.00"),
        avg_order_value=None,
        cancellation_rate=None,
        return_rate=None,
    )


def test_money_that_arrives_as_float_is_refused_naming_column_and_value(
    tables: dict[str, pd.DataFrame],
) -> None:
    tables["daily_sales"]["net_revenue"] = [95.0, 20.0, 58.0]
    expected = r"daily_sales\.net_revenue must be DECIMAL, got float 95\.0"
    with pytest.raises(ValueError, match=expected):
        compute_kpis(tables)


def test_a_missing_column_is_named(tables: dict[str, pd.DataFrame]) -> None:
    tables["daily_status_funnel"] = tables["daily_status_funnel"].drop(columns=["returned"])
    with pytest.raises(ValueError, match="daily_status_funnel is missing column.*returned"):
        compute_kpis(tables)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("orders", 1234567, "1,234,567"),
        ("units", 0, "0"),
        ("gross_revenue", D("1234567.8"), "1,234,567.80"),
        ("net_revenue", D("-12.50"), "-12.50"),
        ("avg_order_value", D("21.44"), "21.44"),
        ("cancellation_rate", 1 / 9, "11.1%"),
        ("return_rate", 0.0, "0.0%"),
        ("return_rate", None, "no data yet"),
        ("avg_order_value", None, "no data yet"),
    ],
)
def test_kpi_text(name: str, value: object, text: str) -> None:
    assert format_kpi(name, value) == text


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(days=2, hours=4, minutes=30), "2 d 4 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_age_text(age: timedelta, text: str) -> None:
    assert format_age(age) == text


# ---- What it reads ----------------------------------------------------------------------


@pytest.mark.parametrize("name", DASHBOARD_TABLES)
def test_each_query_selects_the_columns_its_frame_declares(name: str) -> None:
    select = sqlglot.parse_one(
        table_query(registry.table(name), database="orders_db"), dialect="athena"
    )
    assert select.named_selects == list(registry.table(name).dashboard_columns)


@pytest.mark.parametrize("database", ["orders_db; DROP TABLE x", "Orders", ""])
def test_a_database_name_that_is_not_a_plain_glue_name_is_refused(database: str) -> None:
    with pytest.raises(ValueError, match="database must be a lower-case Glue name"):
        table_query(registry.DAILY_SALES, database=database)


def test_empty_results_still_have_every_column() -> None:
    frames = read_aggregate_tables(lambda sql: [], database="orders_db")
    assert {name: list(frame.columns) for name, frame in frames.items()} == {
        name: list(registry.table(name).dashboard_columns) for name in frames
    }
    assert all(frame.empty for frame in frames.values())


def test_a_result_without_an_expected_column_is_named() -> None:
    row = {
        column: 1 for column in registry.table("daily_sales").dashboard_columns if column != "units"
    }
    with pytest.raises(ValueError, match="daily_sales returned no column.*units"):
        read_aggregate_tables(lambda sql: [row], database="orders_db")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (datetime(2026, 3, 2, 11, 56), datetime(2026, 3, 2, 11, 56, tzinfo=UTC)),
        (
            datetime(2026, 3, 2, 12, 56, tzinfo=UTC) + timedelta(hours=0),
            datetime(2026, 3, 2, 12, 56, tzinfo=UTC),
        ),
    ],
)
def test_newest_event_time_is_utc_or_none(value: datetime | None, expected: object) -> None:
    run = lambda sql: [{"newest_event_time": value}]  # noqa: E731
    assert read_newest_event_time(run, database="orders_db") == expected


# ---- The page ---------------------------------------------------------------------------


class PageElements(HTMLParser):
    """Elements carrying a data-kpi/-health/-chart/-table attribute, with text by inner class."""

    MARKERS = ("data-kpi", "data-health", "data-chart", "data-table")

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: dict[tuple[str, str], dict[str, object]] = {}
        self.script_sources: list[str] = []
        self.plot_divs: list[str] = []
        self._stack: list[tuple[str, tuple[str, str] | None, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.script_sources.append(attributes["src"] or "")
        if attributes.get("class") == "plotly-graph-div":
            self.plot_divs.append(attributes.get("id") or "")
        owner = next(((m, attributes[m]) for m in self.MARKERS if attributes.get(m)), None)
        if owner:
            self.elements[owner] = {"attributes": attributes, "text": {}}
        elif self._stack:
            owner = self._stack[-1][1]
        if tag in ("meta", "br", "img", "link", "input"):
            return
        self._stack.append((tag, owner, attributes.get("class")))

    def handle_endtag(self, tag: str) -> None:
        while self._stack and self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1][1] and data.strip():
            _, owner, css_class = self._stack[-1]
            texts = self.elements[owner]["text"]
            texts[css_class or ""] = texts.get(css_class or "", "") + data.strip()


def test_plotly_js_is_inlined_once_and_nothing_is_fetched(
    tables: dict[str, pd.DataFrame], health: PipelineHealth
) -> None:
    html = render_dashboard(tables, health)
    assert html.count("plotly.js v") == 1
    assert PageElements(html).script_sources == []


def test_every_chart_has_its_plot(tables: dict[str, pd.DataFrame], health: PipelineHealth) -> None:
    page = PageElements(render_dashboard(tables, health))
    assert page.plot_divs == [f"chart-{name}" for name, _ in CHART_TITLES]
    assert {key for key in page.elements if key[0] == "data-chart"} == {
        ("data-chart", name) for name, _ in CHART_TITLES
    }


def test_kpis_show_the_oracle_values(
    tables: dict[str, pd.DataFrame], health: PipelineHealth
) -> None:
    page = PageElements(render_dashboard(tables, health))
    oracle = pandas_oracle(tables)
    shown = {
        name: (element["attributes"]["data-value"], element["text"]["value"])
        for (marker, name), element in page.elements.items()
        if marker == "data-kpi"
    }
    assert shown == {
        "orders": ("9", "9"),
        "units": ("13", "13"),
        "gross_revenue": (str(oracle["gross_revenue"]), "200.00"),
        "net_revenue": (str(oracle["net_revenue"]), "173.00"),
        "avg_order_value": (str(oracle["avg_order_value"]), "21.44"),
        "cancellation_rate": (str(oracle["cancellation_rate"]), "11.1%"),
        "return_rate": (str(oracle["return_rate"]), "11.1%"),
    }


def test_health_signals_are_shown(tables: dict[str, pd.DataFrame], health: PipelineHealth) -> None:
    page = PageElements(render_dashboard(tables, health))
    shown = {
        name: (element["attributes"]["data-value"], element["text"]["value"])
        for (marker, name), element in page.elements.items()
        if marker == "data-health"
    }
    assert shown == {
        "newest_event_age": ("185", "3 min"),
        "firehose_failed_records": ("2", "2"),
        "last_crawl": ("SUCCEEDED", "SUCCEEDED"),
    }
    failures = page.elements[("data-health", "firehose_failed_records")]
    assert failures["attributes"]["class"] == "card warn"
    assert failures["text"]["detail"] == "Lambda.FunctionError: 2"


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
def test_a_failed_crawl_is_flagged(
    tables: dict[str, pd.DataFrame], health: PipelineHealth, status: str
) -> None:
    failed = PipelineHealth(
        checked_at=NOW,
        newest_event_time=None,
        crawler_state="READY",
        last_crawl=LastCrawl(status, NOW, error_message="Access denied to s3://bucket/raw"),
    )
    crawl = PageElements(render_dashboard(tables, failed)).elements[("data-health", "last_crawl")]
    assert crawl["attributes"]["class"] == "card warn"
    assert crawl["text"]["detail"] == "Access denied to s3://bucket/raw"


def test_names_from_the_data_are_escaped(
    tables: dict[str, pd.DataFrame], health: PipelineHealth
) -> None:
    html = render_dashboard(tables, health)
    assert "<A&B>" not in html
    assert "Atlas \\u003cA&B\\u003e" in html  # in plotly's JSON, where the browser decodes it


def test_the_funnel_table_lists_days_newest_first_with_rates(
    tables: dict[str, pd.DataFrame], health: PipelineHealth
) -> None:
    html = render_dashboard(tables, health)
    table = html.split('data-table="daily_status_funnel"', 1)[1]
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", table)]
    assert rows == [
        ["2026-03-02", "4", "0", "0", "1", "0.0%", "25.0%"],
        ["2026-03-01", "5", "2", "1", "0", "20.0%", "0.0%"],
    ]


def test_empty_tables_give_a_page_that_says_no_data_yet(
    empty_tables: dict[str, pd.DataFrame],
) -> None:
    html = render_dashboard(empty_tables, PipelineHealth(checked_at=NOW, newest_event_time=None))
    page = PageElements(html)
    assert "No data yet: the aggregate tables are empty" in html
    assert page.plot_divs == []
    charts = [e for (marker, _), e in page.elements.items() if marker == "data-chart"]
    assert [chart["text"]["no-data"] for chart in charts] == ["no data yet"] * len(CHART_TITLES)
    assert page.elements[("data-kpi", "avg_order_value")]["text"]["value"] == "no data yet"


def test_a_table_with_rows_but_no_funnel_still_draws_the_sales_charts(
    tables: dict[str, pd.DataFrame],
) -> None:

    tables["daily_status_funnel"] = tables["daily_status_funnel"].iloc[0:0]
    charts = build_charts(tables)
    assert charts["status_funnel"] is None
    assert charts["revenue_by_day_category"] is not None and charts["top_products"] is not None


def test_the_page_draws_the_last_30_days_of_data_counting_the_newest() -> None:
    assert dashboard_since("2026-12-01") == "2026-11-02"
    assert dashboard_since(None) is None


@pytest.mark.parametrize("name", DASHBOARD_TABLES)
def test_a_bounded_read_prunes_to_the_partitions_from_the_first_day_on(name: str) -> None:
    select = sqlglot.parse_one(
        table_query(registry.table(name), database="orders_db", since_day="2026-11-02"),
        dialect="athena",
    )
    where = select.args["where"].this
    assert where.sql(dialect="athena") == "dt >= '2026-11-02'"


def test_every_table_is_read_from_the_same_first_day() -> None:
    sent: list[str] = []
    read_aggregate_tables(lambda sql: sent.append(sql) or [], database="orders_db",
                          since_day="2026-11-02")  # fmt: skip
    assert len(sent) == len(DASHBOARD_TABLES)
    assert all("WHERE dt >= '2026-11-02'" in sql for sql in sent)
