"""The at-risk accounts table of the real-time health view.

Where the churn model's outputs are published (`account_health.churn_probability`,
`marts.account_risk_drivers`), each account shows its calibrated churn probability and the
three drivers that raise (or lower) it most, and the table is ordered by probability; without
them, by score, with the weakest component. The table is sized to fit the page at 1400 px
without sideways scrolling: names wrap, drivers stack in their cell.
"""

from __future__ import annotations

from typing import Any

from orchestration.lib.serve.dashboard.blocks import empty, table
from orchestration.lib.serve.dashboard.data import num, risk_drivers
from orchestration.lib.serve.dashboard.formatting import esc, fmt_number, pct
from orchestration.lib.serve.dashboard.views.common import AT_RISK_ROWS, Context


def driver_label(feature: str) -> str:
    return str(feature).replace("_", " ")


def drivers_html(drivers: list[dict[str, Any]]) -> str:
    """Top drivers, strongest first: positive contributions raise the churn risk (red), negative
    ones lower it (green). The exact figures are in the tooltip."""
    if not drivers:
        return '<span class="legend">–</span>'
    items = []
    for dr in drivers[:3]:
        c = num(dr.get("contribution"))
        fv = num(dr.get("feature_value"))
        cls = "down" if c is not None and c > 0 else "up" if c is not None and c < 0 else ""
        arrow = "▲" if c is not None and c > 0 else "▼" if c is not None and c < 0 else "·"
        tip = (f"{driver_label(dr['feature'])}: contribution {fmt_number(c, 2, signed=True)} to the log-odds of churn"
               + (f"; value {fmt_number(fv, 2)}" if fv is not None else ""))
        items.append(f'<li title="{esc(tip)}"><span class="{cls}">{arrow}</span> {esc(driver_label(dr["feature"]))}'
                     f'{f" <span class=legend>{esc(fmt_number(fv, 1))}</span>" if fv is not None else ""}</li>')
    return f'<ol class="drivers">{"".join(items)}</ol>'


def probability_html(p: float | None) -> str:
    if p is None:
        return '<span class="legend">–</span>'
    width = max(2.0, min(100.0, 100 * p))
    return (f'<span class="prob" title="calibrated probability of churn at renewal">{pct(p)}'
            f'<span class="probbar"><span style="width:{width:.0f}%"></span></span></span>')


def at_risk_card_parts(ctx: Context, health: list[dict[str, Any]], names: dict[str, dict[str, Any]],
                       scored_on: Any) -> tuple[str, str, str]:
    """(table, subtitle, note) of the at-risk accounts."""
    at_risk = [r for r in health if r.get("is_at_risk")]
    if not at_risk:
        return empty("no account is at risk" if health else "account_health"), "", ""
    has_prob = any("churn_probability" in r for r in health)
    drivers = risk_drivers(ctx.data, scored_on) if ctx.data.has("marts", "account_risk_drivers", "account_id") else None
    if has_prob:
        ordered = sorted(at_risk, key=lambda r: (-(num(r.get("churn_probability")) or -1.0), num(r.get("health_score")) or 0.0))
    else:
        ordered = sorted(at_risk, key=lambda r: num(r.get("health_score")) or 0.0)
    comp_cols = [c for c in health[0] if c.endswith("_score") and c != "health_score"]
    rows = []
    for r in ordered[:AT_RISK_ROWS]:
        acct = names.get(str(r["account_id"]), {})
        name = acct.get("account_name") or r["account_id"]
        band = r.get("health_band") or ""
        change = num(r.get("change_30d_pct"))
        change_html = (f'<span class="{"down" if change < 0 else "up"}">{fmt_number(change, 0, True)}%</span>'
                       if change is not None else "–")
        days = r.get("days_to_renewal")
        csm = acct.get("csm_owner_name") or r.get("csm_owner_id") or acct.get("csm_owner_id") or "–"
        cells = [
            f'<b class="acct" title="{esc(r["account_id"])}">{esc(name)}</b><br><span class="legend">'
            f'{esc(" · ".join(str(x) for x in (r.get("tier") or acct.get("tier"), acct.get("industry")) if x))}</span>',
            esc(csm),
            f'<span class="chip {esc(band)}">{fmt_number(num(r.get("health_score")), 0)}</span>',
            change_html,
        ]
        if has_prob:
            cells.append(probability_html(num(r.get("churn_probability"))))
        if drivers is not None:
            cells.append(drivers_html(drivers.get(str(r["account_id"]), [])))
        else:
            comps = [(c[:-6], num(r.get(c))) for c in comp_cols]
            comps = [(c, v) for c, v in comps if v is not None]
            weakest = min(comps, key=lambda cv: cv[1]) if comps else None
            cells.append(esc(f"{weakest[0]} ({weakest[1]:.0f})") if weakest else "–")
        cells.append(f"{int(days):,} d" if num(days) is not None else "–")
        rows.append(cells)
    headers = [("Account", "acct"), ("CSM", ""), ("Score", "num"), ("30-day change", "num")]
    if has_prob:
        headers.append(("Churn probability", "num"))
    headers.append(("Top risk drivers", "drivers") if drivers is not None else ("Weakest component", ""))
    headers.append(("Renewal in", "num"))
    html_table = table(headers, rows).replace('<table class="data">', '<table class="data at-risk">', 1)
    subtitle = f"{len(at_risk):,} accounts, " + ("highest churn probability first" if has_prob else "lowest score first")
    cfg = ctx.settings.get("health", {}) if ctx.settings else {}
    bands = cfg.get("bands", {})
    drop = cfg.get("at_risk_drop_pct")
    note = ""
    if len(at_risk) > AT_RISK_ROWS:
        note += f"{len(at_risk) - AT_RISK_ROWS:,} more at-risk accounts in marts.account_health. "
    note += "Score 0–100"
    if bands.get("green") is not None and bands.get("yellow") is not None:
        note += f" (green ≥ {bands['green']}, yellow ≥ {bands['yellow']})"
    note += ". At risk: red band" + (f", or {drop}% or more below its score 30 days earlier. " if drop is not None else ". ")
    if has_prob:
        note += "Churn probability: the model's calibrated probability that the account churns at renewal. "
    if drivers is not None:
        note += ("Drivers: what moves this account's risk most (▲ raises it, ▼ lowers it; grey: the input's value); "
                 "hover for the contribution.")
    else:
        note += "Weakest component: the lowest component score (0–100)."
    return html_table, subtitle, note
