"""The order record kept in `OrdersRawTable`: fields, validation, and the legal status lifecycle.
Pure Python: money is `Decimal` end to end and timestamps are UTC, so items round-trip exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


class InvalidOrderError(ValueError):
    """An order field holds a value the model does not accept; the message names field and value."""


class IllegalTransitionError(ValueError):
    """A status change that the order lifecycle does not allow."""


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"


_S = OrderStatus
# The lifecycle as data: the generator draws its moves from this table, tests check against it.
LEGAL_TRANSITIONS: MappingProxyType[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.PLACED: frozenset({_S.PAID, _S.CANCELLED}),
        _S.PAID: frozenset({_S.SHIPPED, _S.CANCELLED}),
        _S.SHIPPED: frozenset({_S.DELIVERED}),
        _S.DELIVERED: frozenset({_S.RETURNED}),
        _S.CANCELLED: frozenset(),
        _S.RETURNED: frozenset(),
    }
)
TERMINAL_STATUSES = frozenset(s for s, moves in LEGAL_TRANSITIONS.items() if not moves)


def is_legal_transition(old: OrderStatus, new: OrderStatus) -> bool:
    return new in LEGAL_TRANSITIONS[old]


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with millisecond precision and a `Z` suffix, e.g. `2025-01-31T09:15:00.250Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timestamp(field: str, text: Any) -> datetime:
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise InvalidOrderError(
            f"{field}: expected an ISO 8601 UTC timestamp ending in 'Z', got {text!r}"
        )
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def to_money(field: str, value: Any) -> Decimal:
    """A non-negative amount in whole cents as a 2-dp Decimal; floats are refused, not rounded."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidOrderError(
            f"{field}: money must be a Decimal, int or str, got {type(value).__name__} {value!r}"
        )
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise InvalidOrderError(f"{field}: not a number: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidOrderError(f"{field}: must be a finite amount >= 0, got {value!r}")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise InvalidOrderError(f"{field}: must be in whole cents (2 dp), got {value!r}")
    return cents


_TEXT_FIELDS = (
    "orderid",
    "customer_id",
    "customer_name",
    "product_id",
    "product_name",
    "category",
    "payment_method",
    "channel",
    "shipping_country",
    "shipping_city",
)


@dataclass(frozen=True, slots=True)
class Order:
    """One order line as stored in DynamoDB; `order_total` is derived, never stored separately."""

    orderid: str
    customer_id: str
    customer_name: str
    product_id: str
    product_name: str
    category: str
    quantity: int
    price: Decimal
    discount: Decimal
    currency: str
    status: OrderStatus
    payment_method: str
    channel: str
    shipping_country: str
    shipping_city: str
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidOrderError(f"{name}: must be a non-empty string, got {value!r}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise InvalidOrderError(f"quantity: must be an integer, got {self.quantity!r}")
        if self.quantity < 1:
            raise InvalidOrderError(f"quantity: must be >= 1, got {self.quantity!r}")
        # Normalised to 2 dp because DynamoDB trims trailing zeros ("12.50" comes back as 12.5).
        object.__setattr__(self, "price", to_money("price", self.price))
        object.__setattr__(self, "discount", to_money("discount", self.discount))
        if self.price == 0:
            raise InvalidOrderError(f"price: must be > 0, got {self.price!r}")
        if self.discount >= self.gross:
            raise InvalidOrderError(
                f"discount: must be less than quantity * price ({self.gross}), got {self.discount}"
            )
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidOrderError(
                f"currency: must be a 3-letter ISO 4217 code, got {self.currency!r}"
            )
        try:
            object.__setattr__(self, "status", OrderStatus(self.status))
        except ValueError:
            raise InvalidOrderError(
                f"status: must be one of {', '.join(OrderStatus)}, got {self.status!r}"
            ) from None
        for name in ("created_at", "updated_at"):
            moment = getattr(self, name)
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise InvalidOrderError(
                    f"{name}: must be a timezone-aware datetime, got {moment!r}"
                )
        if self.updated_at < self.created_at:
            raise InvalidOrderError(
                f"updated_at: must not be before created_at ({format_timestamp(self.created_at)}),"
                f" got {format_timestamp(self.updated_at)}"
            )

    @property
    def gross(self) -> Decimal:
        return self.quantity * self.price

    @property
    def order_total(self) -> Decimal:
        return self.gross - self.discount

    def transition(self, new_status: OrderStatus, at: datetime) -> Order:
        """The order moved to `new_status` at `at`; raises on a move the lifecycle forbids."""
        if not is_legal_transition(self.status, new_status):
            raise IllegalTransitionError(
                f"status: order {self.orderid} cannot move from {self.status} to {new_status}"
            )
        return replace(self, status=new_status, updated_at=at)

    def to_item(self) -> dict[str, str | int | Decimal]:
        """The DynamoDB item (boto3 resource form): strings as S, int and Decimal as N."""
        return {
            "orderid": self.orderid,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "product_id": self.product_id,
            "product_name": self.product_name,
            "category": self.category,
            "quantity": self.quantity,
            "price": self.price,
            "discount": self.discount,
            "order_total": self.order_total,
            "currency": self.currency,
            "status": self.status.value,
            "payment_method": self.payment_method,
            "channel": self.channel,
            "shipping_country": self.shipping_country,
            "shipping_city": self.shipping_city,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Order:
        """Parse an item read back with boto3; a stored `order_total` must match the derived one."""
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in item]
        if missing:
            raise InvalidOrderError(f"{missing[0]}: missing from item {item.get('orderid')!r}")
        values = {name: item[name] for name in names}
        quantity = values["quantity"]
        if isinstance(quantity, Decimal) and quantity == quantity.to_integral_value():
            values["quantity"] = int(quantity)
        values["created_at"] = parse_timestamp("created_at", values["created_at"])
        values["updated_at"] = parse_timestamp("updated_at", values["updated_at"])
        order = cls(**values)
        if (
            "order_total" in item
            and to_money("order_total", item["order_total"]) != order.order_total
        ):
            raise InvalidOrderError(
                f"order_total: must equal quantity * price - discount ({order.order_total}),"
                f" got {item['order_total']!r}"
            )
        return order
