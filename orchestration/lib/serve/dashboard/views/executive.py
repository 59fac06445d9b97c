"""Executive: revenue retention, churn, customer lifetime value and MRR movements."""

from __future__ import annotations

from orchestration.lib.serve.dashboard.blocks import card, tile
from orchestration.lib.serve.dashboard.charts import SERIES_COLORS, Series, diverging_columns, line_chart
from orchestration.lib.serve.dashboard.formatting import fmt_period
from orchestration.lib.serve.dashboard.views.common import MONTHS, Context
from orchestration.lib.serve.dashboard.views.program import headline_tiles


def view_executive(ctx: Context) -> str:
    d = ctx.data
    until = ctx.as_of
    tiles = []
    for metric, label, grain in (
        ("nrr_pct", "Net revenue retention", "month"),
        ("grr_pct", "Gross revenue retention", "month"),
        ("logo_churn_rate_pct", "Logo churn, monthly", "month"),
        ("annualized_logo_churn_pct", "Logo churn, annualized", "month"),
        ("revenue_churn_rate_pct", "Revenue churn, monthly", "month"),
        ("cltv", "Customer lifetime value", "month"),
        ("arpa_annual", "ARPA, annual", "month"),
        ("nrr_pct", "NRR, last quarter", "quarter"),
    ):
        p = d.latest(metric, grain, until=until)
        if grain == "month":
            ctx.figures.setdefault(metric, p.value if p else None)
        tiles.append(tile(label, metric, p, period=fmt_period(p.period, grain) if p else "", currency=ctx.currency))
    out = [headline_tiles(ctx), '<h3 class="subhead">Revenue</h3>', f'<div class="grid tiles four">{"".join(tiles)}</div>']
    nrr = d.series("nrr_pct", "month", until=until)[-MONTHS * 2:]
    grr = d.series("grr_pct", "month", until=until)[-MONTHS * 2:]
    movements = {
        "New": "new_mrr", "Expansion": "expansion_mrr", "Reactivation": "reactivation_mrr",
        "Contraction": "contraction_mrr", "Churned": "churned_mrr",
    }
    per_metric = {label: {p.period: p.value for p in d.series(m, "month", until=until)} for label, m in movements.items()}
    months = sorted({m for vals in per_metric.values() for m in vals})[-MONTHS:]
    stacks = {}
    for label, vals in per_metric.items():
        sign = -1.0 if label in ("Contraction", "Churned") else 1.0
        stacks[label] = [(sign * abs(vals[m]) if vals.get(m) is not None else None) for m in months]
    colors = {"New": "#15803d", "Expansion": "#4ade80", "Reactivation": "#0d9488", "Contraction": "#f59e0b", "Churned": "#b91c1c"}
    charts = [
        card("Revenue retention, monthly",
             line_chart([Series("NRR", nrr, SERIES_COLORS[0]), Series("GRR", grr, SERIES_COLORS[1])], metric="nrr_pct",
                        ref_lines=[(100, "100%")], currency=ctx.currency, label="nrr"),
             subtitle="% of MRR at month start, accounts active at start",
             note="NRR = (start + expansion − contraction − churned) / start; GRR excludes expansion (never above 100%)."),
        card("MRR movements, monthly",
             diverging_columns(months, stacks, colors, currency=ctx.currency, label="mrr movements"),
             subtitle=f"{ctx.currency}, between consecutive month ends"),
    ]
    out.append(f'<div class="grid two">{"".join(charts)}</div>')
    return "".join(out)

