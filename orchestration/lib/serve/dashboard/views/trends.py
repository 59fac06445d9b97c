"""Trends: NPS, CSAT and CES over rolling windows; churn and retention by month."""

from __future__ import annotations

from datetime import timedelta

from orchestration.lib.serve.dashboard.blocks import card
from orchestration.lib.serve.dashboard.charts import COLORS, SERIES_COLORS, Series, line_chart
from orchestration.lib.serve.dashboard.formatting import fmt_n
from orchestration.lib.serve.dashboard.views.common import MONTHS, TREND_DAYS, Context
from orchestration.lib.serve.dashboard.views.surveys import survey_panel


def view_trends(ctx: Context) -> str:
    d = ctx.data
    since = (ctx.as_of - timedelta(days=TREND_DAYS)) if ctx.as_of else None
    charts = []
    specs = [
        ("nps", "NPS", [(0, "0"), (30, "30 strong"), (70, "70 exceptional")]),
        ("csat_pct", "CSAT", [(60, "60 friction below"), (75, "75 healthy"), (85, "85 strong")]),
        ("ces_avg", "Customer effort (CES, 1 = least effort)", []),
        ("acsi_index", "Satisfaction index (ACSI, 0–100)", []),
    ]
    for metric, title, refs in specs:
        series = []
        for w in ctx.windows:
            pts = d.series(metric, "rolling", w, since=since, until=ctx.as_of)
            series.append(Series(f"{w}-day", pts, COLORS.get(w, SERIES_COLORS[len(series) % 5]), show_ci=(w == max(ctx.windows))))
        latest = {w: d.latest(metric, "rolling", w) for w in ctx.windows}
        sub = " · ".join(f"{w} d: {fmt_n(p.n)}" for w, p in latest.items() if p)
        chart = line_chart(series, metric=metric, ref_lines=refs, currency=ctx.currency, label=metric)
        note = (f"Shaded: 95% CI of the {max(ctx.windows)}-day window. Lines join consecutive days only: a break is a "
                f"stretch without responses. Hollow grey points: fewer than {ctx.min_sample} responses in the window "
                "(low sample), off the line; at the edge when off the scale.")
        charts.append(card(title, chart, subtitle=sub, note="" if chart.startswith('<div class="empty-note"') else note))
    mix = [
        Series("Promoters (9–10)", d.series("nps_promoter_pct", "rolling", max(ctx.windows), since=since, until=ctx.as_of),
               "#15803d"),
        Series("Detractors (0–6)", d.series("nps_detractor_pct", "rolling", max(ctx.windows), since=since, until=ctx.as_of),
               "#b91c1c"),
    ]
    charts.append(card("NPS: promoters and detractors", line_chart(mix, metric="nps_promoter_pct", currency=ctx.currency,
                                                                    label="nps mix"),
                       subtitle=f"% of NPS responses, rolling {max(ctx.windows)} days",
                       note="NPS = promoters % − detractors %; passives (7–8) make up the rest."))
    until = ctx.as_of
    survey_series = [
        Series("Response rate", d.series("survey_response_rate_pct", "month", until=until)[-MONTHS:], SERIES_COLORS[0]),
        Series("Timeliness", d.series("survey_timeliness_pct", "month", until=until)[-MONTHS:], SERIES_COLORS[3]),
    ]
    charts.append(card("Survey response and timeliness, monthly",
                       line_chart(survey_series, metric="survey_response_rate_pct", currency=ctx.currency, label="survey program"),
                       subtitle="% of invitations answered / sent within target of their trigger",
                       note="Timeliness: invitations sent within the target delay of the ticket solve or milestone."))
    churn = [
        Series("Logo churn", d.series("logo_churn_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
        Series("Revenue churn", d.series("revenue_churn_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[1]),
    ]
    retention = [
        Series("Customer retention", d.series("customer_retention_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[2]),
    ]
    charts.append(card("Churn, monthly", line_chart(churn, metric="logo_churn_rate_pct", currency=ctx.currency, label="churn"),
                       subtitle="% of accounts / of MRR at month start",
                       note="Logo churn: accounts with MRR at the start of the month and none at its end."))
    charts.append(card("Customer retention, monthly", line_chart(retention, metric="customer_retention_rate_pct",
                                                                 ref_lines=[(100, "100%")], currency=ctx.currency, label="retention"),
                       subtitle="(accounts at end − new) / accounts at start"))
    return (f'<div class="grid two">{"".join(charts[:-2])}</div>'
            f'<div style="margin:14px 0">{survey_panel(ctx)}</div><div class="grid two">{"".join(charts[-2:])}</div>')

