"""An Estimate as the lines `orders-pipeline cost` prints: by service, top meters, price footer."""

from __future__ import annotations

from datetime import UTC, datetime

from orders_pipeline.costs.estimate import PER_TIME, Estimate, PriceBook


def render(
    result: Estimate,
    prices: PriceBook,
    source: str,
    projection: str | None = None,
    top: int = 5,
) -> list[str]:
    """The report: what was observed where, the cost by service, the dearest meters, the prices."""
    lines = [f"observed {_duration(result.seconds)} on {source}: {_window(result)}"]
    if projection:
        lines.append(projection)
    lines.append("")
    width = max(len("total"), *(len(cost.name) for cost in result.services))
    lines.append(f"{'service':<{width}}  {'so far':>10}  {'$/day':>10}  {'share':>6}")
    for cost in result.services:
        lines.append(
            f"{cost.name:<{width}}  {_usd(cost.usd):>10}  {_usd(cost.usd_per_day):>10}"
            f"  {cost.share:>6.1%}"
        )
    lines.append(
        f"{'total':<{width}}  {_usd(result.usd):>10}  {_usd(result.usd_per_day):>10}"
        f"  {1 if result.usd_per_day else 0:>6.1%}"
    )
    lines.append("")
    lines.append(f"top meters by $/day ([{PER_TIME}] ones do not grow with orders):")
    billed = [cost for cost in result.meters if cost.usd_per_day > 0][:top]
    meter_width = max((len(cost.meter) for cost in billed), default=0)
    for cost in billed:
        lines.append(
            f"  {cost.meter:<{meter_width}}  {_usd(cost.usd_per_day):>10}  {cost.share:>6.1%}"
            f"  [{cost.per}] {_count(cost.count)} x ${cost.price:g} per {cost.unit}"
        )
    if not billed:
        lines.append("  - (nothing billable was metered)")
    lines.append("")
    lines.append(_footer(prices))
    return lines


def _footer(prices: PriceBook) -> str:
    first, last = prices.dates
    read = first if first == last else f"{first} to {last}"
    verified = f"{prices.unverified} of {len(prices.prices)} not verified on a stored pricing page"
    return (
        f"prices: {prices.source}, {prices.region} on-demand list prices read {read} "
        f"({verified}); free tiers not applied"
    )


def _window(result: Estimate) -> str:
    start = datetime.fromtimestamp(result.started, UTC)
    end = datetime.fromtimestamp(result.now, UTC)
    end_format = "%H:%M:%S" if start.date() == end.date() else "%Y-%m-%d %H:%M:%S"
    return f"{start:%Y-%m-%d %H:%M:%S} to {end:{end_format}} UTC"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{seconds:.1f} s"


def _usd(value: float) -> str:
    # Local windows cost fractions of a cent: keep four decimals until there are whole dollars.
    return f"${value:,.2f}" if value >= 100 else f"${value:,.4f}"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.6g}"
