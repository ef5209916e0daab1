"""The product catalogue orders are drawn from: a built-in shop range, or one loaded from CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from orders_pipeline.orders.model import InvalidOrderError, to_money

CATALOGUE_COLUMNS = ("product_id", "product_name", "category", "price")


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    product_name: str
    category: str
    price: Decimal

    def __post_init__(self) -> None:
        for name in ("product_id", "product_name", "category"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidOrderError(f"{name}: must be a non-empty string, got {value!r}")
        object.__setattr__(self, "price", to_money("price", self.price))
        if self.price == 0:
            raise InvalidOrderError(f"price: must be > 0 for {self.product_id}, got {self.price}")


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: tuple[Product, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "products", tuple(self.products))
        if not self.products:
            raise InvalidOrderError("products: a catalogue needs at least one product, got none")
        seen: set[str] = set()
        for product in self.products:
            if product.product_id in seen:
                raise InvalidOrderError(
                    f"product_id: duplicate in catalogue: {product.product_id!r}"
                )
            seen.add(product.product_id)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({p.category for p in self.products}))


def _products(category: str, rows: Iterable[tuple[str, str, str]]) -> list[Product]:
    return [Product(pid, name, category, Decimal(price)) for pid, name, price in rows]


DEFAULT_CATALOGUE = Catalogue(
    tuple(
        _products(
            "Electronics",
            [
                ("ELE-1001", "Wireless Noise-Cancelling Headphones", "249.99"),
                ("ELE-1002", "27-inch 4K Monitor", "329.00"),
                ("ELE-1003", "Mechanical Keyboard", "89.95"),
                ("ELE-1004", "USB-C Charging Hub", "39.99"),
                ("ELE-1005", "Smartwatch Series 5", "199.00"),
                ("ELE-1006", "Portable Bluetooth Speaker", "59.90"),
            ],
        )
        + _products(
            "Home & Kitchen",
            [
                ("HOM-2001", "Espresso Machine", "449.00"),
                ("HOM-2002", "Cast Iron Skillet 12-inch", "34.50"),
                ("HOM-2003", "Chef's Knife 8-inch", "79.00"),
                ("HOM-2004", "Robot Vacuum Cleaner", "279.99"),
                ("HOM-2005", "Linen Duvet Cover Set", "119.00"),
            ],
        )
        + _products(
            "Books",
            [
                ("BOO-3001", "Designing Data-Intensive Applications", "44.99"),
                ("BOO-3002", "The Pragmatic Programmer", "39.95"),
                ("BOO-3003", "Atlas of Remote Islands", "18.00"),
                ("BOO-3004", "Salt, Fat, Acid, Heat", "25.99"),
            ],
        )
        + _products(
            "Clothing",
            [
                ("CLO-4001", "Merino Wool Sweater", "89.00"),
                ("CLO-4002", "Waterproof Rain Jacket", "149.00"),
                ("CLO-4003", "Organic Cotton T-Shirt", "19.99"),
                ("CLO-4004", "Slim Fit Chinos", "59.00"),
            ],
        )
        + _products(
            "Sports & Outdoors",
            [
                ("SPO-5001", "Trail Running Shoes", "129.95"),
                ("SPO-5002", "Yoga Mat 6mm", "29.99"),
                ("SPO-5003", "2-Person Camping Tent", "189.00"),
                ("SPO-5004", "Adjustable Dumbbell Set", "299.00"),
            ],
        )
        + _products(
            "Beauty",
            [
                ("BEA-6001", "Vitamin C Serum", "24.50"),
                ("BEA-6002", "Electric Toothbrush", "69.99"),
                ("BEA-6003", "Hair Dryer 2000W", "54.00"),
            ],
        )
        + _products(
            "Toys & Games",
            [
                ("TOY-7001", "1000-Piece Jigsaw Puzzle", "17.99"),
                ("TOY-7002", "Strategy Board Game", "44.00"),
                ("TOY-7003", "Building Bricks Starter Set", "49.99"),
            ],
        )
        + _products(
            "Grocery",
            [
                ("GRO-8001", "Single-Origin Coffee Beans 1kg", "27.50"),
                ("GRO-8002", "Extra Virgin Olive Oil 1L", "14.95"),
                ("GRO-8003", "Matcha Green Tea 100g", "22.00"),
            ],
        )
    )
)


def load_catalogue(path: Path) -> Catalogue:
    """Read a CSV with columns product_id, product_name, category, price (decimal text)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CATALOGUE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise InvalidOrderError(f"{missing[0]}: column missing from catalogue {path}")
        products = []
        for line, row in enumerate(reader, start=2):
            try:
                products.append(Product(*(row[c] for c in CATALOGUE_COLUMNS)))
            except InvalidOrderError as error:
                raise InvalidOrderError(f"{path} line {line}: {error}") from None
    return Catalogue(tuple(products))
