"""The quality checks of the analytics tables, all answered by one query (quality.sql): which
checks there are, and how a row of that query becomes their results."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from orders_pipeline import tables

# How old the newest change may be before the freshness check fails.
FRESHNESS_MINUTES = 60.0


@dataclass(frozen=True)
class Rule:
    name: str
    table: str
    guarantee: str
    count: str  # the quality row's field that counts the rows breaking it
    examples: tuple[str, ...]
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


RULES: tuple[Rule, ...] = (
    Rule(
        "valid_cdc_event_type",
        tables.ORDER_EVENTS.name,
        "cdc_event_type is INSERT, MODIFY or REMOVE",
        "invalid_cdc_event_type",
        ("invalid_cdc_event_type_example",),
    ),
    Rule(
        "orderid_not_null",
        tables.ORDER_EVENTS.name,
        "every change names its order",
        "null_orderid",
        ("null_orderid_example",),
    ),
    Rule(
        "price_not_negative",
        tables.ORDER_EVENTS.name,
        "price >= 0 where there is one",
        "negative_price",
        ("negative_price_example",),
    ),
    Rule(
        "quantity_positive",
        tables.ORDER_EVENTS.name,
        "quantity > 0 where there is one",
        "non_positive_quantity",
        ("non_positive_quantity_example",),
    ),
    Rule(
        "no_rejected_values",
        tables.ORDER_EVENTS.name,
        "every value of the raw records could be typed",
        "rejected_rows",
        ("rejected_example", "rejected_other_example"),
    ),
    Rule(
        "creation_day_known",
        tables.ORDER_EVENTS.name,
        "every INSERT and MODIFY has a creation day (else no creation-day table counts it: a "
        "created_at that is not a date-time)",
        "unknown_creation_day",
        ("unknown_creation_day_example",),
        dg.AssetCheckSeverity.WARN,
    ),
    Rule(
        "unique_event_id",
        tables.ORDER_EVENTS.name,
        "each event_id appears once a day",
        "duplicate_event_ids",
        ("duplicate_event_id_example",),
    ),
    Rule(
        "unique_orderid",
        tables.ORDERS_CURRENT.name,
        "each orderid appears once",
        "duplicate_orderids",
        ("duplicate_orderid_example",),
    ),
)
FRESHNESS = "newest_event_fresh"


def rule_result(rule: Rule, row: Mapping[str, Any], scope: str) -> dg.AssetCheckResult:
    failing = int(row.get(rule.count) or 0)
    # Two example fields may name the same row: each example once.
    examples = list(dict.fromkeys(str(row[e]) for e in rule.examples if row.get(e) is not None))
    return dg.AssetCheckResult(
        asset_key=rule.table,
        check_name=rule.name,
        passed=failing == 0,
        severity=rule.severity,
        description=(
            f"{rule.guarantee} ({scope})"
            if failing == 0
            else f"{failing} rows break: {rule.guarantee} ({scope}); e.g. {'; '.join(examples)}"
        ),
        metadata={
            "failing_rows": dg.MetadataValue.int(failing),
            "examples": dg.MetadataValue.json(examples),
            "scope": dg.MetadataValue.text(scope),
        },
    )


def event_age(newest: datetime | None, now: datetime) -> float | None:
    """Minutes since the newest event; Athena timestamps carry no zone and are UTC here."""
    if newest is None:
        return None
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return (now - newest).total_seconds() / 60


def freshness_result(row: Mapping[str, Any], now: datetime) -> dg.AssetCheckResult:
    newest = row.get("newest_event_time")
    minutes = event_age(newest, now)
    return dg.AssetCheckResult(
        asset_key=tables.ORDER_EVENTS.name,
        check_name=FRESHNESS,
        passed=minutes is not None and minutes <= FRESHNESS_MINUTES,
        description=(
            "no events in the refreshed days"
            if minutes is None
            else f"the newest change is {minutes:.1f} minutes old"
        ),
        metadata={
            "newest_event_time": dg.MetadataValue.text(str(newest)),
            "age_minutes": dg.MetadataValue.float(round(minutes, 1) if minutes is not None else -1),
            "max_age_minutes": dg.MetadataValue.float(FRESHNESS_MINUTES),
        },
    )


class QualityResults:
    """The checks' specs and their results from a quality row."""

    @property
    def specs(self) -> list[dg.AssetCheckSpec]:
        specs = [dg.AssetCheckSpec(r.name, asset=r.table, description=r.guarantee) for r in RULES]
        specs.append(
            dg.AssetCheckSpec(
                FRESHNESS,
                asset=tables.ORDER_EVENTS.name,
                description=f"The newest change is at most {FRESHNESS_MINUTES:g} minutes old.",
            )
        )
        return specs

    def results(
        self, row: Mapping[str, Any] | None, *, now: datetime, scope: str = "the days refreshed"
    ) -> Iterator[dg.AssetCheckResult]:
        if row is None:
            return
        for rule in RULES:
            yield rule_result(rule, row, scope)
        yield freshness_result(row, now)

    def failed(self, why: str) -> Iterator[dg.AssetCheckResult]:
        """Every check failed, with the one-line reason their query could not run."""
        for spec in self.specs:
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=False,
                description=f"the check could not run: {why}",
                metadata={"error": dg.MetadataValue.text(why)},
            )


quality_results = QualityResults()
