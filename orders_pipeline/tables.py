"""Every table of the pipeline, declared once: its name (also its Dagster asset key), what it
holds, how it is partitioned, its columns, and what the dashboard reads of it. The assets, the
SQL, the dashboard and the demo all read these declarations. Pure: no AWS, no Dagster."""

from __future__ import annotations

from dataclasses import dataclass, field

# The Hive partition column of every partitioned table (a `dt=YYYY-MM-DD/` folder in S3).
PARTITION_COLUMN = "dt"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the Athena type, as CAST and CTAS write it
    description: str = ""


@dataclass(frozen=True)
class Partitioning:
    """How a table is partitioned: by a day (`dt`, what that day is), then maybe more keys."""

    meaning: str
    more_keys: tuple[Column, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The partition columns, in their S3 folder order (`dt=.../created_dt=.../`)."""
        return (PARTITION_COLUMN, *(k.name for k in self.more_keys))


# What an order_events row's creation day is when no record of the order says (a REMOVE whose
# creation day could not be looked up): no creation-day table ever reads it.
UNKNOWN_DAY = "unknown"
EVENT_DAY = Partitioning("the UTC day the change was captured (the raw data's own partition)")
CREATION_DAY = Partitioning("the UTC day the order was created")
# order_events: by event day (what a refresh rewrites), then by the order's creation day, so
# the tables by creation day read only the events of the orders created on the days they build.
EVENT_THEN_CREATION_DAY = Partitioning(
    "the UTC day the change was captured, then the order's creation day (created_dt)",
    more_keys=(
        Column(
            "created_dt",
            "varchar",
            f"the UTC day the order was created ('{UNKNOWN_DAY}': no record of the order says)",
        ),
    ),
)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    partitioning: Partitioning | None = None
    # The dashboard reads these columns (in this order, sorted by `dashboard_order`).
    dashboard_columns: tuple[str, ...] = ()
    dashboard_order: tuple[str, ...] = ()
    # Columns of the raw change records this table's typed columns come from (order_events).
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return self.partitioning.keys if self.partitioning else ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column, the partition columns last (where Athena puts them)."""
        return (*(c.name for c in self.columns), *self.partition_keys)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# The order attributes an item may carry, with the type the analytics give each. Any of them
# may be missing from the data: the value is then NULL (see order_events' SQL).
ORDER_ATTRIBUTES: tuple[Column, ...] = (
    Column("orderid", "varchar", "the table key"),
    Column("customer_id", "varchar"),
    Column("customer_name", "varchar"),
    Column("product_id", "varchar"),
    Column("product_name", "varchar"),
    Column("category", "varchar"),
    Column("quantity", "integer"),
    Column("price", "decimal(18,2)", "unit price"),
    Column("discount", "decimal(18,2)"),
    Column("order_total", "decimal(18,2)", "quantity x price - discount"),
    Column("currency", "varchar"),
    Column("status", "varchar", "PLACED, PAID, SHIPPED, DELIVERED, CANCELLED or RETURNED"),
    Column("payment_method", "varchar"),
    Column("channel", "varchar"),
    Column("shipping_country", "varchar"),
    Column("shipping_city", "varchar"),
    Column("created_at", "varchar", "ISO 8601 UTC creation time of the order"),
    Column("updated_at", "varchar", "ISO 8601 UTC time of the order's last change"),
)
# What the Firehose transform adds to every record (DEVELOPERS.md, the record contract).
CDC_COLUMNS: tuple[Column, ...] = (
    Column("cdc_event_type", "varchar", "INSERT, MODIFY or REMOVE"),
    Column("event_id", "varchar", "the stream record's eventID: the same on a replay"),
    Column("sequence_number", "varchar", "the stream record's sequence number (decimal digits)"),
    Column("creation_datetime", "timestamp", "when DynamoDB captured the change (UTC)"),
    Column("is_deleted", "boolean"),
)

RAW = Table(
    name="orders_raw",
    description=(
        "Glue table over the Firehose landing zone: one JSON line per change, the columns the "
        "crawler found, partitioned by event day."
    ),
    columns=(),
    partitioning=EVENT_DAY,
)

ORDER_EVENTS = Table(
    name="order_events",
    description=(
        "Every change event once (one row per event_id and day), typed; a value that cannot be "
        "typed is NULL and the row says why in `rejected`."
    ),
    columns=(
        *ORDER_ATTRIBUTES,
        *CDC_COLUMNS,
        Column(
            "rejected",
            "varchar",
            "the raw values this row could not type and why (NULL: none); they are NULL above",
        ),
        Column(
            "source_file",
            "varchar",
            "the raw file (S3 URL) the change was read from: a refresh reads only files not here",
        ),
    ),
    partitioning=EVENT_THEN_CREATION_DAY,
    sources={c.name: c.name for c in (*ORDER_ATTRIBUTES, *CDC_COLUMNS)},
)

ORDERS_CURRENT = Table(
    name="orders_current",
    description=(
        "Latest state of every order by stream sequence number, partitioned by creation day; "
        "deleted orders are gone. Refreshed only for the creation days that changed."
    ),
    columns=(
        *(c for c in ORDER_ATTRIBUTES),
        Column("last_event_id", "varchar"),
        Column("last_sequence_number", "varchar"),
        Column("last_event_time", "timestamp"),
    ),
    partitioning=CREATION_DAY,
)

DAILY_SALES = Table(
    name="daily_sales",
    description=(
        "Per order-creation day, category and product: orders, units, gross revenue, discounts, "
        "net revenue (less orders now cancelled or returned) and average order value."
    ),
    columns=(
        Column("category", "varchar", "'unknown' when the orders carry none"),
        Column("product_name", "varchar", "'unknown' when the orders carry none"),
        Column("orders", "bigint"),
        Column("units", "bigint"),
        Column("gross_revenue", "decimal(18,2)"),
        Column("discounts", "decimal(18,2)"),
        Column("net_revenue", "decimal(18,2)"),
        Column("avg_order_value", "decimal(18,2)"),
    ),
    partitioning=CREATION_DAY,
    dashboard_columns=(
        "dt",
        "category",
        "product_name",
        "orders",
        "units",
        "gross_revenue",
        "discounts",
        "net_revenue",
        "avg_order_value",
    ),  # fmt: skip
    dashboard_order=("dt", "category", "product_name"),
)

DAILY_STATUS_FUNNEL = Table(
    name="daily_status_funnel",
    description=(
        "Per order-creation day: orders that ever reached each status and the conversion, "
        "cancellation and return rates (an order without a status counts as placed)."
    ),
    columns=(
        Column("placed", "bigint"),
        Column("paid", "bigint"),
        Column("shipped", "bigint"),
        Column("delivered", "bigint"),
        Column("cancelled", "bigint"),
        Column("returned", "bigint"),
        Column("paid_rate", "double"),
        Column("shipped_rate", "double"),
        Column("delivered_rate", "double"),
        Column("cancellation_rate", "double"),
        Column("return_rate", "double"),
    ),
    partitioning=CREATION_DAY,
    dashboard_columns=(
        "dt",
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
        "paid_rate",
        "shipped_rate",
        "delivered_rate",
        "cancellation_rate",
        "return_rate",
    ),  # fmt: skip
    dashboard_order=("dt",),
)

HOURLY_CDC_ACTIVITY = Table(
    name="hourly_cdc_activity",
    description="INSERT, MODIFY and REMOVE events and inserted revenue per UTC hour.",
    columns=(
        Column("event_hour", "timestamp"),
        Column("inserts", "bigint"),
        Column("modifies", "bigint"),
        Column("removes", "bigint"),
        Column("events", "bigint"),
        Column("inserted_revenue", "decimal(18,2)"),
    ),
    partitioning=EVENT_DAY,
    dashboard_columns=(
        "dt",
        "event_hour",
        "inserts",
        "modifies",
        "removes",
        "events",
        "inserted_revenue",
    ),  # fmt: skip
    dashboard_order=("event_hour",),
)

# The tables the analytics refresh builds, in the order it builds them.
ANALYTICS_TABLES: tuple[Table, ...] = (
    ORDER_EVENTS,
    ORDERS_CURRENT,
    DAILY_SALES,
    DAILY_STATUS_FUNNEL,
    HOURLY_CDC_ACTIVITY,
)
DASHBOARD_TABLES: tuple[Table, ...] = (DAILY_SALES, DAILY_STATUS_FUNNEL, HOURLY_CDC_ACTIVITY)
BY_NAME: dict[str, Table] = {t.name: t for t in (RAW, *ANALYTICS_TABLES)}


def table(name: str) -> Table:
    """The table called `name`; ValueError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"table must be one of {', '.join(BY_NAME)}, got {name!r}") from None
