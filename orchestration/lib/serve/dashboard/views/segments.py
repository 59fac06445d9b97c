"""Segments: NPS, CSAT, health and at-risk accounts by tier, industry, onboarding cohort and CSM."""

from __future__ import annotations

from datetime import date

from orchestration.lib.serve.dashboard.blocks import card, empty
from orchestration.lib.serve.dashboard.charts import axis_domain, segment_cell
from orchestration.lib.serve.dashboard.data import Point
from orchestration.lib.serve.dashboard.formatting import METRICS, SEGMENT_LABELS, MetricInfo, esc
from orchestration.lib.serve.dashboard.views.common import Context, account_names

SEGMENT_METRICS = [
    ("nps", "rolling", 90, "NPS", "rolling 90 d"),
    ("csat_pct", "rolling", 90, "CSAT", "rolling 90 d"),
    ("acsi_index", "rolling", 90, "ACSI", "rolling 90 d"),
    ("health_score_avg", "day", None, "Health score", "mean, latest day"),
    ("at_risk_accounts", "day", None, "At-risk accounts", "latest day"),
]
LONG_LIST = 12  # more segment rows than this: grouped (monthly cohorts to quarters) or low samples folded away
# How a group's value follows from its members' values and sample sizes: a mean over observations
# (NPS is the mean of +100/0/-100 per response, CSAT % of 100/0) is the n-weighted mean of the
# members' means; a count is their sum.
COMBINE = {"nps": "mean", "csat_pct": "mean", "acsi_index": "mean", "ces_avg": "mean",
           "health_score_avg": "mean", "at_risk_accounts": "sum"}

Column = tuple[str, str, str, dict[str, Point]]


def month_of(value: str) -> date | None:
    """A monthly cohort's month ("2024-03" or "2024-03-01"), else None."""
    text = str(value)
    if len(text) not in (7, 10) or text[4] != "-":
        return None
    try:
        d = date.fromisoformat(text if len(text) == 10 else text + "-01")
    except ValueError:
        return None
    return d if d.day == 1 else None


