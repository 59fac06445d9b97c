"""The survey program panel: response rate, fatigue (surveys per contact in 90 days) and
timeliness side by side, for the whole book and by touchpoint and channel.

Read from marts.metric_values at the longest rolling window (the fatigue metric is a 90-day
measure by definition), or the latest complete month where a metric has no rolling values. A
metric that is not there yet (survey_timeliness_pct before its model is published) is a column
of "no data", never an error.
"""

from __future__ import annotations

from orchestration.lib.serve.dashboard.blocks import card
from orchestration.lib.serve.dashboard.charts import axis_domain, segment_cell
from orchestration.lib.serve.dashboard.data import Point
from orchestration.lib.serve.dashboard.formatting import (
    METRICS,
    NO_DATA,
    SEGMENT_LABELS,
    MetricInfo,
    esc,
    fmt_period,
)
from orchestration.lib.serve.dashboard.views.common import Context

SURVEY_PANEL = [
    ("survey_response_rate_pct", "Response rate", "responses / invitations"),
    ("surveys_per_contact_90d", "Fatigue", "surveys per contact, 90 d"),
    ("survey_timeliness_pct", "Timeliness", "sent within target of trigger"),
]
PANEL_SEGMENTS = ("touchpoint", "channel")


def _points(ctx: Context, metric: str, window: int) -> tuple[str, dict[tuple[str, str], Point]]:
    """(period text, (segment_type, segment_value) -> point) at the longest rolling window, else
    the latest complete month."""
    d = ctx.data
    for grain, w in (("rolling", window), ("month", None)):
        out: dict[tuple[str, str], Point] = {}
        overall = d.latest(metric, grain, w, until=ctx.as_of)
        if overall is not None:
            out[("all", "all")] = overall
        for seg in PANEL_SEGMENTS:
            for value, p in d.by_segment(metric, grain, w, seg):
                out[(seg, value)] = p
        if out:
            period = next(iter(out.values())).period
            return fmt_period(period, grain, w), out
    return "", {}


def survey_panel(ctx: Context) -> str:
    window = max(ctx.windows) if ctx.windows else 90
    columns = []
    for metric, title, sub in SURVEY_PANEL:
        period, points = _points(ctx, metric, window)
        info = METRICS.get(metric, MetricInfo(metric, ""))
        vals = [v for p in points.values() for v in (p.value, p.ci_low, p.ci_high) if v is not None]
        if info.domain and info.domain[1] <= 100:
            lo, hi = 0.0, info.domain[1]
        else:
            lo, hi = axis_domain(vals, info.domain, include_zero=True)
        columns.append((metric, title, sub, period, points, lo, hi))
    keys = [("all", "all")] + sorted({k for *_, points, _, _ in columns for k in points if k != ("all", "all")},
                                     key=lambda k: (PANEL_SEGMENTS.index(k[0]) if k[0] in PANEL_SEGMENTS else 9, k[1]))
    periods = {period for _, _, _, period, *_ in columns if period}
    head = "".join(
        f'<th data-metric="{esc(m)}">{esc(t)}<br><span class="legend">{esc(s)}'
        f'{"; " + esc(period) if period and len(periods) > 1 else ""}</span></th>'
        for m, t, s, period, *_ in columns
    )
    body, last_type = [], None
    for st, sv in keys:
        if st != last_type and st != "all":
            body.append(f'<tr class="group"><th colspan="{len(columns) + 1}">By {esc(SEGMENT_LABELS.get(st, st).lower())}</th></tr>')
        last_type = st
        cells = []
        for metric, _, _, _, points, lo, hi in columns:
            if not points:
                cells.append(f'<td class="nodata" data-metric="{esc(metric)}"><span class="legend">{NO_DATA}</span></td>')
            else:
                cells.append(f'<td data-metric="{esc(metric)}">{segment_cell(points.get((st, sv)), metric, lo, hi, ctx.currency)}</td>')
        label = "All surveys" if st == "all" else sv.replace("_", " ")
        body.append(f'<tr data-segment="{esc(st)}:{esc(sv)}"><th scope="row">{esc(label)}</th>{"".join(cells)}</tr>')
    table = (f'<div class="scroll"><table class="data seg survey-panel"><thead><tr><th></th>{head}</tr></thead>'
             f'<tbody>{"".join(body)}</tbody></table></div>')
    fatigue_days = ctx.settings.get("survey_fatigue_days") if ctx.settings else None
    note = ("Read together: a falling response rate with rising surveys per contact is fatigue; late invitations "
            "(timeliness) measure a memory, not the moment. Bars share one scale per column; whiskers: 95% CI; grey: "
            f"low sample (fewer than {ctx.min_sample}).")
    if fatigue_days:
        note += f" A contact invited in the last {fatigue_days} days is not surveyed again (vars.chw.survey_fatigue_days)."
    when = f", {next(iter(periods))}" if len(periods) == 1 else ""
    return card("Survey program: response, fatigue and timeliness", table,
                subtitle=f"all surveys, by touchpoint and by channel{when}", note=esc(note), cls="card survey-card")
