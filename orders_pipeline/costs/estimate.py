"""Meters of the local stack -> dollars: cost per meter and per service, and a $/day projection.
Pure functions; the only I/O is reading the price file (prices_us_east_1.yaml) from the package.

The meters document (what the local stack reports under its status's `meters` key):

    {
      "started": number,          # epoch seconds: the start of the observed window
      "now": number,              # epoch seconds: its end; later than started
      "meters": {                 # meter name -> count so far, a number >= 0
        "<service>.<meter>": number, ...
      },
      "orders_per_day": number    # optional, > 0: the order rate observed in the window
    }

Every meter name must have an entry in the price file; a meter left out counts as 0. Counts are
in the meter's own unit: request units, requests, bytes, GB (2^30 bytes, as AWS bills), hours,
seconds, and GB-hours for storage (integrated over the window). Minimums AWS bills per call are
already applied by the local stack (Athena's 10 MB per query, a crawler run's 10 minutes).
"""

from __future__ import annotations

import difflib
import importlib.resources
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import yaml

PRICE_FILE = "prices_us_east_1.yaml"
SECONDS_PER_DAY = 86400
PER_TRAFFIC = "traffic"
PER_TIME = "time"
_DOCUMENT_FIELDS = ("started", "now", "meters", "orders_per_day")
_PRICE_FIELDS = {"price", "unit", "quantity", "per", "url", "date", "verified", "note"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Price:
    """One meter's list price: `price` USD per `unit`, which is `quantity` of the meter's units."""

    meter: str
    service: str
    price: float
    unit: str
    quantity: float
    per: str
    url: str
    date: str
    verified: bool
    note: str
    reason: str | None = None
    cross_check: str | None = None

    @property
    def usd_per_count(self) -> float:
        return self.price / self.quantity


@dataclass(frozen=True)
class PriceBook:
    """Every meter's price, the services' display names and where the prices came from."""

    prices: dict[str, Price]
    services: dict[str, str]
    region: str
    currency: str
    date: str
    source: str

    @property
    def unverified(self) -> int:
        return sum(not price.verified for price in self.prices.values())

    @property
    def dates(self) -> tuple[str, str]:
        """The earliest and the latest date an entry was read."""
        dates = sorted(price.date for price in self.prices.values())
        return dates[0], dates[-1]


@dataclass(frozen=True)
class Meters:
    """A validated meters document."""

    started: float
    now: float
    counts: dict[str, float]
    orders_per_day: float | None = None

    @property
    def seconds(self) -> float:
        return self.now - self.started


@dataclass(frozen=True)
class MeterCost:
    meter: str
    service: str
    count: float
    price: float  # USD per unit
    unit: str
    per: str
    usd: float  # in the observed window
    usd_per_day: float  # at the observed rate, times the scale for traffic meters
    share: float  # of the total $/day


@dataclass(frozen=True)
class ServiceCost:
    service: str
    name: str
    usd: float
    usd_per_day: float
    share: float


@dataclass(frozen=True)
class Estimate:
    started: float
    now: float
    scale: float
    usd: float
    usd_per_day: float
    services: list[ServiceCost]  # dearest per day first
    meters: list[MeterCost]  # dearest per day first

    @property
    def seconds(self) -> float:
        return self.now - self.started

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": self.seconds}


def load_prices() -> PriceBook:
    """The price file shipped with the package."""
    text = importlib.resources.files(__package__).joinpath(PRICE_FILE).read_text("utf-8")
    return parse_prices(
        yaml.safe_load(text), source=f"{__package__.replace('.', '/')}/{PRICE_FILE}"
    )


def parse_prices(document: Any, source: str = "prices") -> PriceBook:
    """A price file's content checked entry by entry; ValueError names the entry and field."""
    if not isinstance(document, Mapping):
        raise ValueError(f"{source}: expected a mapping, got {type(document).__name__}")
    services = document.get("services")
    entries = document.get("meters")
    if not isinstance(services, Mapping) or not isinstance(entries, Mapping) or not entries:
        raise ValueError(f"{source}: needs a `services` mapping and a non-empty `meters` mapping")
    prices = {}
    for meter, entry in entries.items():
        prices[meter] = _parse_price(meter, entry, services, f"{source}: meters.{meter}")
    return PriceBook(
        prices=prices,
        services={str(key): str(name) for key, name in services.items()},
        region=str(document.get("region", "")),
        currency=str(document.get("currency", "USD")),
        date=str(document.get("date", "")),
        source=source,
    )


def _parse_price(meter: str, entry: Any, services: Mapping, where: str) -> Price:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(entry).__name__}")
    missing = sorted(_PRICE_FIELDS - set(entry))
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    service = meter.split(".", 1)[0]
    if "." not in meter or service not in services:
        raise ValueError(f"{where}: name must be <service>.<meter> with a service under `services`")
    if not _is_number(entry["price"]) or entry["price"] < 0:
        raise ValueError(f"{where}.price: must be a number >= 0, got {entry['price']!r}")
    if not _is_number(entry["quantity"]) or entry["quantity"] <= 0:
        raise ValueError(f"{where}.quantity: must be a number > 0, got {entry['quantity']!r}")
    if entry["per"] not in (PER_TRAFFIC, PER_TIME):
        raise ValueError(f"{where}.per: must be {PER_TRAFFIC} or {PER_TIME}, got {entry['per']!r}")
    if not str(entry["url"]).startswith("https://"):
        raise ValueError(f"{where}.url: must be an https:// address, got {entry['url']!r}")
    if not _DATE.fullmatch(str(entry["date"])):
        raise ValueError(f"{where}.date: must be YYYY-MM-DD, got {entry['date']!r}")
    if not isinstance(entry["verified"], bool):
        raise ValueError(f"{where}.verified: must be true or false, got {entry['verified']!r}")
    if not entry["verified"] and not entry.get("reason"):
        raise ValueError(f"{where}.reason: an unverified price must say why")
    return Price(
        meter=meter,
        service=service,
        price=float(entry["price"]),
        unit=str(entry["unit"]),
        quantity=float(entry["quantity"]),
        per=entry["per"],
        url=str(entry["url"]),
        date=str(entry["date"]),
        verified=entry["verified"],
        note=str(entry["note"]),
        reason=entry.get("reason"),
        cross_check=entry.get("cross_check"),
    )


