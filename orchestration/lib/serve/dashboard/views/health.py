"""Real-time health: accounts at risk now, health bands, alerts and recent survey responses."""

from __future__ import annotations

from datetime import date
from typing import Any

from orchestration.lib.serve.dashboard.blocks import card, empty, table, tile
from orchestration.lib.serve.dashboard.charts import BAND_COLORS
from orchestration.lib.serve.dashboard.data import Point, num
from orchestration.lib.serve.dashboard.formatting import esc, fmt_number
from orchestration.lib.serve.dashboard.views.at_risk import at_risk_card_parts
from orchestration.lib.serve.dashboard.views.common import Context, account_names, latest_health
from orchestration.lib.serve.dashboard.views.evidence import evidence_section, expansion_card


def view_health(ctx: Context) -> str:
    d = ctx.data
    scored_on, health = latest_health(ctx)
    names = account_names(ctx)
    at_risk = [r for r in health if r.get("is_at_risk")]
    n_scored = len(health)
    ctx.figures["accounts_scored"] = n_scored if health else None
    ctx.figures["at_risk_accounts"] = len(at_risk) if health else None
    scores = [num(r.get("health_score")) for r in health]
    scores = [s for s in scores if s is not None]
    avg = sum(scores) / len(scores) if scores else None
    ctx.figures["health_score_avg"] = round(avg, 1) if avg is not None else None
    period = f"scored {scored_on:%d %b %Y}" if scored_on else ""

    nps = d.latest("nps", "rolling", 90)
    csat = d.latest("csat_pct", "rolling", 30)
    ctx.figures["nps"] = nps.value if nps else None
    ctx.figures["csat_pct"] = csat.value if csat else None
    acsi = d.latest("acsi_index", "rolling", 90)
    ctx.figures["acsi_index"] = acsi.value if acsi else None

    alerts = []
    if d.has("marts", "alerts", "alert_type", "status"):
        alerts = d.rows(
            "select alert_type, count(*) as n, count(*) filter (where status = 'open') as open, "
            "count(*) filter (where status = 'overdue') as overdue, "
            "count(*) filter (where status = 'followed_up') as followed_up, "
            "count(*) filter (where within_sla) as in_sla, count(within_sla) as sla_known "
            "from marts.alerts group by alert_type order by count(*) filter (where status <> 'followed_up') desc, alert_type"
            if d.has("marts", "alerts", "within_sla")
            else "select alert_type, count(*) as n, count(*) filter (where status = 'open') as open, "
            "count(*) filter (where status = 'overdue') as overdue, "
            "count(*) filter (where status = 'followed_up') as followed_up, 0 as in_sla, 0 as sla_known "
            "from marts.alerts group by alert_type order by alert_type"
        )
    open_n = sum(int(a["open"]) for a in alerts)
    overdue_n = sum(int(a["overdue"]) for a in alerts)
    ctx.figures["open_alerts"] = open_n if alerts else None
    ctx.figures["overdue_alerts"] = overdue_n if alerts else None

    tiles = [
        tile("Accounts scored", None, None, value_text=f"{n_scored:,}" if health else None, sub="latest score per account",
             period=period) if health else tile("Accounts scored", "accounts_scored", None),
        tile("At-risk accounts", "at_risk_accounts", None,
             value_text=(f'{len(at_risk):,}<span class="unit">{100 * len(at_risk) / n_scored:.0f}%</span>'
                         if health else None),
             sub=f"of n = {n_scored:,} accounts scored", period=period, accent="#b91c1c") if health
        else tile("At-risk accounts", "at_risk_accounts", None),
        tile("Health score, mean", "health_score_avg", Point(scored_on or date.today(), avg, n=n_scored) if avg is not None else None,
             period=period),
        tile("NPS", "nps", nps, period="rolling 90 days"),
        tile("CSAT", "csat_pct", csat, period="rolling 30 days"),
        tile("ACSI", "acsi_index", acsi, period="rolling 90 days"),
        tile("Open alerts", None, None,
             value_text=(f'{open_n + overdue_n:,}' if alerts else None),
             sub=f"awaiting follow-up, {overdue_n:,} overdue", accent="#ea580c") if alerts else tile("Open alerts", "open_alerts", None),
    ]
    out = [f'<div class="grid tiles">{"".join(tiles)}</div>']

    # health bands
    if health:
        counts = {b: sum(1 for r in health if r.get("health_band") == b) for b in ("green", "yellow", "red")}
        total = sum(counts.values()) or 1
        parts = "".join(
            f'<div style="width:{100 * c / total:.2f}%;background:{BAND_COLORS[b]}" title="{b}: {c}">{c if c / total > 0.06 else ""}</div>'
            for b, c in counts.items() if c
        )
        legend = " · ".join(f'<span style="color:{BAND_COLORS[b]};font-weight:700">■</span> {b} {c:,} ({100 * c / total:.0f}%)'
                            for b, c in counts.items())
        bands = f'<div class="stack">{parts}</div><div class="legend">{legend}</div>'
    else:
        bands = empty("account_health")

    risk_table, risk_sub, risk_note = at_risk_card_parts(ctx, health, names, scored_on)

    # recent responses
    responses = _recent_responses(ctx, names)

    # alerts table
    alert_rows = []
    for a in alerts:
        sla = f"{100 * int(a['in_sla']) / int(a['sla_known']):.0f}%" if int(a["sla_known"] or 0) else "–"
        overdue = f'<span class="down">{int(a["overdue"]):,}</span>' if int(a["overdue"]) else "0"
        alert_rows.append([esc(a["alert_type"]), f"{int(a['open']):,}", overdue, f"{int(a['followed_up']):,}",
                           f"{sla} <span class='legend'>of {int(a['sla_known'] or 0):,}</span>"])
    alert_table = table([("Alert type", ""), ("Open", "num"), ("Overdue", "num"), ("Followed up", "num"),
                         ("Within SLA", "num")], alert_rows) if alerts else empty("marts.alerts")

    out.append(card("At-risk accounts", f'<div class="fit">{risk_table}</div>', subtitle=risk_sub if health else "",
                    note=risk_note, cls="card at-risk-card"))
    out.append('<div class="grid two" style="margin-top:14px"><div class="grid stackcol">')
    out.append(card("Health bands", bands, subtitle=period))
    out.append(expansion_card(ctx, health, names))
    out.append("</div>")
    out.append(card("Alerts: the closed loop", f'<div class="scroll">{alert_table}</div>', subtitle="all alerts by type"))
    out.append("</div>")
    out.append(evidence_section(ctx))
    out.append(f'<div class="grid" style="margin-top:14px">{card("Recent survey responses", f"<div class=scroll>{responses}</div>", subtitle="latest 15")}</div>')
    return "".join(out)


