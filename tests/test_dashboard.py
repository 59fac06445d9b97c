"""The static dashboard: rendered from a published serving copy, checked in headless Chromium.

A synthetic warehouse with the contract's mart columns is published (orchestration.lib.serve.publish),
the dashboard is rendered from the serving copy, opened in Debian's Chromium, and its five views,
figures, sample sizes and low-sample marks are read back from the rendered DOM. A screenshot is
saved to tests/artifacts/dashboard.png for people to look at.
"""

from __future__ import annotations

import math
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.serve.dashboard import NO_DATA, VIEWS, render_dashboard
from orchestration.lib.serve.publish import publish
from tests.browser import artifacts_dir, chromium_page

AS_OF = date(2026, 10, 31)
TIERS = ["enterprise", "mid_market", "smb"]
INDUSTRIES = ["software", "healthcare", "retail", "finance", "manufacturing", "education"]
# 41 monthly onboarding cohorts (as in the demo), most of them small
COHORTS = [date(2023 + (5 + k) // 12, (5 + k) % 12 + 1, 1).isoformat() for k in range(41)]
# the rolling 30-day NPS has no response at all for these days (the line must break), and a few
# low-sample days before them at -100 (plotted as marked points, never as a dive of the line)
NPS_GAP = (AS_OF - timedelta(days=120), AS_OF - timedelta(days=110))
NPS_LOW_DAYS = [AS_OF - timedelta(days=125 - k) for k in range(4)]
TOUCHPOINTS = ["ticket_solved", "onboarding_milestone", "relationship"]
CHANNELS = ["email", "in_app"]
CSMS = ["own_001", "own_002", "own_003", "own_004", "own_005"]
CSM_NAMES = {"own_001": "Ada Moreau", "own_002": "Ben Okafor", "own_003": "Chen Wei", "own_004": "Dana Ruiz",
             "own_005": "Eli Novak"}
COMPONENTS = ["usage", "adoption", "onboarding", "sentiment", "support", "engagement"]


def _month_starts(n: int, last: date) -> list[date]:
    out, d = [], date(last.year, last.month, 1)
    for _ in range(n):
        out.append(d)
        d = date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)
    return sorted(out)


def _mv(metric, grain, period, value, n, window=None, seg=("all", "all"), ci=None, num=None, den=None, min_n=30):
    return {
        "metric": metric, "grain": grain, "period_start": period, "window_days": window,
        "segment_type": seg[0], "segment_value": seg[1], "value": value,
        "numerator": num, "denominator": den, "sample_size": n,
        "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None,
        "is_low_sample": n < min_n,
    }


def metric_value_rows(as_of: date = AS_OF, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    days = [as_of - timedelta(days=i) for i in range(400)][::-1]
    for metric, base, amp, spread in (("nps", 32.0, 9.0, 60.0), ("csat_pct", 81.0, 5.0, 38.0), ("ces_avg", 2.9, 0.35, 1.3),
                                      ("nps_promoter_pct", 52.0, 5.0, 50.0), ("nps_detractor_pct", 19.0, 3.0, 40.0)):
        for w in (30, 60, 90):
            for i, d in enumerate(days):
                n = max(8, int(w * 1.6 + 20 * math.sin(i / 37)))
                v = base + amp * math.sin(i / 58 + w / 40) + rng.gauss(0, amp * 30 / w / 8)
                if metric == "nps" and w == 30:
                    if NPS_GAP[0] <= d <= NPS_GAP[1]:
                        continue
                    if d in NPS_LOW_DAYS:
                        n, v = 2, -100.0
                    else:
                        n = max(n, 30)
                half = 1.96 * spread / math.sqrt(n)
                rows.append(_mv(metric, "rolling", d, round(v, 2), n, w, ci=(v - half, v + half)))
        latest = days[-1]
        segs = {"tier": TIERS, "industry": INDUSTRIES, "onboarding_cohort": COHORTS, "csm_owner": CSMS}
        for seg_type, values in segs.items():
            for j, sv in enumerate(values):
                n = [140, 75, 44, 21, 9, 60][j % 6] if seg_type != "onboarding_cohort" else [4, 9, 31, 2, 12, 6, 17][j % 7]
                v = base + amp * 1.5 * math.cos(j * 1.7 + len(seg_type))
                half = 1.96 * spread / math.sqrt(n)
                rows.append(_mv(metric, "rolling", latest, round(v, 2), n, 90, (seg_type, sv), ci=(v - half, v + half)))
    for seg_type, values in {"tier": TIERS, "industry": INDUSTRIES, "onboarding_cohort": COHORTS, "csm_owner": CSMS}.items():
        for j, sv in enumerate(values):
            n = [40, 26, 18, 12][j % 4]
            rows.append(_mv("health_score_avg", "day", as_of, round(58 + 14 * math.sin(j * 2.1), 1), n, seg=(seg_type, sv), min_n=5))
            rows.append(_mv("at_risk_accounts", "day", as_of, float(2 + (j * 5) % 7), n, seg=(seg_type, sv), min_n=5))
    rows.append(_mv("health_score_avg", "day", as_of, 61.4, 80, min_n=5))
    # the survey program: response rate and fatigue by touchpoint and channel (timeliness and the
    # ACSI are published later: see add_survey_program_metrics)
    for seg_type, values in (("all", ["all"]), ("touchpoint", TOUCHPOINTS), ("channel", CHANNELS)):
        for j, sv in enumerate(values):
            invited = [1500, 640, 45, 820][j % 4]
            answered = int(invited * [0.29, 0.34, 0.41, 0.22][j % 4])
            rows.append(_mv("survey_response_rate_pct", "rolling", as_of, round(100 * answered / invited, 2), invited, 90,
                            (seg_type, sv), ci=(100 * answered / invited - 2.5, 100 * answered / invited + 2.5),
                            num=answered, den=invited))
            contacts = [390, 300, 17, 420][j % 4]
            rows.append(_mv("surveys_per_contact_90d", "rolling", as_of, round(invited / contacts, 2), contacts, 90,
                            (seg_type, sv), num=invited, den=contacts))
    months = _month_starts(24, as_of)
    for k, m in enumerate(months):
        start_accts = 400 + 4 * k
        lost = 8 + (k * 7) % 9
        rows.append(_mv("logo_churn_rate_pct", "month", m, round(100 * lost / start_accts, 2), start_accts, num=lost, den=start_accts))
        rows.append(_mv("annualized_logo_churn_pct", "month", m, round(100 * (1 - (1 - lost / start_accts) ** 12), 2), start_accts))
        rows.append(_mv("revenue_churn_rate_pct", "month", m, round(1.4 + 0.8 * math.sin(k / 2), 2), start_accts))
        rows.append(_mv("customer_retention_rate_pct", "month", m, round(97.5 - (k * 7) % 9 / 4, 2), start_accts))
        nrr = 101.5 + 2.5 * math.sin(k / 3)
        rows.append(_mv("nrr_pct", "month", m, round(nrr, 2), start_accts))
        rows.append(_mv("grr_pct", "month", m, round(min(nrr - 3.1, 99.2), 2), start_accts))
        rows.append(_mv("cltv", "month", m, round(24000 * 1 / max(1 - (1 - lost / start_accts) ** 12, 0.01)), start_accts))
        rows.append(_mv("arpa_annual", "month", m, round(24000 + 120 * k), start_accts))
        for name, v in (("new_mrr", 21000 + 900 * (k % 5)), ("expansion_mrr", 12000 + 700 * (k % 4)),
                        ("reactivation_mrr", 1500 * (k % 3)), ("contraction_mrr", 6000 + 500 * (k % 6)),
                        ("churned_mrr", 9000 + 1100 * (k % 7))):
            rows.append(_mv(name, "month", m, float(v), start_accts))
        tickets = 900 + 40 * (k % 6)
        rows.append(_mv("ticket_count", "month", m, float(tickets), tickets))
        rows.append(_mv("frt_median_minutes", "month", m, round(42 - k * 0.6 + 5 * math.sin(k), 1), tickets))
        rows.append(_mv("frt_within_target_pct", "month", m, round(71 + k * 0.5, 1), tickets, num=0.71 * tickets, den=tickets))
        rows.append(_mv("resolution_median_hours", "month", m, round(19 - k * 0.2 + 2 * math.cos(k), 1), tickets - 60))
        rows.append(_mv("fcr_pct", "month", m, round(68 + 6 * math.sin(k / 4), 1), tickets - 60))
        rows.append(_mv("escalation_rate_pct", "month", m, round(6.5 + 1.5 * math.cos(k / 3), 1), tickets))
        calls = 300 + 11 * k
        rows.append(_mv("call_answer_within_20s_pct", "month", m, round(78 + 4 * math.sin(k / 2), 1), calls))
        rows.append(_mv("unresolved_tickets", "month", m, float(110 - k), tickets))
        if m == months[-2]:
            for j, ch in enumerate(["email", "chat", "phone", "web"]):
                rows.append(_mv("frt_within_target_pct", "month", m, [82.0, 64.5, 71.2, 88.9][j], [520, 210, 25, 160][j],
                                seg=("channel", ch)))
            for j, cat in enumerate(["billing", "bug", "how_to", "integration", "outage"]):
                rows.append(_mv("resolution_median_hours", "month", m, [6.5, 31.0, 4.2, 22.8, 3.1][j], [190, 240, 300, 90, 12][j],
                                seg=("category", cat)))
    for q in (date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)):
        rows.append(_mv("nrr_pct", "quarter", q, 103.2 + q.month / 10, 420))
    return rows


def build_warehouse(path: Path, as_of: date = AS_OF, seed: int = 7, accounts: int = 80) -> Path:
    """A warehouse-shaped DuckDB file with the contract's mart columns (and a few extras)."""
    rng = random.Random(seed)
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts; create schema if not exists audit")
    mv = pd.DataFrame(metric_value_rows(as_of, seed))
    con.register("mv_df", mv)
    con.execute(
        "create or replace table marts.metric_values as select metric, grain, cast(period_start as date) as period_start, "
        "cast(window_days as integer) as window_days, segment_type, segment_value, cast(value as double) as value, "
        "cast(numerator as double) as numerator, cast(denominator as double) as denominator, "
        "cast(sample_size as bigint) as sample_size, cast(ci_low as double) as ci_low, cast(ci_high as double) as ci_high, "
        "cast(is_low_sample as boolean) as is_low_sample from mv_df"
    )
    dim, health, alerts, responses = [], [], [], []
    for i in range(accounts):
        aid = f"acc_{i:04d}"
        tier, industry, csm = TIERS[i % 3], INDUSTRIES[i % 6], CSMS[i % 5]
        dim.append({"account_id": aid, "account_name": f"{['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Wonka'][i % 8]} "
                    f"{['Labs', 'Corp', 'Group', 'Health', 'Retail', 'Systems'][i % 6]} {i}"
                    # names as long as real ones ("Vandelay, \"Studios\" & Partners"): the table must still fit
                    f"{' International Holdings & Partners' if i % 3 == 0 else ''}",
                    "industry": industry, "tier": tier, "csm_owner_id": csm, "csm_owner_name": CSM_NAMES[csm],
                    "onboarding_cohort": COHORTS[i % 5], "arr": 12000.0 * (1 + i % 7)})
        comps = {f"{c}_score": round(max(0.0, min(100.0, rng.gauss(62, 22))), 1) for c in COMPONENTS}
        score = round(sum(comps.values()) / len(comps), 1)
        prior = round(score * rng.uniform(0.9, 1.35), 1)
        band = "green" if score >= 70 else "yellow" if score >= 40 else "red"
        change = round(100 * (score - prior) / prior, 1)
        health.append({"account_id": aid, "as_of_date": as_of, "health_score": score, "health_band": band, **comps,
                       "score_30d_ago": prior, "change_30d_pct": change, "is_at_risk": band == "red" or change <= -15,
                       "renewal_date": as_of + timedelta(days=20 + 9 * i), "days_to_renewal": 20 + 9 * i,
                       "csm_owner_id": csm, "tier": tier})
    for k in range(45):
        t = datetime(2026, 10, 1) + timedelta(hours=15 * k)
        status = ["open", "followed_up", "overdue", "followed_up"][k % 4]
        alerts.append({"alert_id": f"al_{k}", "alert_type": ["nps_detractor", "low_csat", "health_drop_15", "high_effort_repeat",
                                                              "csat_below_70"][k % 5],
                       "account_id": f"acc_{k % accounts:04d}", "signal_type": "survey_response", "signal_id": f"r_{k}",
                       "triggered_at": t, "owner_team": "customer_success", "owner_id": CSMS[k % 5], "due_at": t + timedelta(hours=48),
                       "followed_up_at": t + timedelta(hours=20 + k) if status == "followed_up" else None, "status": status,
                       "within_sla": (20 + k <= 48) if status == "followed_up" else (False if status == "overdue" else None)})
    for k in range(30):
        metric = ["nps", "csat", "ces"][k % 3]
        scale = {"nps": 10, "csat": 5, "ces": 7}[metric]
        score = rng.randint(0 if metric == "nps" else 1, scale)
        klass = ("promoter" if score >= 9 else "passive" if score >= 7 else "detractor") if metric == "nps" else None
        responses.append({"response_id": f"r_{k}", "account_id": f"acc_{(k * 7) % accounts:04d}", "survey_metric": metric,
                          "score": score, "scale_max": scale, "nps_class": klass,
                          "touchpoint": ["ticket_solved", "relationship", "onboarding_milestone"][k % 3],
                          "responded_at": datetime.combine(as_of, datetime.min.time()) - timedelta(hours=5 * k),
                          "comment": ["Support was quick, thanks!", "The export keeps failing, please call me at [redacted]",
                                      "", "Onboarding took longer than promised.", "Love the new dashboards"][k % 5]})
    for name, rows in (("dim_accounts", dim), ("account_health", health), ("alerts", alerts), ("fct_survey_responses", responses)):
        con.register("df", pd.DataFrame(rows))
        con.execute(f"create or replace table marts.{name} as select * from df")
        con.unregister("df")
    con.execute("create or replace table audit.load_log as select 'crm' as source, 'accounts' as entity, "
                "date '2026-10-31' as extract_date, 'crm/accounts/2026-10-31/a.csv' as file, 80::bigint as rows_in, "
                "80::bigint as rows_loaded, 0::bigint as rows_quarantined, 'loaded' as status, '' as error")
    con.close()
    return path


# --- marts published by later work: the program (metric_catalog, metric_reviews), the churn model
# (account_health.churn_probability/expansion_propensity, account_risk_drivers, the evidence's new
# measures, health_score_reliability) and the survey metrics survey_timeliness_pct and acsi_index.
# Only their columns are fixed here; the rows are a few plausible ones.

# metric, unit, direction, owner team, cadence, threshold (value, grain, window, min sample), headline rank
CATALOG = [
    ("nps", "pts", "higher_is_better", "customer_success", "monthly", (20.0, "rolling", 90, 10), 1),
    ("csat_pct", "%", "higher_is_better", "customer_success", "monthly", (70.0, "rolling", 30, 20), 2),
    ("ces_avg", "score 1-7", "lower_is_better", "customer_success", "monthly", None, 3),
    ("nrr_pct", "%", "higher_is_better", "executive", "quarterly", None, 4),
    ("grr_pct", "%", "higher_is_better", "executive", "quarterly", None, 5),
    ("logo_churn_rate_pct", "%", "lower_is_better", "executive", "quarterly", None, 6),
    ("cltv", "USD", "higher_is_better", "executive", "quarterly", None, 7),
    ("frt_median_minutes", "minutes", "lower_is_better", "support", "weekly", (60.0, "week", None, 30), 8),
    ("health_score_avg", "score 0-100", "higher_is_better", "customer_success", "weekly", None, 9),
    ("fcr_pct", "%", "higher_is_better", "support", "weekly", (70.0, "week", None, 30), None),
    ("survey_response_rate_pct", "%", "higher_is_better", "customer_success", "monthly", None, None),
]
HEADLINES = [m for m, *_, rank in sorted((c for c in CATALOG if c[-1]), key=lambda c: c[-1])]
# metric, segment, period start, period end, value, previous, n, breached, low sample
REVIEWS = [
    ("nps", ("all", "all"), date(2026, 8, 1), date(2026, 8, 31), 27.0, 31.0, 140, False, False),
    ("nps", ("all", "all"), date(2026, 9, 1), date(2026, 9, 30), 24.0, 27.0, 150, False, False),
    ("nps", ("tier", "smb"), date(2026, 9, 1), date(2026, 9, 30), 12.0, 22.0, 45, True, False),
    ("nps", ("tier", "mid_market"), date(2026, 9, 1), date(2026, 9, 30), 5.0, 30.0, 6, False, True),
    ("nps", ("tier", "enterprise"), date(2026, 9, 1), date(2026, 9, 30), 41.0, 38.0, 60, False, False),
    ("csat_pct", ("all", "all"), date(2026, 9, 1), date(2026, 9, 30), 68.5, 74.0, 240, True, False),
    ("csat_pct", ("all", "all"), date(2026, 10, 1), date(2026, 10, 31), 90.0, 68.5, 250, False, False),  # due 5 Nov: not yet
    ("ces_avg", ("all", "all"), date(2026, 9, 1), date(2026, 9, 30), 3.1, 3.3, 90, False, False),
    ("survey_response_rate_pct", ("all", "all"), date(2026, 9, 1), date(2026, 9, 30), 28.8, 30.1, 1200, False, False),
    ("health_score_avg", ("all", "all"), date(2026, 10, 19), date(2026, 10, 25), 61.4, 62.0, 80, False, False),
    ("frt_median_minutes", ("all", "all"), date(2026, 10, 12), date(2026, 10, 18), 41.0, 38.0, 210, False, False),
    ("frt_median_minutes", ("all", "all"), date(2026, 10, 19), date(2026, 10, 25), 72.0, 41.0, 230, True, False),
    ("fcr_pct", ("all", "all"), date(2026, 10, 19), date(2026, 10, 25), 74.0, 71.0, 200, False, False),
    ("nrr_pct", ("all", "all"), date(2026, 7, 1), date(2026, 9, 30), 103.9, 103.6, 420, False, False),
    ("grr_pct", ("all", "all"), date(2026, 7, 1), date(2026, 9, 30), 98.9, 99.1, 420, False, False),
    ("logo_churn_rate_pct", ("all", "all"), date(2026, 7, 1), date(2026, 9, 30), 2.4, 2.1, 420, False, False),
    ("cltv", ("all", "all"), date(2026, 7, 1), date(2026, 9, 30), 310000.0, 295000.0, 420, False, False),
]
DUE_DAYS = {"weekly": 2, "monthly": 5, "quarterly": 10}
DRIVER_FEATURES = ["usage_level", "sentiment_trend", "unresolved_load", "onboarding", "engagement", "adoption"]


def add_later_marts(path: Path, as_of: date = AS_OF) -> Path:
    """The program, churn-model and survey marts of the later work, added to a build_warehouse file."""
    con = duckdb.connect(str(path))
    cadence_of = {c[0]: c[4] for c in CATALOG}
    catalog = pd.DataFrame([{
        "metric": m, "definition": f"the definition of {m} (docs/metrics.md)", "unit": unit, "direction": direction,
        "owner_team": team, "cadence": cadence, "threshold": thr[0] if thr else None,
        "threshold_grain": thr[1] if thr else None, "threshold_window_days": thr[2] if thr else None,
        "threshold_min_sample": thr[3] if thr else None, "is_headline": rank is not None, "headline_rank": rank,
    } for m, unit, direction, team, cadence, thr, rank in CATALOG])
    thresholds = {c[0]: (c[5][0] if c[5] else None) for c in CATALOG}
    teams = {c[0]: c[3] for c in CATALOG}
    reviews = pd.DataFrame([{
        "metric": m, "segment_type": seg[0], "segment_value": seg[1], "owner_team": teams[m], "cadence": cadence_of[m],
        "period_start": start, "period_end": end, "due_date": end + timedelta(days=DUE_DAYS[cadence_of[m]]),
        "value": value, "previous_value": prev, "change": value - prev, "sample_size": n, "threshold": thresholds[m],
        "is_breached": breached, "is_low_sample": low,
    } for m, seg, start, end, value, prev, n, breached, low in REVIEWS])
    for name, frame in (("metric_catalog", catalog), ("metric_reviews", reviews)):
        con.register("df", frame)
        con.execute(f"create or replace table marts.{name} as select * from df")
        con.unregister("df")
    con.execute("alter table marts.metric_catalog alter threshold type double")
    con.execute("alter table marts.metric_catalog alter headline_rank type bigint")
    con.execute("alter table marts.metric_reviews alter due_date type date")

    # the churn model: a probability falling with the score, drivers on the latest day (and older ones)
    con.execute("alter table marts.account_health add column churn_probability double")
    con.execute("alter table marts.account_health add column expansion_propensity double")
    con.execute("update marts.account_health set churn_probability = round(1 / (1 + exp((health_score - 42) / 7)), 4), "
                "expansion_propensity = round(1 / (1 + exp((70 - health_score) / 9)), 4)")
    ids = [r[0] for r in con.execute("select account_id from marts.account_health order by account_id").fetchall()]
    drivers = []
    for i, aid in enumerate(ids):
        for day, shift in ((as_of, 0), (as_of - timedelta(days=7), 3)):
            for rank in (1, 2, 3):
                feature = DRIVER_FEATURES[(i + rank + shift) % len(DRIVER_FEATURES)]
                drivers.append({"account_id": aid, "as_of_date": day, "driver_rank": rank, "feature": feature,
                                "contribution": round((0.9 - 0.3 * rank) * (1 if (i + rank) % 4 else -1), 3),
                                "feature_value": round(0.5 + 0.1 * ((i * rank) % 7), 2)})
    con.register("df", pd.DataFrame(drivers))
    con.execute("create or replace table marts.account_risk_drivers as select account_id, cast(as_of_date as date) as as_of_date, "
                "cast(driver_rank as bigint) as driver_rank, feature, contribution, feature_value from df")
    con.unregister("df")
    evidence = [("auc", 0.84, 0.80, True, 1400, None), ("pr_auc", 0.31, None, None, 1400, None),
                ("brier", 0.061, None, None, 1400, None), ("red_band_lift", 3.6, 3.0, True, 240, None),
                ("share_green", 0.58, 0.80, True, 178, None), ("median_lead_days", 52.0, None, None, 19, None),
                ("model_kind", None, None, None, 120, "logistic")]
    con.register("df", pd.DataFrame([{"measure": m, "segment_type": "all", "segment_value": "all", "value": v, "goal": g,
                                      "meets_goal": ok, "sample_size": n, "value_text": text}
                                     for m, v, g, ok, n, text in evidence]))
    con.execute("create or replace table marts.health_score_evidence as select measure, segment_type, segment_value, "
                "cast(value as double) as value, cast(goal as double) as goal, cast(meets_goal as boolean) as meets_goal, "
                "cast(sample_size as bigint) as sample_size, cast(value_text as varchar) as value_text from df")
    con.unregister("df")
    con.execute("create or replace table marts.health_score_reliability as select cast(d as bigint) as decile, "
                "round(0.01 + 0.045 * d * d / 10, 4) as predicted, round(0.012 + 0.043 * d * d / 10, 4) as observed, "
                "cast(40 as bigint) as n from range(1, 11) t(d)")

    # survey timeliness (by touchpoint) and the ACSI, beside the existing survey metrics
    extra = []
    for j, sv in enumerate(["all", *TOUCHPOINTS]):
        n = [1500, 640, 45, 820][j]
        extra.append(_mv("survey_timeliness_pct", "rolling", as_of, [91.0, 96.5, 62.0, 88.0][j], n, 90,
                         ("all", "all") if sv == "all" else ("touchpoint", sv)))
    for w in (30, 60, 90):
        for i in range(200):
            d = as_of - timedelta(days=199 - i)
            extra.append(_mv("acsi_index", "rolling", d, round(74 + 3 * math.sin(i / 30 + w), 2), 20 + w, w,
                             ci=(70.0, 78.0)))
    con.register("df", pd.DataFrame(extra))
    con.execute("insert into marts.metric_values by name select metric, grain, cast(period_start as date) as period_start, "
                "cast(window_days as integer) as window_days, segment_type, segment_value, value, numerator, denominator, "
                "cast(sample_size as bigint) as sample_size, ci_low, ci_high, is_low_sample from df")
    con.unregister("df")
    con.close()
    return path


@pytest.fixture(scope="module")
def published_full(tmp_path_factory) -> Path:
    """A serving copy with the later marts as well."""
    root = tmp_path_factory.mktemp("dash_full")
    warehouse = add_later_marts(build_warehouse(root / "warehouse.duckdb"))
    publish(warehouse, root / "serving")
    return root / "serving"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dash")
    warehouse = build_warehouse(root / "warehouse.duckdb")
    publish(warehouse, root / "serving")
    return root / "serving"


def test_render_figures_from_the_serving_copy(published):
    result = render_dashboard(published)
    assert result.path == published / "dashboard" / "index.html"
    assert result.view_errors == {}
    assert result.as_of == AS_OF
    assert result.figures["at_risk_accounts"] > 0
    assert result.figures["nps"] is not None and -100 <= result.figures["nps"] <= 100
    assert 0 <= result.figures["csat_pct"] <= 100
    page = result.path.read_text()
    for _, heading in VIEWS:
        assert heading in page
    assert "http://" not in page and "https://" not in page  # renders offline: no CDN, no external asset
    assert "<script" not in page


def test_empty_or_missing_serving_copy_says_no_data_yet(tmp_path):
    missing = render_dashboard(tmp_path / "nothing" / "serving", out_dir=tmp_path / "out1")
    assert NO_DATA in missing.path.read_text()
    assert missing.view_errors == {}
    # a published warehouse without any marts: every view still renders
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    publish(empty, tmp_path / "serving")
    result = render_dashboard(tmp_path / "serving")
    assert result.view_errors == {}
    text = result.path.read_text()
    for _, heading in VIEWS:
        assert heading in text
    assert text.count(NO_DATA) >= 10
    assert result.figures.get("nps") is None


def test_partial_marts_degrade_per_metric(tmp_path):
    """metric_values with only some metrics and no CI columns; account_health absent."""
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema marts")
    con.execute(
        "create table marts.metric_values as select 'csat_pct' as metric, 'rolling' as grain, date '2026-10-31' as period_start, "
        "30 as window_days, 'all' as segment_type, 'all' as segment_value, 84.0 as value, 42.0 as numerator, 50.0 as denominator, "
        "50::bigint as sample_size"
    )
    con.execute("create table marts.alerts (alert_id varchar, alert_type varchar, status varchar)")
    con.close()
    publish(wh, tmp_path / "serving")
    result = render_dashboard(tmp_path / "serving")
    assert result.view_errors == {}
    assert result.figures["csat_pct"] == 84.0
    assert result.figures["nps"] is None and result.figures["at_risk_accounts"] is None
    assert NO_DATA in result.path.read_text()


def test_dashboard_in_headless_chromium(published):
    result = render_dashboard(published)
    shot = artifacts_dir() / "dashboard.png"
    with chromium_page(width=1400, height=1000) as page:
        page.goto(result.path.as_uri())
        page.wait_for_selector("section#executive")
        headings = page.locator("section.view > h2").all_inner_texts()
        assert headings == [title for _, title in VIEWS]
        text = page.inner_text("body")
        # figures with units and sample sizes
        nps_tile = page.locator('.tile[data-metric="nps"]').inner_text()
        assert "pts" in nps_tile and "n = " in nps_tile and "95% CI" in nps_tile
        assert "%" in page.locator('.tile[data-metric="csat_pct"]').inner_text()
        assert page.locator('.tile[data-metric="nrr_pct"]').first.inner_text().count("%") >= 1
        assert "low sample" in text  # greyed-out segments and windows
        assert "At-risk accounts" in text and "Acme" in text or "Globex" in text
        assert "Recent survey responses" in text
        assert str(result.figures["at_risk_accounts"]) in page.locator('.tile[data-metric="at_risk_accounts"]').inner_text()
        # every view has at least one chart drawn
        for view_id, _ in VIEWS:
            if view_id == "program":  # this copy has no program marts yet: it says so
                assert "not available yet" in page.locator("section#program .card.unavailable").inner_text()
                continue
            assert page.locator(f"section#{view_id} svg, section#{view_id} table").count() > 0, view_id
        assert page.locator("section#trends svg path").count() >= 9  # 3 metrics x 3 windows
        # the charts have a size on screen
        box = page.locator("section#trends svg").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000


# --- issue 31 / 30: gaps, low samples, the program, the survey panel, the churn model -------------


def test_line_chart_breaks_at_gaps_and_keeps_low_samples_off_the_line():
    """A missing stretch of days breaks the line; a low-sample value is a marked point, not a
    vertex of the line, and does not stretch the axis (it sits on the edge, marked off scale)."""
    from orchestration.lib.serve.dashboard.charts import Series, line_chart
    from orchestration.lib.serve.dashboard.data import Point

    start = date(2026, 6, 1)
    pts = [Point(start + timedelta(days=i), 30.0 + (i % 5), n=60) for i in range(40)]
    pts += [Point(start + timedelta(days=40 + i), -100.0, n=2, low=True) for i in range(3)]  # low-sample dive
    pts += [Point(start + timedelta(days=60 + i), 32.0, n=60) for i in range(30)]  # after 17 days without data
    svg = line_chart([Series("30-day", pts, "#2563eb")], metric="nps", label="t")
    runs = re.findall(r'class="run[^"]*" data-series="30-day" data-start="([\d-]+)" data-end="([\d-]+)"', svg)
    assert runs == [("2026-06-01", "2026-07-10"), ("2026-07-31", "2026-08-29")]
    lows = re.findall(r'class="low-pt[^"]*" data-series="30-day" data-date="([\d-]+)"', svg)
    assert lows == ["2026-07-11", "2026-07-12", "2026-07-13"]
    assert svg.count("off-scale") == 3  # the axis follows the firm values (about 30), not -100
    assert ">−100<" not in svg and ">-100<" not in svg
    # monthly values of July and October (NPS surveyed in waves): two points, no line across Aug-Sep
    waves = [Point(date(2026, 7, 1), 21.0, n=250, grain="month"), Point(date(2026, 10, 1), 18.0, n=240, grain="month")]
    svg = line_chart([Series("NPS", waves, "#2563eb")], metric="nps", label="w")
    assert svg.count('class="run single"') == 2 and 'class="run"' not in svg


def test_later_marts_absent_say_not_available_yet(published):
    """Without the program and churn-model marts (and survey timeliness, ACSI), every view still
    renders, and says what is missing instead of failing."""
    result = render_dashboard(published)
    assert result.view_errors == {}
    page = result.path.read_text()
    program = page.split('id="program"')[1].split('<section')[0]
    assert "not available yet" in program and "marts.metric_reviews" in program
    executive = page.split('id="executive"')[1].split('<section')[0]
    assert 'data-unavailable="marts.metric_catalog"' in executive
    health = page.split('id="health"')[1].split('<section')[0]
    assert 'data-unavailable="marts.health_score_reliability"' in health
    assert ">Churn probability</th>" not in health and ">Weakest component</th>" in health
    panel = page.split('class="data seg survey-panel"')[1].split('</table>')[0]
    assert panel.count('class="nodata" data-metric="survey_timeliness_pct"') >= 1 + len(TOUCHPOINTS)
    assert 'data-metric="survey_response_rate_pct"><span class="segcell' in panel
    assert '<div class="tile empty" data-metric="acsi_index">' in health


@pytest.fixture(scope="module")
def full_page(published_full):
    """The dashboard over the full serving copy, open in headless Chromium at 1400 px."""
    result = render_dashboard(published_full)
    assert result.view_errors == {}
    with chromium_page(width=1400, height=1000) as page:
        page.goto(result.path.as_uri())
        page.wait_for_selector("section#executive")
        yield page


def test_each_view_fits_1400px_without_sideways_scrolling(full_page):
    page = full_page
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    overflowing = page.evaluate(
        "() => [...document.querySelectorAll('.scroll, .fit, .card, .tile, table')]"
        ".filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)"
        ".map(e => e.closest('section').id + ' ' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth)"
    )
    assert overflowing == []
    table = page.locator("table.at-risk")
    card = page.locator(".at-risk-card")
    assert table.bounding_box()["x"] + table.bounding_box()["width"] <= card.bounding_box()["x"] + card.bounding_box()["width"]
    for view_id, _ in VIEWS:
        page.locator(f"section#{view_id}").screenshot(path=str(artifacts_dir() / f"dashboard-{view_id}.png"))


def test_trend_lines_break_at_gaps_and_mark_low_samples(full_page):
    chart = full_page.locator('section#trends svg[data-chart="nps"]')
    runs = chart.locator('.run[data-series="30-day"]')
    spans = [(date.fromisoformat(r.get_attribute("data-start")), date.fromisoformat(r.get_attribute("data-end")))
             for r in runs.all()]
    assert len(spans) >= 2
    # no line across the days without data, nor through the low-sample days
    for a, b in spans:
        assert not (a < NPS_GAP[0] and b > NPS_GAP[1]), (a, b)
        assert not any(a <= d <= b for d in NPS_LOW_DAYS), (a, b)
    lows = {m.get_attribute("data-date") for m in chart.locator('.low-pt[data-series="30-day"]').all()}
    assert {d.isoformat() for d in NPS_LOW_DAYS} <= lows
    assert chart.locator(".low-pt.off-scale").count() >= len(NPS_LOW_DAYS)  # -100 on 2 responses: off the firm scale
    assert "low sample" in chart.text_content()


def test_program_view_lists_due_reviews_breaches_first(full_page):
    program = full_page.locator("section#program")
    teams = [t.get_attribute("data-team") for t in program.locator(".card.team").all()]
    assert teams == ["customer_success", "support", "executive"]  # the teams with breaches first
    for team in teams:
        flags = [int(r.get_attribute("data-breached"))
                 for r in program.locator(f'.card.team[data-team="{team}"] > table.reviews tbody tr').all()]
        assert flags == sorted(flags, reverse=True), (team, flags)
    first = program.locator('.card.team[data-team="customer_success"] > table.reviews tbody tr').first
    assert first.get_attribute("data-breached") == "1"
    csat = program.locator('tr[data-metric="csat_pct"]')
    assert csat.count() == 1  # September's review (due 5 Oct); October's is not due until 5 Nov
    text = csat.inner_text()
    assert "68.5%" in text and "74.0%" in text and "n = 240" in text and "breached" in text and "Sep 2026" in text
    # the low-sample segment is never a breach
    low = program.locator('tr[data-segment="tier:mid_market"]')
    assert low.get_attribute("data-breached") == "0" and "low sample" in low.text_content()  # folded away


def test_executive_view_leads_with_the_headline_set(full_page):
    tiles = full_page.locator("section#executive .headlines .tile")
    assert [t.get_attribute("data-metric") for t in tiles.all()] == HEADLINES
    first_grid = full_page.locator("section#executive .grid").first
    assert "headlines" in first_grid.get_attribute("class")
    csat = full_page.locator('section#executive .headlines .tile[data-metric="csat_pct"]').inner_text()
    assert "68.5" in csat and "prev 74.0%" in csat and "breached" in csat and "n = 240" in csat


def test_survey_panel_and_acsi(full_page):
    panel = full_page.locator("table.survey-panel")
    heads = [h.get_attribute("data-metric") for h in panel.locator("thead th[data-metric]").all()]
    assert heads == ["survey_response_rate_pct", "surveys_per_contact_90d", "survey_timeliness_pct"]
    row = panel.locator('tr[data-segment="touchpoint:onboarding_milestone"]').inner_text()
    assert "62.0%" in row and "n = 45" in row
    assert "96.5%" in panel.locator('tr[data-segment="touchpoint:ticket_solved"]').inner_text()
    assert panel.locator('tr[data-segment="channel:email"]').count() == 1
    assert "76" in full_page.locator('section#health .tile[data-metric="acsi_index"]').inner_text()


def test_long_cohort_list_grouped_to_quarters(full_page):
    card = full_page.locator("section#segments .card", has_text="By onboarding cohort")
    shown = card.locator("table.grouped tbody tr")
    labels = [r.get_attribute("data-segment") for r in shown.all()]
    assert 10 <= len(labels) <= 15 and all(re.fullmatch(r"\d{4}-Q[1-4]", x) for x in labels), labels
    assert card.locator("details tbody tr").count() == len(COHORTS)  # the months, one click away


def test_at_risk_table_shows_churn_probability_and_drivers(full_page):
    table = full_page.locator("table.at-risk")
    heads = table.locator("thead th").all_inner_texts()
    assert "Churn probability" in heads and "Top risk drivers" in heads
    rows = table.locator("tbody tr").all()
    probs = [float(r.locator(".prob").inner_text().split("%")[0]) for r in rows]
    assert probs == sorted(probs, reverse=True) and probs[0] > probs[-1]
    assert all(r.locator("ol.drivers li").count() == 3 for r in rows)
    evidence = full_page.locator("section#health table.evidence")
    assert "✓ meets" in evidence.locator('tr[data-measure="auc"]').inner_text()
    assert "logistic" in evidence.locator('tr[data-measure="model_kind"]').inner_text()
    assert full_page.locator("section#health table.reliability tbody tr").count() == 10