def parse_meters(document: Any, prices: PriceBook) -> Meters:
    """A meters document checked against the schema above; ValueError names the field and value."""
    where = "meters document"
    if not isinstance(document, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {type(document).__name__}")
    unknown = sorted(set(document) - set(_DOCUMENT_FIELDS))
    if unknown:
        known = ", ".join(_DOCUMENT_FIELDS)
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (known: {known})")
    for field in ("started", "now", "meters"):
        if field not in document:
            raise ValueError(f"{where}: field {field!r} is missing")
    started, now = document["started"], document["now"]
    for field, value in (("started", started), ("now", now)):
        if not _is_number(value) or value < 0:
            raise ValueError(f"{where}: field {field!r} must be epoch seconds, got {value!r}")
    if now <= started:
        raise ValueError(
            f"{where}: field 'now' ({now!r}) must be later than 'started' ({started!r})"
        )
    counts = document["meters"]
    if not isinstance(counts, Mapping):
        raise ValueError(f"{where}: field 'meters' must be an object, got {type(counts).__name__}")
    for meter, count in counts.items():
        if meter not in prices.prices:
            hint = _did_you_mean(meter, prices)
            raise ValueError(f"{where}: field 'meters.{meter}' is not a known meter{hint}")
        if not _is_number(count) or count < 0:
            raise ValueError(
                f"{where}: field 'meters.{meter}' must be a number >= 0, got {count!r}"
            )
    orders_per_day = document.get("orders_per_day")
    if orders_per_day is not None and (not _is_number(orders_per_day) or orders_per_day <= 0):
        raise ValueError(
            f"{where}: field 'orders_per_day' must be a number > 0, got {orders_per_day!r}"
        )
    return Meters(
        started=float(started),
        now=float(now),
        counts={meter: float(count) for meter, count in counts.items()},
        orders_per_day=None if orders_per_day is None else float(orders_per_day),
    )


def volume_scale(orders_per_day: float, observed_orders_per_day: float) -> float:
    """How many times the observed volume `orders_per_day` is; ValueError naming a bad input."""
    for name, value in (
        ("orders_per_day", orders_per_day),
        ("observed_orders_per_day", observed_orders_per_day),
    ):
        if not _is_number(value) or value <= 0:
            raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return orders_per_day / observed_orders_per_day


def estimate(meters: Meters, prices: PriceBook, scale: float = 1.0) -> Estimate:
    """Cost of the observed window and $/day at its rate; traffic meters' $/day times `scale`."""
    if not _is_number(scale) or scale <= 0:
        raise ValueError(f"scale must be a number > 0, got {scale!r}")
    per_day = SECONDS_PER_DAY / meters.seconds
    rows = []
    for meter, price in prices.prices.items():
        count = meters.counts.get(meter, 0.0)
        usd = count * price.usd_per_count
        # Time-driven meters (shard-hours, storage, polling, schedules) do not follow volume.
        factor = scale if price.per == PER_TRAFFIC else 1.0
        rows.append((meter, price, count, usd, usd * per_day * factor))
    total = sum(row[3] for row in rows)
    total_per_day = sum(row[4] for row in rows)
    meter_costs = [
        MeterCost(
            meter=meter,
            service=price.service,
            count=count,
            price=price.price,
            unit=price.unit,
            per=price.per,
            usd=usd,
            usd_per_day=usd_per_day,
            share=_share(usd_per_day, total_per_day),
        )
        for meter, price, count, usd, usd_per_day in rows
    ]
    service_costs = []
    for service, name in prices.services.items():
        mine = [cost for cost in meter_costs if cost.service == service]
        usd_per_day = sum(cost.usd_per_day for cost in mine)
        service_costs.append(
            ServiceCost(
                service=service,
                name=name,
                usd=sum(cost.usd for cost in mine),
                usd_per_day=usd_per_day,
                share=_share(usd_per_day, total_per_day),
            )
        )
    return Estimate(
        started=meters.started,
        now=meters.now,
        scale=scale,
        usd=total,
        usd_per_day=total_per_day,
        services=sorted(service_costs, key=lambda cost: -cost.usd_per_day),
        meters=sorted(meter_costs, key=lambda cost: -cost.usd_per_day),
    )


def _share(part: float, total: float) -> float:
    return part / total if total else 0.0


def _is_number(value: Any) -> bool:
    # bool is an int to Python, but `true` is no count; NaN and infinities are no counts either.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _did_you_mean(meter: str, prices: PriceBook) -> str:
    close = difflib.get_close_matches(meter, list(prices.prices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (the price file has no entry for it)"
