"""The order model: lifecycle table, exact money, validation messages, DynamoDB item round trip."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from orders_pipeline.orders.catalogue import DEFAULT_CATALOGUE, load_catalogue
from orders_pipeline.orders.model import (
    LEGAL_TRANSITIONS,
    TERMINAL_STATUSES,
    IllegalTransitionError,
    InvalidOrderError,
    Order,
    OrderStatus,
    format_timestamp,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_order(**overrides: object) -> Order:
    values: dict[str, object] = {
        "orderid": "7d0b8a35-2f9e-4c55-9a61-0c4f6d1e2b3a",
        "customer_id": "C-0000000000a1",
        "customer_name": "Ada Lovelace",
        "product_id": "ELE-1003",
        "product_name": "Mechanical Keyboard",
        "category": "Electronics",
        "quantity": 3,
        "price": Decimal("89.95"),
        "discount": Decimal("13.49"),
        "currency": "USD",
        "status": OrderStatus.PLACED,
        "payment_method": "credit_card",
        "channel": "web",
        "shipping_country": "United Kingdom",
        "shipping_city": "London",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Order(**values)


def test_lifecycle_table_is_the_documented_one() -> None:
    S = OrderStatus
    assert dict(LEGAL_TRANSITIONS) == {
        S.PLACED: {S.PAID, S.CANCELLED},
        S.PAID: {S.SHIPPED, S.CANCELLED},
        S.SHIPPED: {S.DELIVERED},
        S.DELIVERED: {S.RETURNED},
        S.CANCELLED: set(),
        S.RETURNED: set(),
    }
    assert TERMINAL_STATUSES == {S.CANCELLED, S.RETURNED}


@pytest.mark.parametrize("old,new", list(itertools.product(OrderStatus, OrderStatus)))
def test_transition_is_allowed_exactly_when_the_table_lists_it(
    old: OrderStatus, new: OrderStatus
) -> None:
    order = make_order(status=old)
    later = T0 + timedelta(minutes=5)
    if new in LEGAL_TRANSITIONS[old]:
        moved = order.transition(new, later)
        assert (moved.status, moved.updated_at, moved.created_at) == (new, later, T0)
        assert replace(moved, status=old, updated_at=T0) == order
    else:
        with pytest.raises(IllegalTransitionError, match=f"from {old} to {new}"):
            order.transition(new, later)


def test_order_total_is_exact_decimal_arithmetic() -> None:
    order = make_order(quantity=3, price=Decimal("89.95"), discount=Decimal("13.49"))
    assert order.order_total == Decimal("256.36")
    assert str(order.order_total) == "256.36"


def test_money_is_normalised_to_cents_as_dynamodb_trims_trailing_zeros() -> None:
    order = make_order(price=Decimal("19.9"), discount=Decimal("0"))
    assert (str(order.price), str(order.discount)) == ("19.90", "0.00")


def test_item_round_trips_through_its_dynamodb_form() -> None:
    order = make_order(status=OrderStatus.SHIPPED, updated_at=T0 + timedelta(hours=2))
    item = order.to_item()
    assert Order.from_item(item) == order
    assert item["order_total"] == Decimal("256.36")
    assert item["created_at"] == "2025-03-01T12:00:00.000Z"
    assert item["status"] == "SHIPPED"


def test_item_holds_no_float() -> None:
    assert not [k for k, v in make_order().to_item().items() if isinstance(v, float)]


def test_item_read_back_with_trimmed_numbers_parses() -> None:
    item = make_order().to_item() | {"price": Decimal("89.95"), "quantity": Decimal("3")}
    assert Order.from_item(item).quantity == 3


def test_timestamps_are_written_in_utc_with_milliseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 1, 13, 0, 0, 250_999, tzinfo=paris)
    assert format_timestamp(moment) == "2025-03-01T12:00:00.250Z"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("quantity", 0, "quantity: must be >= 1, got 0"),
        ("quantity", 1.5, "quantity: must be an integer, got 1.5"),
        ("price", 89.95, "price: money must be a Decimal, int or str, got float 89.95"),
        ("price", Decimal("89.955"), "price: must be in whole cents (2 dp), got Decimal('89.955')"),
        ("price", Decimal("-1.00"), "price: must be a finite amount >= 0"),
        ("price", Decimal("0"), "price: must be > 0"),
        ("discount", Decimal("269.85"), "discount: must be less than quantity * price (269.85)"),
        ("currency", "usd", "currency: must be a 3-letter ISO 4217 code, got 'usd'"),
        ("status", "LOST", "status: must be one of PLACED, PAID, SHIPPED, DELIVERED"),
        ("customer_name", "", "customer_name: must be a non-empty string, got ''"),
        ("created_at", datetime(2025, 3, 1), "created_at: must be a timezone-aware datetime"),
        ("updated_at", T0 - timedelta(seconds=1), "updated_at: must not be before created_at"),
    ],
)
def test_bad_field_is_refused_with_a_message_naming_field_and_value(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidOrderError) as error:
        make_order(**{field: value})
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("created_at", "2025-03-01 12:00:00", "created_at: expected an ISO 8601 UTC timestamp"),
        ("order_total", Decimal("1.00"), "order_total: must equal quantity * price - discount"),
    ],
)
def test_bad_item_is_refused_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidOrderError) as error:
        Order.from_item(make_order().to_item() | {field: value})
    assert str(error.value).startswith(message)


def test_item_missing_a_field_is_refused_naming_it() -> None:
    item = make_order().to_item()
    del item["channel"]
    with pytest.raises(InvalidOrderError, match="channel: missing"):
        Order.from_item(item)


def test_default_catalogue_has_unique_products_with_cent_prices() -> None:
    products = DEFAULT_CATALOGUE.products
    assert len({p.product_id for p in products}) == len(products) >= 20
    assert len(DEFAULT_CATALOGUE.categories) >= 5
    assert all(isinstance(p.price, Decimal) and p.price.as_tuple().exponent == -2 for p in products)


def test_catalogue_loads_from_csv_with_exact_prices(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "product_id,product_name,category,price\nP1,Teapot,Kitchen,12.5\nP2,Mug,Kitchen,4.99\n"
    )
    catalogue = load_catalogue(path)
    assert [(p.product_id, p.price) for p in catalogue.products] == [
        ("P1", Decimal("12.50")),
        ("P2", Decimal("4.99")),
    ]


@pytest.mark.parametrize(
    "csv_text,message",
    [
        ("product_id,product_name,price\nP1,Teapot,1.00\n", "category: column missing"),
        ("product_id,product_name,category,price\nP1,Teapot,Kitchen,cheap\n", "line 2: price"),
        (
            "product_id,product_name,category,price\nP1,A,K,1.00\nP1,B,K,2.00\n",
            "product_id: duplicate in catalogue: 'P1'",
        ),
    ],
)
def test_bad_catalogue_csv_is_refused_naming_the_problem(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(csv_text)
    with pytest.raises(InvalidOrderError, match=message):
        load_catalogue(path)
