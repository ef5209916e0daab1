"""A seeded, simulated-clock stream of order changes (INSERT/MODIFY/REMOVE) for a time-lapse shop.
Orders arrive as a Poisson process, then move along `LEGAL_TRANSITIONS`, in simulated-time order.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from faker import Faker

from orders_pipeline.orders.catalogue import DEFAULT_CATALOGUE, Catalogue
from orders_pipeline.orders.model import (
    CENT,
    LEGAL_TRANSITIONS,
    InvalidOrderError,
    Order,
    OrderStatus,
)


class EventType(StrEnum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


@dataclass(frozen=True, slots=True)
class OrderChange:
    """One write to the table: the order after the change, or only its key for a REMOVE."""

    event_type: EventType
    orderid: str
    order: Order | None

    @property
    def key(self) -> dict[str, str]:
        return {"orderid": self.orderid}


def _check_probability(owner: object, name: str) -> None:
    value = getattr(owner, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidOrderError(f"{name}: must be a probability between 0 and 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class ChangeMix:
    """How orders behave; every field is a probability."""

    cancel_rate: float = 0.08  # at each of PLACED and PAID, the next move is CANCELLED
    return_rate: float = 0.05  # a DELIVERED order is later RETURNED
    delete_rate: float = 0.02  # a finished order is later deleted (GDPR erasure, fraud purge)
    discount_rate: float = 0.20  # a new order carries a percentage discount
    repeat_customer_rate: float = 0.35  # a new order comes from an earlier customer

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_probability(self, f.name)


@dataclass(frozen=True, slots=True)
class LifecycleTiming:
    """Mean simulated seconds an order waits before its next change (exponentially distributed).

    Compressed like a time-lapse so a live demo shows whole lifecycles within minutes.
    """

    placed: float = 30.0
    paid: float = 120.0
    shipped: float = 300.0
    delivered: float = 600.0
    finished: float = 900.0  # from a final status until deletion, for the orders that get deleted

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidOrderError(f"{f.name}: must be a number of seconds > 0, got {value!r}")

    def mean_wait(self, status: OrderStatus) -> float:
        return getattr(self, status.value.lower(), self.finished)


# Which mix probability drives each branch off the happy path; all other moves are "forward".
_BRANCH_RATES = {OrderStatus.CANCELLED: "cancel_rate", OrderStatus.RETURNED: "return_rate"}
_REMOVE = "REMOVE"
_MAX_CUSTOMERS = 10_000  # bounded pool so an endless stream keeps constant memory

# (Faker locale, shipping country, relative weight)
_MARKETS = (
    ("en_US", "United States", 40),
    ("en_GB", "United Kingdom", 12),
    ("de_DE", "Germany", 10),
    ("fr_FR", "France", 8),
    ("en_CA", "Canada", 6),
    ("es_ES", "Spain", 5),
    ("it_IT", "Italy", 5),
    ("nl_NL", "Netherlands", 4),
    ("en_AU", "Australia", 4),
    ("pt_BR", "Brazil", 3),
    ("en_IN", "India", 3),
)
_PAYMENT_METHODS = (
    ("credit_card", 45),
    ("debit_card", 18),
    ("paypal", 17),
    ("apple_pay", 8),
    ("google_pay", 6),
    ("bank_transfer", 4),
    ("gift_card", 2),
)
_CHANNELS = (("web", 50), ("mobile", 35), ("marketplace", 12), ("social", 3))
_QUANTITIES = ((1, 60), (2, 22), (3, 10), (4, 5), (5, 3))
_DISCOUNT_PERCENTS = (5, 10, 15, 20, 25)


def _sort_city_lists(local: Faker) -> None:
    """Faker's it_IT address provider builds its city list from a set, in an order that changes
    with PYTHONHASHSEED; sorted, the same seed picks the same cities in every process."""
    for provider in local.get_providers():
        cities = getattr(provider, "cities", None)
        if isinstance(cities, list):
            provider.cities = sorted(cities)  # on this instance only, not Faker's module data


@dataclass(frozen=True, slots=True)
class _Customer:
    customer_id: str
    customer_name: str
    shipping_country: str
    shipping_city: str


class _Shop:
    """The simulation state: open orders keyed by id and a heap of their next changes."""

    def __init__(
        self,
        seed: int,
        mix: ChangeMix,
        timing: LifecycleTiming,
        catalogue: Catalogue,
        currency: str,
    ) -> None:
        self.rng = random.Random(seed)
        self.faker = Faker([locale for locale, _, _ in _MARKETS])
        self.faker.seed_instance(seed)
        for locale, _, _ in _MARKETS:
            _sort_city_lists(self.faker[locale])
        self.mix, self.timing, self.catalogue, self.currency = mix, timing, catalogue, currency
        self.customers: list[_Customer] = []
        self.orders: dict[str, Order] = {}
        self.next_action: dict[str, OrderStatus | str] = {}
        self.due: list[tuple[datetime, int, str]] = []
        self.sequence = 0

    def _pick(self, weighted: tuple[tuple[Any, int], ...]) -> Any:
        return self.rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]

    def later(self, moment: datetime, mean_seconds: float) -> datetime:
        # Whole milliseconds, at least one, so timestamps are exact in their text form and ordered.
        millis = max(1, round(self.rng.expovariate(1 / mean_seconds) * 1000))
        return moment + timedelta(milliseconds=millis)

    def _customer(self) -> _Customer:
        if self.customers and self.rng.random() < self.mix.repeat_customer_rate:
            return self.rng.choice(self.customers)
        locale, country = self._pick(tuple(((loc, c), w) for loc, c, w in _MARKETS))
        local = self.faker[locale]
        customer = _Customer(
            f"C-{self.rng.getrandbits(48):012x}", local.name(), country, local.city()
        )
        if len(self.customers) < _MAX_CUSTOMERS:
            self.customers.append(customer)
        else:
            self.customers[self.rng.randrange(_MAX_CUSTOMERS)] = customer
        return customer

    def new_order(self, at: datetime) -> Order:
        customer = self._customer()
        product = self.rng.choice(self.catalogue.products)
        quantity = self._pick(_QUANTITIES)
        discount = Decimal(0)
        if self.rng.random() < self.mix.discount_rate:
            percent = self.rng.choice(_DISCOUNT_PERCENTS)
            discount = (quantity * product.price * percent / 100).quantize(CENT, ROUND_HALF_UP)
        order = Order(
            orderid=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            customer_id=customer.customer_id,
            customer_name=customer.customer_name,
            product_id=product.product_id,
            product_name=product.product_name,
            category=product.category,
            quantity=quantity,
            price=product.price,
            discount=discount,
            currency=self.currency,
            status=OrderStatus.PLACED,
            payment_method=self._pick(_PAYMENT_METHODS),
            channel=self._pick(_CHANNELS),
            shipping_country=customer.shipping_country,
            shipping_city=customer.shipping_city,
            created_at=at,
            updated_at=at,
        )
        self.orders[order.orderid] = order
        self._schedule(order)
        return order

    def _next_status(self, status: OrderStatus) -> OrderStatus | None:
        """Draw the next move from the legal table; None means the order stays where it is."""
        moves = LEGAL_TRANSITIONS[status]
        draw = self.rng.random()
        for branch in sorted(moves & _BRANCH_RATES.keys()):
            rate = getattr(self.mix, _BRANCH_RATES[branch])
            if draw < rate:
                return branch
            draw -= rate
        forward = sorted(moves - _BRANCH_RATES.keys())
        return forward[0] if forward else None

    def _schedule(self, order: Order) -> None:
        action: OrderStatus | str | None = self._next_status(order.status)
        mean_wait = self.timing.mean_wait(order.status)
        if action is None:
            if self.rng.random() >= self.mix.delete_rate:
                del self.orders[order.orderid]  # finished and kept: no further changes
                return
            action, mean_wait = _REMOVE, self.timing.finished
        self.next_action[order.orderid] = action
        self.sequence += 1
        heapq.heappush(
            self.due, (self.later(order.updated_at, mean_wait), self.sequence, order.orderid)
        )

    def next_due(self) -> datetime | None:
        return self.due[0][0] if self.due else None

    def advance(self) -> OrderChange:
        at, _, orderid = heapq.heappop(self.due)
        action = self.next_action.pop(orderid)
        if action == _REMOVE:
            del self.orders[orderid]
            return OrderChange(EventType.REMOVE, orderid, None)
        order = self.orders[orderid].transition(action, at)
        self.orders[orderid] = order
        self._schedule(order)
        return OrderChange(EventType.MODIFY, orderid, order)


def generate_changes(
    count: int | None,
    *,
    seed: int = 0,
    start: datetime | None = None,
    orders_per_second: float = 10.0,
    mix: ChangeMix | None = None,
    timing: LifecycleTiming | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
    currency: str = "USD",
    finish_lifecycles: bool = True,
) -> Iterator[OrderChange]:
    """Yield `count` new orders (None: endlessly) interleaved with the later changes of open orders.

    `orders_per_second` is the simulated arrival rate; `start` (default: now) is the simulated
    clock's origin, so the same seed and start give an identical stream. With
    `finish_lifecycles`, after the last new order the stream goes on until every order is final.
    """
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise InvalidOrderError(f"count: must be an integer >= 1 or None, got {count!r}")
    if not orders_per_second > 0:
        raise InvalidOrderError(f"orders_per_second: must be > 0, got {orders_per_second!r}")
    clock = start if start is not None else datetime.now(UTC)
    if clock.utcoffset() is None:
        raise InvalidOrderError(f"start: must be timezone-aware, got {clock!r}")
    clock = clock.astimezone(UTC).replace(microsecond=clock.microsecond // 1000 * 1000)
    shop = _Shop(seed, mix or ChangeMix(), timing or LifecycleTiming(), catalogue, currency)
    # Settings are checked above, at the call; the stream itself is lazy.
    return _run(shop, count, clock, orders_per_second, finish_lifecycles)


def _run(
    shop: _Shop, count: int | None, clock: datetime, orders_per_second: float, finish: bool
) -> Iterator[OrderChange]:
    placed = 0
    next_arrival = clock
    while count is None or placed < count:
        due = shop.next_due()
        if due is not None and due < next_arrival:
            yield shop.advance()
            continue
        order = shop.new_order(next_arrival)
        placed += 1
        yield OrderChange(EventType.INSERT, order.orderid, order)
        next_arrival = shop.later(next_arrival, 1 / orders_per_second)
    while finish and shop.next_due() is not None:
        yield shop.advance()


def apply_changes(
    changes: Iterable[OrderChange], table: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The table state after `changes`, as orderid -> item, with DynamoDB put/delete semantics.

    Pure: the expected final state of `OrdersRawTable`, used as the oracle by tests and checks.
    """
    state = dict(table or {})
    for change in changes:
        if change.event_type is EventType.REMOVE:
            state.pop(change.orderid, None)
        else:
            state[change.orderid] = change.order.to_item()
    return state
