"""Plotly figures of the dashboard, one per chart, built from the aggregate tables (no I/O)."""

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go

from orders_pipeline.dashboard.tables import validate_tables
from orders_pipeline.tables import DAILY_SALES, DAILY_STATUS_FUNNEL, HOURLY_CDC_ACTIVITY

TOP_PRODUCTS = 10

# (name, title) in page order; the name is the section's `data-chart` attribute.
CHART_TITLES: tuple[tuple[str, str], ...] = (
    ("revenue_by_day_category", "Net revenue by day and category (line: gross revenue)"),
    ("top_products", f"Top {TOP_PRODUCTS} products by net revenue"),
    ("status_funnel", "Status funnel: orders that ever reached each status"),
    (HOURLY_CDC_ACTIVITY.name, "Hourly CDC activity (UTC)"),
)

FUNNEL_STAGES: tuple[tuple[str, str, str], ...] = (
    ("placed", "Placed", "#4c78a8"),
    ("paid", "Paid", "#4c78a8"),
    ("shipped", "Shipped", "#4c78a8"),
    ("delivered", "Delivered", "#54a24b"),
    ("cancelled", "Cancelled", "#e45756"),
    ("returned", "Returned", "#f58518"),
)

CDC_SERIES: tuple[tuple[str, str, str], ...] = (
    ("inserts", "INSERT", "#54a24b"),
    ("modifies", "MODIFY", "#4c78a8"),
    ("removes", "REMOVE", "#e45756"),
)


def build_charts(tables: Mapping[str, pd.DataFrame]) -> dict[str, go.Figure | None]:
    """Every chart by name, or None where its table has no rows yet.

    Sums stay Decimal here; plotly writes them as JSON numbers only to draw them. The exact
    money figures a person reads are the KPI cards, formatted from Decimal.
    """
    validate_tables(tables)
    sales = tables[DAILY_SALES.name]
    funnel = tables[DAILY_STATUS_FUNNEL.name]
    cdc = tables[HOURLY_CDC_ACTIVITY.name]
    return {
        "revenue_by_day_category": _revenue_by_day_category(sales) if len(sales) else None,
        "top_products": _top_products(sales) if len(sales) else None,
        "status_funnel": _status_funnel(funnel) if len(funnel) else None,
        HOURLY_CDC_ACTIVITY.name: _hourly_cdc_activity(cdc) if len(cdc) else None,
    }


def _layout(figure: go.Figure, **extra: object) -> go.Figure:
    layout = {
        "template": "plotly_white",
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
        "legend": {"orientation": "h", "y": -0.2},
    }
    figure.update_layout(layout | extra)
    return figure


def _revenue_by_day_category(sales: pd.DataFrame) -> go.Figure:
    by_category = sales.groupby(["dt", "category"], as_index=False)["net_revenue"].sum()
    gross = sales.groupby("dt", as_index=False)["gross_revenue"].sum()
    figure = go.Figure()
    for category, rows in by_category.groupby("category"):
        figure.add_bar(name=str(category), x=list(rows["dt"]), y=list(rows["net_revenue"]))
    figure.add_scatter(
        name="Gross revenue",
        x=list(gross["dt"]),
        y=list(gross["gross_revenue"]),
        mode="lines+markers",
        line={"color": "#222", "width": 2},
    )
    return _layout(figure, barmode="relative", xaxis={"type": "category", "title": "order date"})


def _top_products(sales: pd.DataFrame) -> go.Figure:
    by_product = sales.groupby("product_name", as_index=False)[["net_revenue", "units"]].sum()
    top = sorted(
        by_product.itertuples(index=False), key=lambda row: Decimal(row.net_revenue), reverse=True
    )[:TOP_PRODUCTS]
    top.reverse()  # horizontal bars draw bottom-up: put the best seller on top
    figure = go.Figure(
        go.Bar(
            x=[row.net_revenue for row in top],
            y=[row.product_name for row in top],
            orientation="h",
            text=[f"{int(row.units):,} units" for row in top],
            marker_color="#4c78a8",
        )
    )
    return _layout(figure, showlegend=False, margin={"l": 200, "r": 20, "t": 20, "b": 40})


def _status_funnel(funnel: pd.DataFrame) -> go.Figure:
    figure = go.Figure(
        go.Funnel(
            y=[label for _, label, _ in FUNNEL_STAGES],
            x=[int(sum(int(n) for n in funnel[column])) for column, _, _ in FUNNEL_STAGES],
            textinfo="value+percent initial",
            marker={"color": [color for _, _, color in FUNNEL_STAGES]},
        )
    )
    return _layout(figure, showlegend=False)


def _hourly_cdc_activity(cdc: pd.DataFrame) -> go.Figure:
    hourly = cdc.groupby("event_hour", as_index=False)[[c for c, _, _ in CDC_SERIES]].sum()
    figure = go.Figure()
    for column, label, color in CDC_SERIES:
        figure.add_bar(
            name=label,
            x=list(hourly["event_hour"]),
            y=[int(n) for n in hourly[column]],
            marker_color=color,
        )
    return _layout(figure, barmode="stack", xaxis={"title": "event hour"})
