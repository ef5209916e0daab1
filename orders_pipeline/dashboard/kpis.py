"""Headline KPIs of the orders dashboard, computed exactly from the aggregate tables."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from orders_pipeline.dashboard.tables import validate_tables
from orders_pipeline.tables import DAILY_SALES, DAILY_STATUS_FUNNEL

CENT = Decimal("0.01")
NO_DATA = "no data yet"


@dataclass(frozen=True)
class Kpis:
    """Totals over every day in the aggregates; None where a ratio has no denominator yet."""

    orders: int
    units: int
    gross_revenue: Decimal
    net_revenue: Decimal
    avg_order_value: Decimal | None
    cancellation_rate: float | None
    return_rate: float | None


# (name, label) in page order; the name is the `data-kpi` attribute and the metadata key.
KPI_LABELS: tuple[tuple[str, str], ...] = (
    ("orders", "Orders"),
    ("units", "Units"),
    ("gross_revenue", "Gross revenue"),
    ("net_revenue", "Net revenue"),
    ("avg_order_value", "Average order value"),
    ("cancellation_rate", "Cancellation rate"),
    ("return_rate", "Return rate"),
)


# What each KPI counts, shown under its value: the tables define them differently.
KPI_DETAILS: dict[str, str] = {
    "orders": "current orders; deleted ones removed",
    "gross_revenue": "quantity × price",
    "net_revenue": "less discounts and cancelled or returned orders",
    "avg_order_value": "order total after discount",
    "cancellation_rate": "of orders placed, from the event history",
    "return_rate": "of orders placed, from the event history",
}


def compute_kpis(tables: Mapping[str, pd.DataFrame]) -> Kpis:
    """KPIs from `daily_sales` (volumes, money) and `daily_status_funnel` (rates).

    Average order value is (gross - discounts) / orders: the mean net-of-discount order total,
    weighted by orders (averaging the per-row averages would over-weight small rows).
    """
    validate_tables(tables)
    sales = tables[DAILY_SALES.name]
    funnel = tables[DAILY_STATUS_FUNNEL.name]
    orders = _count(sales["orders"])
    gross = sum(sales["gross_revenue"], Decimal(0))
    discounts = sum(sales["discounts"], Decimal(0))
    placed = _count(funnel["placed"])
    average = (gross - discounts) / orders if orders else None
    return Kpis(
        orders=orders,
        units=_count(sales["units"]),
        gross_revenue=gross.quantize(CENT),
        net_revenue=sum(sales["net_revenue"], Decimal(0)).quantize(CENT),
        avg_order_value=None if average is None else average.quantize(CENT, ROUND_HALF_UP),
        cancellation_rate=_rate(funnel["cancelled"], placed),
        return_rate=_rate(funnel["returned"], placed),
    )


def _count(column: pd.Series) -> int:
    return sum(int(n) for n in column)


def _rate(counts: pd.Series, placed: int) -> float | None:
    return _count(counts) / placed if placed else None


def format_kpi(name: str, value: int | Decimal | float | None) -> str:
    """Text a person reads: counts with thousands separators, money to the cent, rates in %."""
    if value is None:
        return NO_DATA
    if name in ("orders", "units"):
        return f"{value:,}"
    if name.endswith("_rate"):
        return f"{value:.1%}"
    return f"{value:,.2f}"


def kpi_values(kpis: Kpis) -> dict[str, int | Decimal | float | None]:
    """KPI values by name, in page order."""
    return {name: getattr(kpis, name) for name, _ in KPI_LABELS}
