"""End to end: the hand-built data set (tests/fixtures/handbuilt_metrics.py) through `dbt build`
of the metric marts, asserting values computed by hand in marts.metric_values and the facts.

dbt runs for real in a subprocess, on raw Parquet written by tests/fixtures/raw_builder.py, with
its own warehouse, target and log folders (other dbt runs may share the project).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.models.health import write_health_weights
from tests.fixtures.handbuilt_metrics import write_raw_extracts

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
Z95 = 1.959963984540054
MARCH = date(2026, 3, 1)
SELECT = "+metric_values +dim_accounts +fct_tickets +fct_mrr_monthly +fct_survey_responses +metric_reviews"
BUILD: dict[str, Path] = {}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    tmp = tmp_path_factory.mktemp("metrics_handbuilt")
    data = tmp / "data"
    write_raw_extracts(data)
    # metric_values also carries the health metrics, which read the health weights: the
    # configured defaults here (this data set has no renewal history to fit on)
    write_health_weights(data / "warehouse.duckdb", data / "models")
    env = os.environ.copy()
    env.update(
        CHW_WAREHOUSE=str(data / "warehouse.duckdb"),
        CHW_RAW_DIR=str(data / "raw"),
        CHW_AUDIT_DIR=str(data / "audit"),
        CHW_MODELS_DIR=str(data / "models"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
    )
    proc = subprocess.run(
        [str(DBT), "build", "--select", *SELECT.split(),
         "--indirect-selection", "cautious",
         "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        pytest.fail(f"dbt build exited {proc.returncode}:\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}")
    BUILD["target"] = tmp / "target"
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def row(con, metric, grain="month", period_start=MARCH, segment_type="all", segment_value="all", window_days=None):
    rows = con.execute(
        """
        select value, numerator, denominator, sample_size, ci_low, ci_high, is_low_sample
        from marts.metric_values
        where metric = ? and grain = ? and period_start = ? and segment_type = ? and segment_value = ?
          and window_days is not distinct from ?
        """,
        [metric, grain, period_start, segment_type, segment_value, window_days],
    ).fetchall()
    assert len(rows) == 1, f"{metric} {grain} {period_start} {segment_type}={segment_value}: {rows}"
    return dict(zip(["value", "numerator", "denominator", "sample_size", "ci_low", "ci_high", "is_low_sample"],
                    rows[0], strict=True))


def value(con, metric, **kw):
    return row(con, metric, **kw)["value"]


# --- surveys --------------------------------------------------------------------------------

def test_csat_mixes_5_and_7_point_scales_and_counts_late_responses(warehouse):
    # R1 5/5, R2 4/5, R3 3/5, R4 6/7, R5 5/7 (not top-two on 7), R6 7/7 (late: extract 04-03)
    r = row(warehouse, "csat_pct")
    assert (r["numerator"], r["denominator"], r["sample_size"]) == (4, 6, 6)
    assert r["value"] == pytest.approx(100 * 4 / 6)
    assert r["is_low_sample"] is True
    # Wilson 95 % for 4 of 6
    p, n = 4 / 6, 6
    centre, half = p + Z95**2 / (2 * n), Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    assert r["ci_low"] == pytest.approx(100 * (centre - half) / (1 + Z95**2 / n))
    assert r["ci_high"] == pytest.approx(100 * (centre + half) / (1 + Z95**2 / n))
    assert value(warehouse, "csat_avg_norm") == pytest.approx((1 + 0.75 + 0.5 + 5 / 6 + 4 / 6 + 1) / 6)
    # R7 was given on 04-01: April holds it alone (score 1: not satisfied)
    april = row(warehouse, "csat_pct", period_start=date(2026, 4, 1))
    assert (april["value"], april["sample_size"]) == (0.0, 1)
    # by touchpoint: ticket_solved R1 R2 R3 -> 2 of 3; onboarding_milestone R4 R5 R6 -> 2 of 3
    assert value(warehouse, "csat_pct", segment_type="touchpoint", segment_value="ticket_solved") == pytest.approx(200 / 3)
    assert value(warehouse, "csat_pct", segment_type="channel", segment_value="in_app") == pytest.approx(200 / 3)


def test_csat_other_grains(warehouse):
    assert value(warehouse, "csat_pct", grain="day", period_start=date(2026, 3, 2)) == 100.0
    # week of Monday 03-02: R1 (03-02), R2 (03-05)
    assert row(warehouse, "csat_pct", grain="week", period_start=date(2026, 3, 2))["sample_size"] == 2
    assert value(warehouse, "csat_pct", grain="quarter", period_start=date(2026, 1, 1)) == pytest.approx(100 * 4 / 6)
    # rolling 30 days ending 03-31 covers 03-02 .. 03-31: R1..R6; ending 04-01: R2..R7, 3 of 6
    assert value(warehouse, "csat_pct", grain="rolling", period_start=date(2026, 3, 31), window_days=30) == pytest.approx(200 / 3)
    assert value(warehouse, "csat_pct", grain="rolling", period_start=date(2026, 4, 1), window_days=30) == pytest.approx(50.0)


def test_nps_and_classes(warehouse):
    # N1 10, N2 9, N3 8, N4 3, N5 9 (late) -> 3 promoters, 1 passive, 1 detractor
    r = row(warehouse, "nps")
    assert r["value"] == pytest.approx(40.0)
    assert (r["numerator"], r["denominator"], r["sample_size"]) == (2, 5, 5)
    # normal approximation on +100/0/-100: mean 0.4, variance 4/5 - 0.16 = 0.64
    assert r["ci_low"] == pytest.approx(100 * (0.4 - Z95 * math.sqrt(0.64 / 5)))
    assert r["ci_high"] == 100.0  # 40 + 70.1 clamped
    assert value(warehouse, "nps_promoter_pct") == pytest.approx(60.0)
    assert value(warehouse, "nps_detractor_pct") == pytest.approx(20.0)
    # A4 moved to CSM O2 only in the 04-03 snapshot: in March O1 holds A1 (10, 9) and A4 (3)
    assert value(warehouse, "nps", segment_type="csm_owner", segment_value="O1") == pytest.approx(100 / 3)
    assert value(warehouse, "nps", segment_type="csm_owner", segment_value="O2") == pytest.approx(50.0)
    assert value(warehouse, "nps", segment_type="tier", segment_value="mid_market") == pytest.approx(-100.0)


def test_ces_both_directions(warehouse):
    # SV4 (1 = least effort) 2, 3; SV5 (higher is better) 6 -> 2, 4 -> 4
    r = row(warehouse, "ces_avg")
    assert r["value"] == pytest.approx(2.75)
    assert r["sample_size"] == 4


def test_response_rate_and_fatigue(warehouse):
    r = row(warehouse, "survey_response_rate_pct")                # answered: I1, I2, I3, I5, I6 of I1..I9
    assert (r["value"], r["numerator"], r["denominator"]) == (pytest.approx(500 / 9), 5, 9)
    # 90 days ending 03-31: 5 invitations to K1 (3), K2, K3
    f = row(warehouse, "surveys_per_contact_90d", grain="rolling", period_start=date(2026, 3, 31), window_days=90)
    assert f["value"] == pytest.approx(9 / 3)                     # K1: I1 I4 I5 I7, K2: I2 I6, K3: I3 I8 I9
    assert (f["numerator"], f["denominator"]) == (9, 3)
    # the survey panel reads the three by touchpoint and channel: ticket_solved = I1 I2 I3 I7 I8
    # (contacts K1 K2 K3), answered I1 I2 I3; in_app = I9 (SV2) alone
    t = row(warehouse, "survey_response_rate_pct", segment_type="touchpoint", segment_value="ticket_solved")
    assert (t["numerator"], t["denominator"]) == (3, 5)
    assert value(warehouse, "survey_response_rate_pct", segment_type="channel", segment_value="in_app") == 0.0
    f = row(warehouse, "surveys_per_contact_90d", grain="rolling", period_start=date(2026, 3, 31), window_days=90,
            segment_type="touchpoint", segment_value="ticket_solved")
    assert (f["numerator"], f["denominator"]) == (5, 3)
    f = row(warehouse, "surveys_per_contact_90d", grain="rolling", period_start=date(2026, 3, 31), window_days=90,
            segment_type="channel", segment_value="in_app")
    assert (f["numerator"], f["denominator"]) == (1, 1)


def test_survey_timeliness(warehouse):
    """I7 on time (60 min), I8 late (60 min 1 s), I9 on time (within the completion day + 24 h);
    I1-I3 (unknown ticket T0) and the relationship surveys I4-I6 have no known trigger."""
    r = row(warehouse, "survey_timeliness_pct")
    assert (r["value"], r["numerator"], r["denominator"], r["sample_size"]) == (pytest.approx(200 / 3), 2, 3, 3)
    n, z = 3, Z95
    centre, half = 2 / 3 + z**2 / (2 * n), z * math.sqrt((2 / 3) * (1 / 3) / n + z**2 / (4 * n * n))
    assert r["ci_low"] == pytest.approx(100 * (centre - half) / (1 + z**2 / n))
    t = row(warehouse, "survey_timeliness_pct", segment_type="touchpoint", segment_value="ticket_solved")
    assert (t["numerator"], t["denominator"]) == (1, 2)
    t = row(warehouse, "survey_timeliness_pct", segment_type="touchpoint", segment_value="onboarding_milestone")
    assert (t["numerator"], t["denominator"]) == (1, 1)
    assert value(warehouse, "survey_timeliness_pct", segment_type="channel", segment_value="email") == pytest.approx(50.0)
    assert value(warehouse, "survey_timeliness_pct", segment_type="channel", segment_value="in_app") == 100.0
    for touchpoint in ("relationship", "feature_adoption", "release"):  # no target: no row
        assert warehouse.execute(
            "select count(*) from marts.metric_values where metric = 'survey_timeliness_pct' "
            "and segment_type = 'touchpoint' and segment_value = ?", [touchpoint]).fetchone()[0] == 0


def test_acsi_index(warehouse):
    """K2 (I6): 8, 7, 9 -> (77.8 + 66.7 + 88.9) / 3 (docs/metrics.md); K4 on 03-21 without invitation:
    10, 10, 1 -> (100 + 100 + 0) / 3; K1 answered two items: counted, not in the index."""
    k2 = (700 / 9 + 600 / 9 + 800 / 9) / 3
    k4 = (100 + 100 + 0) / 3
    r = row(warehouse, "acsi_index")
    assert r["value"] == pytest.approx((k2 + k4) / 2)
    assert (r["numerator"], r["denominator"], r["sample_size"]) == (pytest.approx(k2 + k4), 2, 2)
    half = Z95 * math.sqrt((k2 - k4) ** 2 / 2 / 2)              # s^2 = (x1 - x2)^2 / 2 over n - 1 = 1
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx((k2 + k4) / 2 - half), pytest.approx((k2 + k4) / 2 + half))
    assert r["is_low_sample"]
    assert value(warehouse, "acsi_index", grain="day", period_start=date(2026, 3, 16)) == pytest.approx(77.7777778)
    assert value(warehouse, "acsi_index", segment_type="tier", segment_value="mid_market") == pytest.approx(k4)
    assert value(warehouse, "acsi_index", segment_type="touchpoint", segment_value="relationship") == pytest.approx(
        (k2 + k4) / 2)
    m = row(warehouse, "acsi_incomplete_respondents")
    assert (m["value"], m["sample_size"]) == (1.0, 3)
    assert value(warehouse, "acsi_incomplete_respondents", segment_type="tier", segment_value="smb") == 0.0


def test_reviews_rescaled_to_five_stars(warehouse):
    assert value(warehouse, "review_rating_avg") == pytest.approx((4.0 + 4.5 + 3.0) / 3)
    assert value(warehouse, "review_count") == 3
    assert value(warehouse, "review_rating_avg", segment_type="platform", segment_value="capterra") == pytest.approx(4.5)


# --- service --------------------------------------------------------------------------------

def test_service_metrics(warehouse):
    assert value(warehouse, "ticket_count") == 5
    assert value(warehouse, "escalation_rate_pct") == pytest.approx(20.0)
    # 30, 2 (from comments), 45, 120, 0.1667 minutes
    assert value(warehouse, "frt_median_minutes") == pytest.approx(30.0)
    assert value(warehouse, "frt_within_target_pct") == pytest.approx(60.0)
    # solved: 3, 4, 2, 48 hours
    assert value(warehouse, "resolution_median_hours") == pytest.approx(3.5)
    assert value(warehouse, "resolution_median_hours", segment_type="category", segment_value="billing") == pytest.approx(2.5)
    # T1, T2 FCR; T3 reopened one-touch, T4 two public agent comments
    fcr = row(warehouse, "fcr_pct")
    assert (fcr["value"], fcr["numerator"], fcr["denominator"]) == (pytest.approx(50.0), 2, 4)
    assert value(warehouse, "call_answer_within_20s_pct") == pytest.approx(50.0)
    assert value(warehouse, "unresolved_tickets") == 1
    assert value(warehouse, "unresolved_tickets", grain="day", period_start=date(2026, 3, 10)) == 1  # T4


def test_ticket_facts(warehouse):
    rows = dict(warehouse.execute(
        "select ticket_id, (first_response_source, frt_minutes, is_fcr, is_reopened) from marts.fct_tickets"
    ).fetchall())
    assert rows["T2"] == ("comment", 2.0, True, False)
    assert rows["T3"] == ("ticket", 45.0, False, True)


# --- revenue --------------------------------------------------------------------------------

START_MRR = 1000 + 200 + 400 * 1.27        # A1, A2, A4 on 02-28
END_MRR = {"A1": 1000 + 500 * 1.08, "A3": 300.0, "A4": 300 * 1.27}


def test_revenue_month(warehouse):
    assert value(warehouse, "logo_churn_rate_pct") == pytest.approx(100 / 3)       # A2 of A1 A2 A4
    churn_plus_contraction = 200 + (400 - 300) * 1.27
    assert value(warehouse, "revenue_churn_rate_pct") == pytest.approx(100 * churn_plus_contraction / START_MRR)
    assert value(warehouse, "nrr_pct") == pytest.approx(100 * (END_MRR["A1"] + END_MRR["A4"]) / START_MRR)
    assert value(warehouse, "grr_pct") == pytest.approx(100 * (1000 + END_MRR["A4"]) / START_MRR)
    assert value(warehouse, "customer_retention_rate_pct") == pytest.approx(100 * (3 - 1) / 3)  # A3 is new
    assert value(warehouse, "new_mrr") == pytest.approx(300.0)
    assert value(warehouse, "expansion_mrr") == pytest.approx(540.0)
    assert value(warehouse, "contraction_mrr") == pytest.approx(127.0)
    assert value(warehouse, "churned_mrr") == pytest.approx(200.0)
    assert value(warehouse, "reactivation_mrr") == 0.0
    arpa = 12 * sum(END_MRR.values()) / 3
    assert value(warehouse, "arpa_annual") == pytest.approx(arpa)
    annual = 1 - (2 / 3) ** 12
    assert value(warehouse, "annualized_logo_churn_pct") == pytest.approx(100 * annual)
    assert value(warehouse, "cltv") == pytest.approx(arpa / annual)
    # the quarter compares 2025-12-31 (A1, A4) with 03-31
    q1 = date(2026, 1, 1)
    assert value(warehouse, "logo_churn_rate_pct", grain="quarter", period_start=q1) == 0.0
    assert value(warehouse, "nrr_pct", grain="quarter", period_start=q1) == pytest.approx(
        100 * (END_MRR["A1"] + END_MRR["A4"]) / (1000 + 400 * 1.27))
    assert value(warehouse, "new_mrr", grain="quarter", period_start=q1) == pytest.approx(200 + 300)  # A2 in Jan, A3
    # no day/week/rolling grain for revenue metrics
    assert warehouse.execute(
        "select count(*) from marts.metric_values where metric = 'nrr_pct' and grain not in ('month', 'quarter')"
    ).fetchone()[0] == 0


def test_mrr_facts_and_dim_accounts(warehouse):
    march = dict(warehouse.execute(
        "select account_id, (movement_type, start_mrr, end_mrr) from marts.fct_mrr_monthly where month_start = ?",
        [MARCH]).fetchall())
    assert march["A2"] == ("churn", 200.0, 0.0)
    assert march["A3"][0:2] == ("new", 0.0)
    assert march["A1"][0] == "expansion" and march["A4"][0] == "contraction"
    dim = dict(warehouse.execute(
        "select account_id, (csm_owner_id, onboarding_cohort, arr) from marts.dim_accounts").fetchall())
    assert dim["A4"][0] == "O2"                       # current owner
    assert dim["A1"][1] == date(2025, 12, 1)
    assert dim["A1"][2] == pytest.approx(12 * END_MRR["A1"])
    assert dim["A2"][2] == 0.0


# --- usage and onboarding -------------------------------------------------------------------

def test_usage(warehouse):
    assert value(warehouse, "active_users") == 3                 # A1|U1, A1|U2, A2|U3
    assert value(warehouse, "active_users", grain="month", period_start=date(2026, 2, 1)) == 1
    assert value(warehouse, "active_users", grain="rolling", period_start=date(2026, 3, 10), window_days=30) == 3
    # 03-31: A1 used both core features in the last 30 days; A3 and A4 none (A2's subscription ended)
    assert value(warehouse, "feature_adoption_pct", grain="day", period_start=date(2026, 3, 31)) == pytest.approx(100 * 2 / 6)
    # 3 events in 03-02..03-31 vs 1 in 01-31..03-01
    u = row(warehouse, "usage_change_pct")
    assert (u["value"], u["numerator"], u["denominator"]) == (pytest.approx(200.0), 3, 1)


def test_onboarding(warehouse):
    m = row(warehouse, "milestone_on_time_pct")                  # M1, M4 of M1..M4
    assert (m["value"], m["numerator"], m["denominator"]) == (pytest.approx(50.0), 2, 4)
    assert value(warehouse, "time_to_value_days") == pytest.approx((13 + 143) / 2)


# --- facts behind survey answers --------------------------------------------------------------

def test_survey_response_facts(warehouse):
    facts = dict(warehouse.execute(
        "select response_id, (events_7d, active_users_7d, open_tickets_7d, nps_class, ces_effort, response_date, first_extract_date) "
        "from marts.fct_survey_responses").fetchall())
    # N1 (A1, 03-03): EV2 on 03-02 by U1; T1 open on 03-02
    assert facts["N1"][0:4] == (1, 1, 1, "promoter")
    assert facts["C3"][4] == 2.0                                  # 8 - 6
    # late-arriving R6: known from 04-03, counted on 03-30
    assert facts["R6"][5:] == (date(2026, 3, 30), date(2026, 4, 3))


def test_metric_values_key_is_unique(warehouse):
    dupes = warehouse.execute(
        """
        select count(*) from (
            select metric, grain, period_start, window_days, segment_type, segment_value
            from marts.metric_values
            group by all having count(*) > 1
        )
        """
    ).fetchone()[0]
    assert dupes == 0


# --- the program: catalog and reviews ---------------------------------------------------------

def test_reviews_carry_the_values_of_metric_values(warehouse):
    """A monthly survey metric reads its month; a rolling-only one the window ending on the
    month's last day; the threshold's minimum sample decides low sample (nps: 5 < 10)."""
    cols = ["value", "sample_size", "threshold", "is_low_sample", "is_breached", "owner_team", "due_date"]
    nps = warehouse.execute(
        f"select {', '.join(cols)} from marts.metric_reviews where metric = 'nps' and segment_type = 'all' "
        "and period_start = ?", [MARCH]).fetchall()
    assert [dict(zip(cols, r, strict=True)) for r in nps] == [{
        "value": pytest.approx(40.0), "sample_size": 5, "threshold": 20.0, "is_low_sample": True,
        "is_breached": False, "owner_team": "customer_success", "due_date": date(2026, 4, 5)}]
    (fatigue,) = warehouse.execute(
        "select value from marts.metric_reviews where metric = 'surveys_per_contact_90d' "
        "and segment_type = 'all' and period_start = ?", [MARCH]).fetchone()
    assert fatigue == pytest.approx(9 / 3)  # the 90 days ending 03-31 (test_response_rate_and_fatigue)


def test_a_weekly_metric_has_a_review_row_every_week(warehouse):
    """From the week of its first value to the last complete week, without a gap, for every
    weekly metric and segment; no review of a week still running."""
    gaps = warehouse.execute("""
        with reviewed as (
            select metric, segment_type, segment_value, period_start,
                   lag(period_start) over (partition by metric, segment_type, segment_value order by period_start) as previous
            from marts.metric_reviews
            where cadence = 'weekly'
        )
        select count(*) from reviewed where previous is not null and period_start - previous <> 7
    """).fetchone()[0]
    assert gaps == 0
    weekly = warehouse.execute("""
        select count(distinct metric), max(period_end),
               (select max(period_end) from intermediate.int_calendar__periods where grain = 'week' and is_complete)
        from marts.metric_reviews where cadence = 'weekly' and segment_type = 'all'
    """).fetchone()
    assert weekly[0] >= 8
    assert weekly[1] == weekly[2]


def test_the_build_ran_the_unit_tests_of_every_model_it_built(warehouse):
    """The pipeline's dbt steps leave dbt unit tests out (they test the SQL, not the data), so the
    worked examples written as dbt unit tests must run here: every unit test of a model this build
    built ran and passed."""
    results = json.loads((BUILD["target"] / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    manifest = json.loads((BUILD["target"] / "manifest.json").read_text())
    expected = {
        uid for uid, ut in manifest["unit_tests"].items()
        if any(dep in status for dep in ut["depends_on"]["nodes"] if dep.startswith("model."))
    }
    assert len(expected) >= 10, sorted(expected)
    assert {uid: status.get(uid) for uid in expected} == dict.fromkeys(expected, "pass")
