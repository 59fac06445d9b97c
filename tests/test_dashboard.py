"""The static dashboard: rendered from a published serving copy, checked in headless Chromium.

A synthetic warehouse with the contract's mart columns is published (orchestration.lib.publish),
the dashboard is rendered from the serving copy, opened in Debian's Chromium, and its five views,
figures, sample sizes and low-sample marks are read back from the rendered DOM. A screenshot is
saved to tests/artifacts/dashboard.png for people to look at.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.dashboard import NO_DATA, VIEWS, render_dashboard
from orchestration.lib.publish import publish
from tests.browser import artifacts_dir, chromium_page

AS_OF = date(2026, 10, 31)
TIERS = ["enterprise", "mid_market", "smb"]
INDUSTRIES = ["software", "healthcare", "retail", "finance", "manufacturing", "education"]
COHORTS = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
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
                half = 1.96 * spread / math.sqrt(n)
                rows.append(_mv(metric, "rolling", d, round(v, 2), n, w, ci=(v - half, v + half)))
        latest = days[-1]
        segs = {"tier": TIERS, "industry": INDUSTRIES, "onboarding_cohort": COHORTS, "csm_owner": CSMS}
        for seg_type, values in segs.items():
            for j, sv in enumerate(values):
                n = [140, 75, 44, 21, 9, 60][j % 6]
                v = base + amp * 1.5 * math.cos(j * 1.7 + len(seg_type))
                half = 1.96 * spread / math.sqrt(n)
                rows.append(_mv(metric, "rolling", latest, round(v, 2), n, 90, (seg_type, sv), ci=(v - half, v + half)))
    for seg_type, values in {"tier": TIERS, "industry": INDUSTRIES, "onboarding_cohort": COHORTS, "csm_owner": CSMS}.items():
        for j, sv in enumerate(values):
            n = [40, 26, 18, 12][j % 4]
            rows.append(_mv("health_score_avg", "day", as_of, round(58 + 14 * math.sin(j * 2.1), 1), n, seg=(seg_type, sv), min_n=5))
            rows.append(_mv("at_risk_accounts", "day", as_of, float(2 + (j * 5) % 7), n, seg=(seg_type, sv), min_n=5))
    rows.append(_mv("health_score_avg", "day", as_of, 61.4, 80, min_n=5))
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
                    f"{['Labs', 'Corp', 'Group', 'Health', 'Retail', 'Systems'][i % 6]} {i}",
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
            assert page.locator(f"section#{view_id} svg, section#{view_id} table").count() > 0, view_id
        assert page.locator("section#trends svg path").count() >= 9  # 3 metrics x 3 windows
        # the charts have a size on screen
        box = page.locator("section#trends svg").first.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
