"""The contract of the dashboard's input: every table it draws, with its declared columns, and
money as exact decimals (or NULL)."""

from collections.abc import Mapping
from decimal import Decimal

import pandas as pd

from orders_pipeline import tables

# Columns that must arrive as Decimal so sums stay exact to the cent: every decimal column.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    table.name: tuple(
        c.name
        for c in table.columns
        if c.type.startswith("decimal") and c.name in table.dashboard_columns
    )
    for table in tables.DASHBOARD_TABLES
}


def validate_tables(frames: Mapping[str, pd.DataFrame]) -> None:
    """Raise ValueError naming the table, column and value that break the contract."""
    for table in tables.DASHBOARD_TABLES:
        if table.name not in frames:
            raise ValueError(f"aggregate table {table.name!r} is missing from the dashboard input")
        missing = [c for c in table.dashboard_columns if c not in frames[table.name].columns]
        if missing:
            raise ValueError(f"{table.name} is missing column(s): {', '.join(missing)}")
    for name, columns in MONEY_COLUMNS.items():
        for column in columns:
            for value in frames[name][column]:
                if value is None:
                    continue  # NULL (nothing to average): not a float in disguise
                if not isinstance(value, Decimal | int) or isinstance(value, bool):
                    raise ValueError(
                        f"{name}.{column} must be DECIMAL, got {type(value).__name__} {value!r}"
                    )
