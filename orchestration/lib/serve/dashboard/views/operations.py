"""Operations: support service levels by month."""

from __future__ import annotations

from orchestration.lib.serve.dashboard.blocks import card, tile
from orchestration.lib.serve.dashboard.charts import SERIES_COLORS, Series, bar_rows, line_chart, sparkline
from orchestration.lib.serve.dashboard.formatting import fmt_period
from orchestration.lib.serve.dashboard.views.common import MONTHS, Context


def view_operations(ctx: Context) -> str:
    d = ctx.data
    until = ctx.as_of
    metrics = [
        ("frt_median_minutes", "First response, median"),
        ("frt_within_target_pct", "First response within target"),
        ("resolution_median_hours", "Resolution time, median"),
        ("fcr_pct", "First-contact resolution"),
        ("escalation_rate_pct", "Escalation rate"),
        ("call_answer_within_20s_pct", "Calls answered ≤ 20 s"),
        ("ticket_count", "Tickets created"),
        ("unresolved_tickets", "Unresolved tickets"),
    ]
    tiles = []
    for i, (metric, label) in enumerate(metrics):
        p = d.latest(metric, "month", until=until)
        spark_pts = d.series(metric, "month", until=until)[-MONTHS:]
        ctx.figures[metric] = p.value if p else None
        tiles.append(tile(label, metric, p, period=fmt_period(p.period, "month") if p else "", currency=ctx.currency,
                          spark=sparkline(spark_pts, SERIES_COLORS[i % 4])))
    out = [f'<div class="grid tiles four">{"".join(tiles)}</div>']
    by_channel = d.by_segment("frt_within_target_pct", "month", None, "channel")
    by_category = d.by_segment("resolution_median_hours", "month", None, "category")
    targets = ctx.frt_targets or {"email": 3600, "chat": 60, "phone": 20, "web": 3600}
    target_text = ", ".join(f"{ch} {_duration(sec)}" for ch, sec in targets.items())
    charts = [
        card("First response within target, by channel",
             bar_rows(by_channel, metric="frt_within_target_pct", currency=ctx.currency, label="frt by channel", width=560),
             subtitle=f"% of tickets, {fmt_period(by_channel[0][1].period, 'month')}" if by_channel else "",
             note=f"Targets: {target_text}."),
        card("Resolution time by category",
             bar_rows(by_category, metric="resolution_median_hours", currency=ctx.currency, label="resolution by category",
                      width=560),
             subtitle=f"median hours, {fmt_period(by_category[0][1].period, 'month')}" if by_category else ""),
        card("First-contact resolution and escalations, monthly",
             line_chart([Series("FCR", d.series("fcr_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
                         Series("Escalation rate", d.series("escalation_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[1]),
                         Series("Calls ≤ 20 s", d.series("call_answer_within_20s_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[2])],
                        metric="fcr_pct", currency=ctx.currency, label="fcr"),
             subtitle="% of solved tickets / tickets / calls offered"),
        card("First response and resolution, monthly medians",
             line_chart([Series("First response (min)", d.series("frt_median_minutes", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
                         Series("Resolution (h)", d.series("resolution_median_hours", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[3], dashed=True,
                                metric="resolution_median_hours")],
                        metric="frt_median_minutes", currency=ctx.currency, label="frt"),
             subtitle="minutes (first response) and hours (resolution)"),
    ]
    out.append(f'<div class="grid two">{"".join(charts)}</div>')
    return "".join(out)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"

