"""Why the health score can be trusted (or not): its back-test evidence and the churn model's
calibration, and the accounts most likely to expand.

`marts.health_score_evidence` is a long table (measure, value, goal, meets_goal, sample_size, for
the whole book and by segment); `marts.health_score_reliability` gives, per decile of predicted
churn probability, the mean predicted probability against the observed churn rate. Measures this
page has no label for are still shown, under their own name.
"""

from __future__ import annotations

from typing import Any

from orchestration.lib.serve.dashboard.blocks import card, unavailable
from orchestration.lib.serve.dashboard.data import evidence_rows, num, reliability_rows
from orchestration.lib.serve.dashboard.formatting import esc, fmt_n, fmt_number, pct
from orchestration.lib.serve.dashboard.views.common import Context

# measure -> (label, kind); kind: share (0-1, shown as %), ratio (0-1, 3 decimals), multiple, days, count
MEASURES: dict[str, tuple[str, str]] = {
    "auc": ("AUC, churn 30–60 days ahead", "ratio"),
    "auc_churn_30_60d": ("AUC, churn 30–60 days ahead", "ratio"),
    "pr_auc": ("PR-AUC", "ratio"),
    "pr_auc_churn_30_60d": ("PR-AUC, churn 30–60 days ahead", "ratio"),
    "brier": ("Brier score (lower is better)", "ratio"),
    "calibration_error": ("Calibration error (lower is better)", "ratio"),
    "red_band_lift": ("Red band: churn rate × base rate", "multiple"),
    "red_churn_multiple": ("Red band: churn rate × base rate", "multiple"),
    "lift_top_decile": ("Riskiest decile: churn rate × base rate", "multiple"),
    "lift_top_decile_30_60d": ("Riskiest decile: churn rate × base rate", "multiple"),
    "share_green": ("Accounts in the green band", "share"),
    "green_share": ("Accounts in the green band", "share"),
    "churners_below_green_pct": ("Churners below green 60–90 days before", "percent"),
    "churned_below_green_60_90d_share": ("Churners below green 60–90 days before", "share"),
    "median_lead_days": ("Median lead time, first red to churn", "days"),
    "median_lead_days_first_red_to_churn": ("Median lead time, first red to churn", "days"),
    "base_churn_rate_30_60d": ("Base churn rate, 30–60 days ahead", "share"),
    "base_churn_rate_fitted": ("Base churn rate (model's training data)", "share"),
    "red_churn_rate_30_60d": ("Red band churn rate, 30–60 days ahead", "share"),
    "churn_events_scored": ("Churns scored", "count"),
    "n_renewals": ("Renewals the model learned from", "count"),
    "n_churned_renewals": ("… of which churned", "count"),
    "n_expanded_renewals": ("… of which expanded", "count"),
    "model_kind": ("Churn model", "text"),
    "expansion_model_kind": ("Expansion model", "text"),
    "red_threshold_probability": ("Red band from a churn probability of", "share"),
    "yellow_threshold_probability": ("Yellow band from a churn probability of", "share"),
}
LOWER_IS_BETTER = ("brier", "calibration_error")


def fmt_measure(measure: str, value: float | None) -> str:
    if value is None:
        return "–"
    kind = MEASURES.get(measure, ("", "ratio" if abs(value) <= 1 else "number"))[1]
    if kind == "share":
        return pct(value, 1)
    if kind == "percent":
        return f"{fmt_number(value, 1)}%"
    if kind == "multiple":
        return f"{fmt_number(value, 1)}×"
    if kind == "days":
        return f"{fmt_number(value, 0)} d"
    if kind == "count":
        return fmt_number(value, 0)
    if kind == "ratio":
        return fmt_number(value, 3)
    return fmt_number(value, 2)


def _goal_text(measure: str, goal: float | None) -> str:
    if goal is None:
        return ""
    rel = "≤" if any(k in measure for k in LOWER_IS_BETTER) or measure in ("share_green", "green_share") else "≥"
    return f"{rel} {fmt_measure(measure, goal)}"


