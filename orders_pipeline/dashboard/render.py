"""The dashboard page: one self-contained HTML document (plotly.js inlined) that works offline."""

from collections.abc import Mapping
from html import escape

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from orders_pipeline.dashboard.charts import CHART_TITLES, build_charts
from orders_pipeline.dashboard.health import PipelineHealth, describe_health, format_timestamp
from orders_pipeline.dashboard.kpis import (
    KPI_DETAILS,
    KPI_LABELS,
    NO_DATA,
    compute_kpis,
    format_kpi,
    kpi_values,
)
from orders_pipeline.dashboard.queries import DASHBOARD_DAYS
from orders_pipeline.tables import DAILY_STATUS_FUNNEL

FUNNEL_TABLE_HEADER = (
    "Order date",
    "Placed",
    "Delivered",
    "Cancelled",
    "Returned",
    "Cancellation rate",
    "Return rate",
)
FUNNEL_TABLE_COUNTS = ("placed", "delivered", "cancelled", "returned")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem;
       color: #222; background: #fafafa; }
h1 { margin-bottom: 0.2rem; } .generated { color: #666; margin-top: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 0.8rem; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.7rem 0.9rem; }
.card .label { color: #666; font-size: 0.85rem; }
.card .value { font-size: 1.4rem; font-weight: 600; margin-top: 0.2rem; }
.card.warn { border-color: #e45756; } .card.warn .value { color: #c0392b; }
.card .detail { color: #666; font-size: 0.8rem; margin-top: 0.2rem; }
/* auto-fill keeps the columns while the page is still loading: each plot sizes itself to its
   cell when its inline script runs, before the later cells exist. */
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1rem; }
/* min-width: 0 lets a grid cell shrink below the plot's first drawn width, so plots fit it. */
.chart { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 1rem;
         min-width: 0; }
.chart h2, section > h2 { font-size: 1.05rem; }
.no-data { color: #666; font-style: italic; padding: 2rem 0; text-align: center; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.banner { background: #fff8e1; border: 1px solid #f0c36d; border-radius: 6px;
          padding: 0.8rem 1rem; }
"""


def render_dashboard(tables: Mapping[str, pd.DataFrame], health: PipelineHealth) -> str:
    """The whole page for these aggregate tables and health signals, dated health.checked_at."""
    kpis = compute_kpis(tables)
    charts = build_charts(tables)
    banner = ""
    if all(figure is None for figure in charts.values()):
        banner = (
            f'<p class="banner no-data-banner">{NO_DATA.capitalize()}: the aggregate tables are '
            "empty. Generate orders and let the pipeline materialize the analytics, "
            "then this page refreshes.</p>"
        )
    values = kpi_values(kpis)
    kpi_cards = "\n".join(
        _card(
            label,
            format_kpi(name, values[name]),
            attributes=f'data-kpi="{name}" data-value="{_attribute(values[name])}"',
            detail=KPI_DETAILS.get(name, ""),
        )
        for name, label in KPI_LABELS
    )
    chart_sections = "\n".join(
        _chart_section(name, title, charts[name]) for name, title in CHART_TITLES
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orders pipeline dashboard</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>Orders pipeline</h1>
<p class="generated">Generated {format_timestamp(health.checked_at)} from the aggregate tables' \
last {DASHBOARD_DAYS} days of data.</p>
{banner}
<section><h2>Headline KPIs</h2><div class="cards">
{kpi_cards}
</div></section>
<section><h2>Pipeline health</h2><div class="cards">
{_health_cards(health)}
</div></section>
<section><h2>Charts</h2><div class="charts">
{chart_sections}
</div></section>
<section class="table" data-table="{DAILY_STATUS_FUNNEL.name}"><h2>Daily status funnel</h2>
{_daily_funnel_table(tables[DAILY_STATUS_FUNNEL.name])}
</section>
</body>
</html>
"""


def _card(label: str, value: str, *, attributes: str, detail: str = "", warn: bool = False) -> str:
    detail_html = f'<div class="detail">{escape(detail)}</div>' if detail else ""
    return (
        f'<div class="card{" warn" if warn else ""}" {attributes}>'
        f'<div class="label">{escape(label)}</div><div class="value">{escape(value)}</div>'
        f"{detail_html}</div>"
    )


def _health_cards(health: PipelineHealth) -> str:
    return "\n".join(
        _card(
            signal.label,
            signal.text,
            attributes=f'data-health="{signal.name}" data-value="{escape(signal.raw)}"',
            detail=signal.detail,
            warn=signal.warn,
        )
        for signal in describe_health(health)
    )


def _chart_section(name: str, title: str, figure: object) -> str:
    if figure is None:
        body = f'<p class="no-data">{NO_DATA}</p>'
    else:
        body = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{name}",
            config=PLOTLY_CONFIG,
            default_height="380px",
        )
    return f'<section class="chart" data-chart="{name}"><h2>{escape(title)}</h2>{body}</section>'


def _daily_funnel_table(funnel: pd.DataFrame) -> str:
    """Newest order date first; rates recomputed from the counts shown beside them."""
    if not len(funnel):
        return f'<p class="no-data">{NO_DATA}</p>'
    header = "".join(f"<th>{escape(title)}</th>" for title in FUNNEL_TABLE_HEADER)
    body = []
    for row in funnel.sort_values("dt", ascending=False).itertuples(index=False):
        placed = int(row.placed)
        cells = [
            escape(str(row.dt)),
            *(f"{int(getattr(row, column)):,}" for column in FUNNEL_TABLE_COUNTS),
            format_kpi("cancellation_rate", int(row.cancelled) / placed if placed else None),
            format_kpi("return_rate", int(row.returned) / placed if placed else None),
        ]
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _attribute(value: object) -> str:
    return "" if value is None else escape(str(value))