def quarter_label(d: date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def combine(metric: str, points: list[Point], min_sample: int) -> Point | None:
    """The group's point, from its members; no confidence interval (the members' are not additive)."""
    pts = [p for p in points if p.value is not None and p.n]
    if not pts:
        return None
    n = sum(p.n or 0 for p in pts)
    if COMBINE[metric] == "sum":
        value = sum(p.value for p in pts)
    else:
        value = sum(p.value * (p.n or 0) for p in pts) / n
    return Point(period=max(p.period for p in pts), value=value, n=n, low=n < min_sample)


def by_quarter(columns: list[Column], min_sample: int) -> list[Column] | None:
    """Monthly cohorts regrouped into quarters; None when the values are not months or a column's
    metric cannot be combined exactly."""
    values = {k for _, _, _, rows in columns for k in rows}
    months = {v: month_of(v) for v in values}
    if any(m is None for m in months.values()) or any(metric not in COMBINE for metric, _, _, _ in columns):
        return None
    out = []
    for metric, title, sub, rows in columns:
        groups: dict[str, list[Point]] = {}
        for v, p in rows.items():
            groups.setdefault(quarter_label(months[v]), []).append(p)
        combined = {q: combine(metric, pts, min_sample) for q, pts in groups.items()}
        out.append((metric, title, sub, {q: p for q, p in combined.items() if p is not None}))
    return out


def scorecard_table(ctx: Context, seg: str, columns: list[Column], values: list[str], labels: dict[str, str],
                    scales: dict[str, tuple[float, float]], first_header: str) -> str:
    head = "".join(f'<th>{esc(t)} <span class="legend">{esc(sub)}</span></th>' for _, t, sub, _ in columns)
    body = []
    for v in values:
        cells = []
        for metric, _, _, rows in columns:
            lo, hi = scales[metric]
            cells.append(f"<td>{segment_cell(rows.get(v), metric, lo, hi, ctx.currency)}</td>")
        all_low = all(rows[v].low for _, _, _, rows in columns if v in rows)
        body.append(f'<tr class="{"low" if all_low else ""}" data-segment="{esc(v)}"><th scope="row" title="{esc(v)}">'
                    f'{esc(labels.get(v, v))}</th>{"".join(cells)}</tr>')
    return (f'<table class="data seg"><thead><tr><th>{esc(first_header)}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _scales(columns: list[Column]) -> dict[str, tuple[float, float]]:
    out = {}
    for metric, _, _, rows in columns:
        info = METRICS.get(metric, MetricInfo(metric, ""))
        vals = [v for p in rows.values() for v in (p.value, p.ci_low, p.ci_high) if v is not None]
        if info.domain and info.domain[1] <= 100 and metric != "nps":
            out[metric] = (min(0.0, info.domain[0]), info.domain[1])
        else:
            out[metric] = axis_domain(vals, info.domain, include_zero=True)
    return out


def _is_all_low(v: str, columns: list[Column]) -> bool:
    return all(rows[v].low for _, _, _, rows in columns if v in rows)


def segment_scorecard(ctx: Context, seg: str, csm_names: dict[str, str]) -> str:
    """One row per segment value, one column per metric. A long list (more than LONG_LIST rows,
    such as 41 monthly onboarding cohorts) is shown by quarter, with the months one click away;
    a long list that cannot be grouped shows the segments with a firm sample and folds away
    those whose every figure is low-sample."""
    d = ctx.data
    columns: list[Column] = []
    for metric, grain, window, title, sub in SEGMENT_METRICS:
        rows = dict(d.by_segment(metric, grain, window, seg))
        if rows:
            columns.append((metric, title, sub, rows))
    if not columns:
        return empty(f"metric_values by {seg}")
    values = sorted({k for _, _, _, rows in columns for k in rows})
    labels = csm_names if seg == "csm_owner" else {}
    header = SEGMENT_LABELS.get(seg, seg)
    if len(values) <= LONG_LIST:
        return f'<div class="scroll">{scorecard_table(ctx, seg, columns, values, labels, _scales(columns), header)}</div>'

    quarters = by_quarter(columns, ctx.min_sample)
    if quarters is not None:
        q_values = sorted({k for _, _, _, rows in quarters for k in rows})
        shown = scorecard_table(ctx, seg, quarters, q_values, {}, _scales(quarters), "Quarter").replace(
            'class="data seg"', 'class="data seg grouped"', 1)
        monthly = scorecard_table(ctx, seg, columns, values, labels, _scales(columns), "Month")
        low_months = sum(1 for v in values if any(v in rows and rows[v].low for _, _, _, rows in columns))
        low_text = f" ({low_months:,} of the months have a low sample in some column)" if low_months else ""
        return (f'<div class="scroll">{shown}</div><p class="note">{len(values):,} monthly cohorts grouped into '
                f"{len(q_values):,} quarters{low_text}; a quarter's value combines its months' observations, without a "
                "confidence interval.</p>"
                f'<details class="collapsed-rows"><summary>By month: {len(values):,} cohorts</summary>'
                f'<div class="scroll">{monthly}</div></details>')
    firm = [v for v in values if not _is_all_low(v, columns)]
    low = [v for v in values if _is_all_low(v, columns)]
    scales = _scales(columns)
    out = f'<div class="scroll">{scorecard_table(ctx, seg, columns, firm, labels, scales, header)}</div>' if firm else ""
    if low:
        out += (f'<details class="collapsed-rows"><summary>{len(low):,} more with a low sample in every column '
                f"(fewer than {ctx.min_sample} observations)</summary>"
                f'<div class="scroll">{scorecard_table(ctx, seg, columns, low, labels, scales, header)}</div></details>')
    return out


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

