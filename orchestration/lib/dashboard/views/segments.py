"""Segments: NPS, CSAT, health and at-risk accounts by tier, industry, onboarding cohort and CSM."""

from __future__ import annotations

from orchestration.lib.dashboard.blocks import card, empty
from orchestration.lib.dashboard.charts import axis_domain, segment_cell
from orchestration.lib.dashboard.formatting import METRICS, SEGMENT_LABELS, MetricInfo, esc
from orchestration.lib.dashboard.views.common import Context, account_names

SEGMENT_METRICS = [
    ("nps", "rolling", 90, "NPS", "rolling 90 d"),
    ("csat_pct", "rolling", 90, "CSAT", "rolling 90 d"),
    ("health_score_avg", "day", None, "Health score", "mean, latest day"),
    ("at_risk_accounts", "day", None, "At-risk accounts", "latest day"),
]


def segment_scorecard(ctx: Context, seg: str, csm_names: dict[str, str]) -> str:
    d = ctx.data
    columns = []
    for metric, grain, window, title, sub in SEGMENT_METRICS:
        rows = dict(d.by_segment(metric, grain, window, seg))
        if rows:
            columns.append((metric, title, sub, rows))
    if not columns:
        return empty(f"metric_values by {seg}")
    values = sorted({k for _, _, _, rows in columns for k in rows})
    head = "".join(f'<th>{esc(t)} <span class="legend">{esc(sub)}</span></th>' for _, t, sub, _ in columns)
    body = []
    for v in values:
        cells = []
        for metric, _, _, rows in columns:
            info = METRICS.get(metric, MetricInfo(metric, ""))
            vals = [v for p in rows.values() for v in (p.value, p.ci_low, p.ci_high) if v is not None]
            if info.domain and info.domain[1] <= 100 and metric != "nps":
                lo, hi = min(0.0, info.domain[0]), info.domain[1]
            else:
                lo, hi = axis_domain(vals, info.domain, include_zero=True)
            cells.append(f"<td>{segment_cell(rows.get(v), metric, lo, hi, ctx.currency)}</td>")
        label = csm_names.get(v, v) if seg == "csm_owner" else v
        all_low = all(rows[v].low for _, _, _, rows in columns if v in rows)
        body.append(f'<tr class="{"low" if all_low else ""}"><th scope="row" title="{esc(v)}">{esc(label)}</th>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="data seg"><thead><tr><th>{esc(SEGMENT_LABELS.get(seg, seg))}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def view_segments(ctx: Context) -> str:
    names = account_names(ctx)
    csm_names = {str(a.get("csm_owner_id")): a.get("csm_owner_name") for a in names.values() if a.get("csm_owner_name")}
    cards = []
    for seg in ("tier", "industry", "onboarding_cohort", "csm_owner"):
        cards.append(card(f"By {SEGMENT_LABELS[seg].lower() if seg != 'csm_owner' else 'customer-success manager'}",
                          segment_scorecard(ctx, seg, csm_names)))
    note = (f'<p class="note">Bars share one scale per column; whiskers: 95% confidence interval; grey: low sample (fewer than '
            f'{ctx.min_sample} observations), read with care. Hover a cell for its exact figures.</p>')
    return f'<div class="grid">{"".join(cards)}</div>{note}'