def evidence_table(rows: list[dict[str, Any]]) -> str:
    def order(r: dict[str, Any]) -> tuple:
        m = str(r["measure"])
        known = list(MEASURES).index(m) if m in MEASURES else len(MEASURES)
        return (r.get("value_text") is None, r.get("goal") is None, known, m)

    # measures with no figure yet (no model in force, too few renewals) are named once under the
    # table instead of as rows of dashes: the reader sees what is measured, and what is still to come
    empty = [r for r in rows if num(r.get("value")) is None and not r.get("value_text")]
    rows = [r for r in rows if r not in empty]
    body = []
    for r in sorted(rows, key=order):
        m = str(r["measure"])
        label = MEASURES.get(m, (m.replace("_", " ").capitalize(), ""))[0]
        value = num(r.get("value"))
        text = r.get("value_text")
        shown = esc(text) if value is None and text else esc(fmt_measure(m, value))
        meets = r.get("meets_goal")
        mark = ('<span class="up" title="meets its goal">✓ meets</span>' if meets is True
                else '<span class="down" title="misses its goal">✗ misses</span>' if meets is False else "")
        n = num(r.get("sample_size"))
        long_text = value is None and text and len(str(text)) > 40
        cls = ' class="text"' if long_text else ' class="num"'
        body.append(f'<tr data-measure="{esc(m)}"><td title="{esc(m)}">{esc(label)}</td><td{cls}><b>{shown}</b></td>'
                    f'<td class="num">{esc(_goal_text(m, num(r.get("goal"))))}</td><td>{mark}</td>'
                    f'<td class="num">{esc(fmt_n(int(n))) if n is not None else ""}</td></tr>')
    later = ", ".join(sorted(MEASURES.get(str(r["measure"]), (str(r["measure"]).replace("_", " "), ""))[0]
                             for r in empty))
    pending = (f'<p class="note">Not measured yet (no model in force, or too few renewals held out): '
               f'{esc(later)}.</p>' if empty else "")
    return ('<table class="data evidence"><thead><tr><th>Measure</th><th class="num">Value</th><th class="num">Goal</th>'
            f'<th></th><th class="num">Sample</th></tr></thead><tbody>{"".join(body)}</tbody></table>{pending}')


def reliability_table(rows: list[dict[str, Any]]) -> str:
    """Per decile: predicted and observed churn side by side, as numbers and as two bars on one scale."""
    top = max([num(r.get("predicted")) or 0.0 for r in rows] + [num(r.get("observed")) or 0.0 for r in rows] + [0.01])
    body = []
    for r in rows:
        p, o, n = num(r.get("predicted")), num(r.get("observed")), num(r.get("n"))

        def bar(v: float | None, cls: str) -> str:
            return f'<span class="rbar {cls}" style="width:{0 if v is None else max(1.0, 100 * v / top):.0f}%"></span>'

        body.append(f'<tr data-decile="{esc(r.get("decile"))}"><td class="num">{esc(r.get("decile"))}</td>'
                    f'<td class="num">{pct(p, 1)}</td><td class="num">{pct(o, 1)}</td>'
                    f'<td class="num">{esc(fmt_n(int(n))) if n is not None else ""}</td>'
                    f'<td class="bars">{bar(p, "pred")}{bar(o, "obs")}</td></tr>')
    return ('<table class="data reliability"><thead><tr><th class="num">Decile</th><th class="num">Predicted</th>'
            '<th class="num">Observed</th><th class="num">Renewals</th><th><span class="rbar pred key"></span> predicted '
            '<span class="rbar obs key"></span> observed</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def evidence_section(ctx: Context) -> str:
    d = ctx.data
    rows = evidence_rows(d)
    rel = reliability_rows(d)
    cards = []
    if rows:
        cards.append(card("How far to trust the score", evidence_table(rows),
                          subtitle="back-test on held-out history, whole book",
                          note="From marts.health_score_evidence: how well the score (and the churn model, where "
                               "published) told churners apart 30–60 days before renewal; goals from vars.chw."))
    else:
        cards.append(unavailable("How far to trust the score", "marts.health_score_evidence",
                                 "It holds the score's back-test: AUC, lift of the red band, lead time."))
    if rel:
        cards.append(card("Churn probability: predicted against observed", reliability_table(rel),
                          subtitle="held-out renewals by decile of predicted probability",
                          note="Calibrated when the two bars match in each decile: a 20% prediction churns about "
                               "one time in five."))
    else:
        cards.append(unavailable("Churn probability: predicted against observed", "marts.health_score_reliability",
                                 "It compares the churn model's predicted probability with the churn observed, by "
                                 "decile, once the model is published."))
    return f'<div class="grid two" style="margin-top:14px">{"".join(cards)}</div>'


def expansion_card(ctx: Context, health: list[dict[str, Any]], names: dict[str, dict[str, Any]]) -> str:
    """The healthy accounts most likely to expand (account_health.expansion_propensity), when published."""
    if not health or not any("expansion_propensity" in r for r in health):
        return ""
    rows = [r for r in health if num(r.get("expansion_propensity")) is not None and not r.get("is_at_risk")]
    rows.sort(key=lambda r: -(num(r.get("expansion_propensity")) or 0.0))
    body = []
    for r in rows[:8]:
        acct = names.get(str(r["account_id"]), {})
        body.append(f'<tr><td><b class="acct">{esc(acct.get("account_name") or r["account_id"])}</b></td>'
                    f'<td><span class="chip {esc(r.get("health_band") or "")}">{fmt_number(num(r.get("health_score")), 0)}</span></td>'
                    f'<td class="num">{pct(num(r.get("expansion_propensity")))}</td></tr>')
    if not body:
        return ""
    return card("Expansion candidates",
                '<table class="data"><thead><tr><th>Account</th><th>Score</th><th class="num">Propensity</th></tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table>',
                subtitle="not at risk, most likely to expand", note="Expansion propensity: the model's probability "
                "that the account grows its contract at renewal.")
