"""The order domain in pure Python (no AWS): order model, product catalogue, change stream."""

from orders_pipeline.orders.catalogue import DEFAULT_CATALOGUE, Catalogue, Product, load_catalogue
from orders_pipeline.orders.changes import (
    ChangeMix,
    EventType,
    LifecycleTiming,
    OrderChange,
    apply_changes,
    generate_changes,
)
from orders_pipeline.orders.model import (
    LEGAL_TRANSITIONS,
    TERMINAL_STATUSES,
    IllegalTransitionError,
    InvalidOrderError,
    Order,
    OrderStatus,
    format_timestamp,
    is_legal_transition,
)

__all__ = [
    "DEFAULT_CATALOGUE",
    "LEGAL_TRANSITIONS",
    "TERMINAL_STATUSES",
    "Catalogue",
    "ChangeMix",
    "EventType",
    "IllegalTransitionError",
    "InvalidOrderError",
    "LifecycleTiming",
    "Order",
    "OrderChange",
    "OrderStatus",
    "Product",
    "apply_changes",
    "format_timestamp",
    "generate_changes",
    "is_legal_transition",
    "load_catalogue",
]