def _recent_responses(ctx: Context, names: dict[str, dict[str, Any]]) -> str:
    d = ctx.data
    t = ("marts", "fct_survey_responses")
    if t not in d.columns:
        return empty("marts.fct_survey_responses")
    when = d.pick(*t, "responded_at", "response_date", "responded_on")
    if when is None:
        return empty("marts.fct_survey_responses")
    metric = d.pick(*t, "survey_metric", "metric")
    score = d.pick(*t, "score", "raw_score")
    klass = d.pick(*t, "nps_class", "response_class", "score_class", "class")
    touch = d.pick(*t, "touchpoint", "trigger")
    comment = d.pick(*t, "comment", "comment_redacted")
    scale = d.pick(*t, "scale_max")
    cols = [c for c in (when, "account_id" if d.has(*t, "account_id") else None, metric, score, scale, klass, touch, comment) if c]
    rows = d.rows(f"select {', '.join(cols)} from marts.fct_survey_responses order by {when} desc nulls last limit 15")
    if not rows:
        return empty("marts.fct_survey_responses")
    out_rows = []
    for r in rows:
        acct = names.get(str(r.get("account_id")), {})
        sc = num(r.get(score)) if score else None
        sc_text = fmt_number(sc, 0) if sc is not None else "–"
        if scale and num(r.get(scale)) is not None:
            sc_text += f' <span class="legend">/ {fmt_number(num(r.get(scale)), 0)}</span>'
        k = str(r.get(klass) or "") if klass else ""
        kcls = {"detractor": "down", "promoter": "up"}.get(k, "")
        text = str(r.get(comment) or "") if comment else ""
        out_rows.append([
            esc(str(r[when])[:16]),
            esc(acct.get("account_name") or r.get("account_id") or "–"),
            esc((r.get(metric) or "").upper()) if metric else "–",
            sc_text,
            f'<span class="{kcls}">{esc(k)}</span>' if k else "–",
            esc(r.get(touch) or "–") if touch else "–",
            esc(text[:140] + ("…" if len(text) > 140 else "")) or '<span class="legend">–</span>',
        ])
    return table([("Responded", ""), ("Account", ""), ("Survey", ""), ("Score", "num"), ("Class", ""),
                  ("Touchpoint", ""), ("Comment (personal data redacted)", "text")], out_rows)

