"""The aggregate tables the dashboard reads, the columns it relies on, and the checks on them."""

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

# Columns each renderer input must carry; extra columns are ignored.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "daily_sales": (
        "dt",
        "category",
        "product_name",
        "orders",
        "units",
        "gross_revenue",
        "discounts",
        "net_revenue",
    ),
    "daily_status_funnel": (
        "dt",
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
    ),
    "hourly_cdc_activity": ("event_hour", "inserts", "modifies", "removes"),
}

# DECIMAL(18,2) columns: they must arrive as Decimal so sums stay exact to the cent.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "daily_sales": ("gross_revenue", "discounts", "net_revenue"),
}


def validate_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    """Raise ValueError naming the table, column and value that break the contract."""
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise ValueError(f"aggregate table {table!r} is missing from the dashboard input")
        missing = [c for c in columns if c not in tables[table].columns]
        if missing:
            raise ValueError(f"{table} is missing column(s): {', '.join(missing)}")
    for table, columns in MONEY_COLUMNS.items():
        for column in columns:
            for value in tables[table][column]:
                if not isinstance(value, Decimal | int) or isinstance(value, bool):
                    raise ValueError(
                        f"{table}.{column} must be DECIMAL, got {type(value).__name__} {value!r}"
                    )
