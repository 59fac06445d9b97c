"""End to end: a small raw data set with one case per alert rule, dbt for real, the weight fit,
the score, the alerts, the outbox, and a second run with one more extract.

Raw Parquet comes from tests/fixtures/raw_builder.py (no ingestion); dbt runs in a subprocess with
its own target and log paths under tmp (others may run dbt at the same time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.defs.models.health import write_health_weights
from orchestration.defs.models.outbox import emit_new_alerts
from orchestration.lib.core import settings
from tests.fixtures.raw_builder import ensure_schemas, write_raw
from tests.reference_backtest import back_test

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = str(Path(sys.executable).parent / "dbt")

pytestmark = pytest.mark.e2e

FIRST = dt.date(2025, 1, 6)
LATEST = dt.date(2025, 7, 7)  # run 1; run 2 adds 2025-07-14
ACCOUNTS = {  # account: (tier, csm until 2025-04-07, csm after)
    "A1": ("enterprise", "csm1", "csm2"),
    "A2": ("mid_market", "csm1", "csm1"),
    "A3": ("smb", "csm2", "csm2"),
    "A4": ("smb", "csm2", "csm2"),
    "A5": ("smb", "csm2", "csm2"),
    "A6": ("smb", "csm2", "csm2"),
    "A7": ("smb", "csm2", "csm2"),
    "A8": ("smb", "csm2", "csm2"),
}
CORE = ["report", "dashboard", "api"]


def alert_id(alert_type: str, signal_type: str, signal_id: str) -> str:
    return hashlib.md5(f"{alert_type}|{signal_type}|{signal_id}".encode()).hexdigest()


def ts(day: dt.date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00"


def extract_dates(latest: dt.date) -> list[dt.date]:
    out, d = [], FIRST
    while d <= latest:
        out.append(d)
        d += dt.timedelta(days=7)
    return out


def first_extract_on_or_after(day: dt.date, dates: list[dt.date]) -> dt.date | None:
    return next((d for d in dates if d >= day), None)


def build_world():
    """Delta rows with the day they happened; snapshots as functions of the extract date."""
    days = [dt.date(2024, 12, 1) + dt.timedelta(days=i) for i in range(240)]
    deltas: dict[str, list[tuple[dt.date, dict]]] = {k: [] for k in
                                                      ("events", "responses", "tasks", "activities", "tickets",
                                                       "reviews", "invitations")}
    # product usage: steady for everyone; A6 stops using the product after 2025-04-01
    for acc in ACCOUNTS:
        for i, day in enumerate(days):
            if acc == "A6" and day > dt.date(2025, 4, 1):
                continue
            for k, name in enumerate(["login", CORE[i % 3], CORE[(i + 1) % 3]]):
                deltas["events"].append((day, {
                    "event_id": f"e-{acc}-{day}-{k}", "account_id": acc, "user_id": f"u-{acc}-{k}",
                    "event_name": name, "occurred_at": ts(day, 9 + k)}))

    def response(rid, survey, acc, score, day, hour=10, comment=None, contact=None):
        deltas["responses"].append((day, {
            "response_id": rid, "survey_id": survey, "account_id": acc, "contact_id": contact or f"C-{acc}",
            "score": score, "responded_at": ts(day, hour), "comment": comment}))

    # nps_detractor followed up within 48 h through its response; the next NPS of C-A1 is higher
    response("r_det1", "s_nps", "A1", 3, dt.date(2025, 3, 10),
             comment="Support is slow and the pricing is too expensive, call me at +1 555 123 4567 or jane.doe@example.com")
    deltas["tasks"].append((dt.date(2025, 3, 11), {
        "task_id": "t1", "account_id": "A1", "owner_id": "csm1", "created_at": ts(dt.date(2025, 3, 10), 12),
        "completed_at": ts(dt.date(2025, 3, 11), 9), "related_type": "survey_response", "related_id": "r_det1",
        "outcome": "called"}))
    response("r_prom1", "s_nps", "A1", 9, dt.date(2025, 4, 20))
    # expansion_opportunity of A2 (run 3, where the expansion model flags it) followed up within its 7 days
    deltas["tasks"].append((dt.date(2025, 6, 18), {
        "task_id": "t_exp", "account_id": "A2", "owner_id": "csm1", "created_at": ts(dt.date(2025, 6, 16), 12),
        "completed_at": ts(dt.date(2025, 6, 18), 15), "related_type": "alert",
        "related_id": alert_id("expansion_opportunity", "account_expansion", "A2:2025-06-16"), "outcome": "upsell call"}))
    # a detractor after the CSM changed (csm2), an open task only -> overdue
    response("r_det2", "s_nps", "A1", 4, dt.date(2025, 5, 5))
    deltas["tasks"].append((dt.date(2025, 5, 6), {
        "task_id": "t_open", "account_id": "A1", "owner_id": "csm2", "created_at": ts(dt.date(2025, 5, 6)),
        "completed_at": None, "related_type": "survey_response", "related_id": "r_det2"}))
    # nps_below_20: ten smb detractors in February (rolling 90-day NPS -100 on 10 responses)
    smb = ["A3", "A4", "A5", "A6", "A7", "A8"]
    for i in range(10):
        response(f"r_smb{i}", "s_nps", smb[i % 6], 2, dt.date(2025, 2, 1) + dt.timedelta(days=2 * i),
                 contact=f"C-{smb[i % 6]}-{i}")
    # Q2 promoters (NPS rises in Q2)
    for i in range(8):
        response(f"r_q2p{i}", "s_nps", smb[i % 6], 10, dt.date(2025, 5, 12) + dt.timedelta(days=i),
                 contact=f"C-{smb[i % 6]}-q2-{i}")
    # csat_below_70 on touchpoint ticket_solved: 20 CSAT in January, half of them 1 -> 50 %
    for i in range(20):
        response(f"r_tp{i}", "s_csat", "A2" if i % 2 else "A7", 1 if i % 2 else 5,
                 dt.date(2025, 1, 8) + dt.timedelta(days=i), contact=f"C-tp-{i}",
                 comment="The onboarding was confusing" if i % 2 else "Great support agent")
    # low_csat followed up through the alert itself, too late for its 24 h
    response("r_low", "s_csat", "A2", 1, dt.date(2025, 3, 3))
    deltas["tasks"].append((dt.date(2025, 3, 6), {
        "task_id": "t2", "account_id": "A2", "owner_id": "sup1", "created_at": ts(dt.date(2025, 3, 4)),
        "completed_at": ts(dt.date(2025, 3, 6)), "related_type": "alert",
        "related_id": alert_id("low_csat", "survey_response", "r_low")}))
    # Q2 CSAT all satisfied (CSAT rises in Q2)
    for i in range(5):
        response(f"r_q2c{i}", "s_csat", "A2", 5, dt.date(2025, 5, 2) + dt.timedelta(days=i), contact=f"C-q2c-{i}")
    # high_effort_repeat: A3 effort 6 and 7 within two weeks (one alert), a third later in the same episode
    response("r_ces1", "s_ces", "A3", 6, dt.date(2025, 4, 1))
    response("r_ces2", "s_ces", "A3", 7, dt.date(2025, 4, 15))
    response("r_ces3", "s_ces", "A3", 6, dt.date(2025, 4, 20))
    response("r_ces4", "s_ces", "A4", 6, dt.date(2025, 4, 1))  # alone: no alert
    # reviews: Q1 high, Q2 low -> review_misalignment for Q2
    for i in range(3):
        deltas["reviews"].append((dt.date(2025, 2, 3) + dt.timedelta(days=i), {
            "review_id": f"rv_q1_{i}", "platform": "g2", "rating": 5, "rating_scale_max": 5, "title": "Great",
            "body": "Easy to use dashboard", "reviewed_at": ts(dt.date(2025, 2, 3) + dt.timedelta(days=i))}))
        deltas["reviews"].append((dt.date(2025, 5, 5) + dt.timedelta(days=i), {
            "review_id": f"rv_q2_{i}", "platform": "capterra", "rating": 2, "rating_scale_max": 5,
            "title": "Too expensive", "body": "Pricing went up, write to bob@example.com",
            "reviewed_at": ts(dt.date(2025, 5, 5) + dt.timedelta(days=i))}))
    # helpdesk: an open escalated ticket on A2 (do_not_survey), solved tickets elsewhere
    deltas["tickets"].append((dt.date(2025, 6, 20), {
        "ticket_id": "tk1", "account_id": "A2", "requester_contact_id": "C-A2", "channel": "email",
        "category": "bug", "priority": "high", "status": "open", "created_at": ts(dt.date(2025, 6, 20)),
        "first_response_at": ts(dt.date(2025, 6, 20), 14), "solved_at": None, "updated_at": ts(dt.date(2025, 6, 20)),
        "escalated": True, "reopen_count": 0}))
    deltas["tickets"].append((dt.date(2025, 2, 10), {
        "ticket_id": "tk2", "account_id": "A1", "requester_contact_id": "C-A1", "channel": "chat",
        "category": "how_to", "priority": "normal", "status": "solved", "created_at": ts(dt.date(2025, 2, 10)),
        "first_response_at": ts(dt.date(2025, 2, 10), 10), "solved_at": ts(dt.date(2025, 2, 11)),
        "updated_at": ts(dt.date(2025, 2, 11)), "escalated": False, "reopen_count": 0}))
    # engagement: QBRs for A1 and A2
    for acc in ("A1", "A2"):
        for month in (1, 4):
            day = dt.date(2025, month, 15)
            deltas["activities"].append((day, {
                "activity_id": f"act-{acc}-{month}", "account_id": acc, "activity_type": "qbr",
                "occurred_at": ts(day), "owner_id": "csm1", "contact_id": f"C-{acc}"}))
    # invitations: C-A5 invited recently (survey fatigue)
    deltas["invitations"].append((dt.date(2025, 6, 30), {
        "invitation_id": "inv1", "survey_id": "s_nps", "account_id": "A5", "contact_id": "C-A5",
        "sent_at": ts(dt.date(2025, 6, 30))}))
    return deltas


def snapshots(extract: dt.date) -> dict[tuple[str, str], list[dict]]:
    switch = extract >= dt.date(2025, 4, 7)
    accounts = [{"account_id": a, "account_name": f"Account {a}", "industry": "software", "tier": t,
                 "region": "emea", "plan": "pro", "csm_owner_id": (after if switch else before),
                 "created_at": "2024-06-01T00:00:00"} for a, (t, before, after) in ACCOUNTS.items()]
    subs = []
    for a in ACCOUNTS:
        subs.append({"subscription_id": f"S-{a}-1", "account_id": a, "product": "core", "start_date": "2024-07-01",
                     "end_date": "2025-07-01", "mrr": 1000.0, "currency": "USD", "seats": 3, "status": "active"})
        if a != "A8" and extract >= dt.date(2025, 6, 2):  # renewals appear a month ahead; A8 churns
            subs.append({"subscription_id": f"S-{a}-2", "account_id": a, "product": "core",
                         "start_date": "2025-07-01", "end_date": "2026-07-01", "mrr": 1000.0, "currency": "USD",
                         "seats": 3, "status": "active"})
    return {
        ("crm", "accounts"): accounts,
        ("crm", "owners"): [
            {"owner_id": "csm1", "owner_name": "Casey", "email": "casey@vendor.test", "team": "customer_success"},
            {"owner_id": "csm2", "owner_name": "Sam", "email": "sam@vendor.test", "team": "customer_success"},
            {"owner_id": "sup1", "owner_name": "Pat", "email": "pat@vendor.test", "team": "support"},
            {"owner_id": "exec1", "owner_name": "Lee", "email": "lee@vendor.test", "team": "executive"},
        ],
        ("crm", "contacts"): [{"contact_id": f"C-{a}", "account_id": a, "email": f"c{a}@cust.test",
                               "full_name": f"Contact {a}", "role": "champion", "created_at": "2024-06-01T00:00:00"}
                              for a in ACCOUNTS],
        ("crm", "subscriptions"): subs,
        ("crm", "milestones"): [
            {"milestone_id": "m1", "account_id": "A1", "milestone_name": "kickoff", "sequence": 1,
             "planned_date": "2025-01-15", "completed_date": "2025-01-10", "owner_id": "csm1"},
            {"milestone_id": "m2", "account_id": "A1", "milestone_name": "go live", "sequence": 2,
             "planned_date": "2025-02-01", "completed_date": "2025-02-10", "owner_id": "csm1"},
        ],
        ("survey", "surveys"): [
            {"survey_id": "s_nps", "metric": "nps", "question": "Recommend?", "scale_min": 0, "scale_max": 10,
             "higher_is_better": True, "trigger": "relationship", "channel": "email", "owner_team": "customer_success"},
            {"survey_id": "s_csat", "metric": "csat", "question": "Satisfied?", "scale_min": 1, "scale_max": 5,
             "higher_is_better": True, "trigger": "ticket_solved", "channel": "email", "owner_team": "support"},
            {"survey_id": "s_ces", "metric": "ces", "question": "Effort?", "scale_min": 1, "scale_max": 7,
             "higher_is_better": False, "trigger": "onboarding_milestone", "channel": "in_app",
             "owner_team": "product"},
        ],
        ("product", "features"): [
            {"feature_key": "f_login", "event_name": "login", "feature_name": "Login", "is_core": False},
            *[{"feature_key": f"f_{c}", "event_name": c, "feature_name": c.title(), "is_core": True} for c in CORE],
        ],
    }


DELTA_ENTITIES = {"events": ("product", "events"), "responses": ("survey", "responses"), "tasks": ("crm", "tasks"),
                  "activities": ("crm", "activities"), "tickets": ("helpdesk", "tickets"),
                  "reviews": ("reviews", "reviews"), "invitations": ("survey", "invitations")}


def write_data(data: Path, latest: dt.date, late_rows: bool = False) -> None:
    ensure_schemas(data)
    dates = extract_dates(latest)
    deltas = build_world()
    if late_rows:  # run 2: a response of 2025-07-01 that first arrives in the 2025-07-14 extract
        deltas["responses"].append((dt.date(2025, 7, 14), {
            "response_id": "r_late", "survey_id": "s_nps", "account_id": "A7", "contact_id": "C-A7",
            "score": 0, "responded_at": ts(dt.date(2025, 7, 1))}))
    for extract in dates:
        for (source, entity), rows in snapshots(extract).items():
            write_raw(data, source, entity, extract.isoformat(), rows)
    for key, (source, entity) in DELTA_ENTITIES.items():
        by_extract: dict[dt.date, list[dict]] = {}
        for day, row in deltas[key]:
            target = first_extract_on_or_after(day, dates)
            if target is not None:
                by_extract.setdefault(target, []).append(row)
        for extract, rows in by_extract.items():
            write_raw(data, source, entity, extract.isoformat(), rows)


def dbt(tmp: Path, data: Path, *args: str) -> None:
    env = os.environ.copy()
    env.update(CHW_WAREHOUSE=str(data / "warehouse.duckdb"), CHW_RAW_DIR=str(data / "raw"),
               CHW_AUDIT_DIR=str(data / "audit"), CHW_MODELS_DIR=str(data / "models"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    proc = subprocess.run(
        [DBT, *args, "--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}")


# this area's models only (others' marts may need inputs this data set does not build)
UPSTREAM = ["+int_health__components", "+int_health__renewals", "+int_health__account_versions",
            "+int_health__model_inputs", "+int_health__expansions", "+int_usage__account_days",
            "+do_not_survey", "+fct_comment_themes", "+theme_negative_monthly", "stg_crm__owners", "stg_crm__tasks",
            "+int_health__blocked_extract_dates"]
SCORED = ["int_health__scores", "int_health__score_changes", "account_health", "health_weights", "health_score_evidence",
          "int_alerts__expansion_opportunities", "int_alerts__signals", "alerts", "alert_explanations",
          "account_risk_drivers", "health_score_reliability", "int_health__metric_values",
          "int_alerts__closed_loop_metric_values"]

# metric thresholds (nps_below_20, csat_below_70) read the rolling values of the metric families
UPSTREAM += ["+int_survey__metric_values", "+int_reviews__metric_values", "+int_service__metric_values",
             "+int_usage__metric_values", "+int_onboarding__metric_values"]
SCORED.insert(SCORED.index("int_alerts__signals"), "int_alerts__threshold_breaches")


def run_all(tmp: Path, data: Path) -> None:
    """What Dagster does in one run: dbt -> health_weights -> dbt."""
    common = ["--indirect-selection", "cautious"]
    dbt(tmp, data, "build", "--select", *UPSTREAM, *common)
    write_health_weights(data / "warehouse.duckdb", data / "models")
    dbt(tmp, data, "build", "--select", *SCORED, *common)


def query(data: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("health_e2e")
    data1, data2 = tmp / "run1", tmp / "run2"
    write_data(data1, LATEST)
    run_all(tmp, data1)
    emitted_first = emit_new_alerts(data1 / "warehouse.duckdb", data1 / "outbox")
    emitted_again = emit_new_alerts(data1 / "warehouse.duckdb", data1 / "outbox")
    write_data(data2, LATEST + dt.timedelta(days=7), late_rows=True)
    run_all(tmp, data2)
    # run 3: run 1's warehouse with the expansion model's output as models/health_weights would
    # write it once in force (8 accounts are too few renewals to fit one), then the scored models
    data3 = tmp / "run3"
    shutil.copytree(data1, data3, ignore=shutil.ignore_patterns("outbox"))
    write_expansion_risk(data3)
    dbt(tmp, data3, "build", "--select", *SCORED, "--indirect-selection", "cautious")
    return {"data1": data1, "data2": data2, "data3": data3, "emitted_first": emitted_first,
            "emitted_again": emitted_again}


def write_expansion_risk(data: Path) -> None:
    """models/health_risk.parquet of a model in force: every account-day green at churn 0.05; A2
    (3 users on 3 seats) and A5 in the expansion model's top band from 2025-06-16, A5 red."""
    days = query(data, "select account_id, as_of_date from intermediate.int_health__model_inputs order by 1, 2")
    frame = pd.DataFrame(days, columns=["account_id", "as_of_date"])
    frame["as_of_date"] = pd.to_datetime(frame["as_of_date"])
    high = frame["account_id"].isin(["A2", "A5"]) & (frame["as_of_date"] >= pd.Timestamp("2025-06-16"))
    red = (frame["account_id"] == "A5") & high
    frame["churn_probability"] = np.where(red, 0.6, 0.05)
    frame["churn_band"] = pd.Series(np.where(red, "red", "green"), dtype="string")
    frame["expansion_propensity"] = np.where(high, 0.5, 0.1)
    frame["is_expansion_high"] = high.to_numpy()
    frame["model_kind"] = pd.Series(["logistic"] * len(frame), dtype="string")
    frame.to_parquet(data / "models" / "health_risk.parquet", index=False)


def alerts(data: Path) -> dict[tuple[str, str], dict]:
    cols = ["alert_id", "alert_type", "account_id", "signal_type", "signal_id", "triggered_at", "owner_team",
            "owner_id", "due_at", "followed_up_at", "status", "within_sla"]
    rows = query(data, f"select {', '.join(cols)} from marts.alerts")
    return {(r[1], r[4]): dict(zip(cols, r, strict=True)) for r in rows}


def test_every_alert_type_fires_on_its_case(runs):
    got = alerts(runs["data1"])
    types = {t for t, _ in got}
    assert types == {"nps_detractor", "low_csat", "high_effort_repeat", "nps_below_20", "csat_below_70",
                     "health_drop_15", "review_misalignment"}
    # high effort: one alert per episode, on the response that made it two
    assert [s for t, s in got if t == "high_effort_repeat"] == ["r_ces2"]
    assert [s for t, s in got if t == "review_misalignment"] == ["2025-04-01"]
    (seg,) = [s for t, s in got if t == "nps_below_20"]
    assert seg.startswith("tier:smb:")
    (tp,) = [s for t, s in got if t == "csat_below_70"]
    assert tp.startswith("ticket_solved:")
    drops = [a for (t, _), a in got.items() if t == "health_drop_15" and a["account_id"] == "A6"]
    assert len(drops) == 1  # A6 stopped using the product: one alert per breach episode, not one per day
    assert drops[0]["triggered_at"] > dt.datetime(2025, 4, 1)


def test_owners_due_and_follow_up(runs):
    got = alerts(runs["data1"])
    det1 = got[("nps_detractor", "r_det1")]
    assert (det1["owner_team"], det1["owner_id"]) == ("customer_success", "csm1")
    assert det1["followed_up_at"] == dt.datetime(2025, 3, 11, 9)
    assert det1["due_at"] == dt.datetime(2025, 3, 12, 10)
    assert (det1["status"], det1["within_sla"]) == ("followed_up", True)
    det2 = got[("nps_detractor", "r_det2")]
    assert det2["owner_id"] == "csm2"  # the CSM as of the trigger
    assert (det2["status"], det2["within_sla"], det2["followed_up_at"]) == ("overdue", False, None)
    low = got[("low_csat", "r_low")]
    assert low["alert_id"] == alert_id("low_csat", "survey_response", "r_low")
    assert (low["owner_team"], low["status"], low["within_sla"]) == ("support", "followed_up", False)
    assert got[("high_effort_repeat", "r_ces2")]["owner_team"] == "customer_success"
    (seg,) = [a for (t, _), a in got.items() if t == "nps_below_20"]
    assert seg["owner_team"] == "executive"
    (drop,) = [a for (t, _), a in got.items() if t == "health_drop_15" and a["account_id"] == "A6"]
    assert drop["owner_id"] == "csm2" and drop["due_at"] - drop["triggered_at"] == dt.timedelta(hours=72)


def test_alert_ids_are_stable_and_the_outbox_emits_once(runs):
    first, second = alerts(runs["data1"]), alerts(runs["data2"])
    ids1 = {a["alert_id"] for a in first.values()}
    ids2 = {a["alert_id"] for a in second.values()}
    assert ids1 <= ids2  # one more extract adds alerts, never renames the ones raised
    assert ("nps_detractor", "r_late") in second
    assert runs["emitted_first"] == len(ids1) and runs["emitted_again"] == 0
    lines = (runs["data1"] / "outbox" / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["alert_id"] for line in lines) == sorted(ids1)


def test_score_properties(runs):
    data = runs["data1"]
    bands = settings.load()["health"]["bands"]
    bad = query(data, f"""
        select count(*) from marts.account_health
        where health_score < 0 or health_score > 100
           or abs(health_score - (coalesce(usage_contribution, 0) + coalesce(adoption_contribution, 0)
                + coalesce(onboarding_contribution, 0) + coalesce(sentiment_contribution, 0)
                + coalesce(support_contribution, 0) + coalesce(engagement_contribution, 0))) > 0.01
           or health_band <> case when health_score >= {bands['green']} then 'green'
                                  when health_score >= {bands['yellow']} then 'yellow' else 'red' end
           or coverage not between 1 and 6
    """)
    assert bad == [(0,)]
    # daily for the last 120 days, Mondays before; the churned account is not scored after its end
    (n_days, n_weekday_old) = query(data, """
        select count(distinct as_of_date),
               count(distinct case when as_of_date <= date '2025-03-09' and dayofweek(as_of_date) <> 1 then as_of_date end)
        from marts.account_health""")[0]
    assert n_weekday_old == 0 and n_days > 120
    assert query(data, "select max(as_of_date) from marts.account_health where account_id = 'A8'") == [
        (dt.date(2025, 6, 30),)]
    # the CSM and tier as of the day
    assert query(data, """select distinct csm_owner_id from marts.account_health
                          where account_id = 'A1' and as_of_date < date '2025-04-07'""") == [("csm1",)]
    assert query(data, """select distinct csm_owner_id from marts.account_health
                          where account_id = 'A1' and as_of_date >= date '2025-04-07'""") == [("csm2",)]
    # A6 stopped using the product: usage and adoption fall, the score drops, the drop is explained
    (u_before, u_after) = query(data, """select max(case when as_of_date = date '2025-03-31' then usage_score end),
                                                max(case when as_of_date = date '2025-05-12' then usage_score end)
                                         from marts.account_health where account_id = 'A6'""")[0]
    assert u_before > 80 and u_after == 0
    top = query(data, """select component from marts.alert_explanations e
                         join marts.alerts a using (alert_id)
                         where a.alert_type = 'health_drop_15' and a.account_id = 'A6' and e.drop_rank = 1""")
    assert top[0][0] in ("usage", "adoption")
    assert query(data, "select distinct weights_source from marts.account_health") == [("default",)]
    assert query(data, "select count(*), sum(weight) from marts.health_weights") == [(6, pytest.approx(1.0))]
    measures = {r[0] for r in query(data, "select measure from marts.health_score_evidence")}
    assert {"auc_churn_30_60d", "red_churn_multiple", "green_share", "median_lead_days_first_red_to_churn"} <= measures
    # the churn model's held-out measures are always there; with 8 accounts no model is in force
    assert {"auc", "pr_auc", "brier", "red_band_lift", "share_green", "churners_below_green_pct", "median_lead_days",
            "expansion_auc", "expansion_lift"} <= measures
    assert query(data, "select value_text from marts.health_score_evidence where measure = 'model_kind'") == [
        ("default",)]
    assert query(data, "select count(*) from marts.account_health where churn_probability is not null") == [(0,)]
    assert query(data, "select count(*) from marts.account_risk_drivers") == [(0,)]


def test_backtest_in_sql_equals_the_scikit_learn_reference(runs):
    """marts.health_score_evidence computes the back-test in SQL (AUC as the Mann-Whitney statistic
    with ties at their average rank, PR-AUC as average precision, quantiles, medians); the same
    measures from pandas and scikit-learn (tests/reference_backtest.py) on the same tables."""
    data = runs["data1"]
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        scores = con.execute("select account_id, as_of_date, health_score, health_band, tier from marts.account_health").df()
        renewals = con.execute("select account_id, renewal_date, churned from intermediate.int_health__renewals").df()
        latest = con.execute("select latest_extract_date from intermediate.int_health__extract_bounds").fetchone()[0]
        sql = con.execute("""select measure, segment_type, segment_value, value, goal, meets_goal, sample_size
                             from marts.health_score_evidence where value_text is null""").df()
    finally:
        con.close()
    health = settings.load()["health"]
    reference = back_test(scores, renewals, pd.Timestamp(latest), health["bands"], health["evidence"])
    key = ["measure", "segment_type", "segment_value"]
    got = sql[sql["measure"].isin(reference["measure"])].set_index(key).sort_index()
    want = reference.set_index(key).sort_index()
    assert list(got.index) == list(want.index)
    assert got["sample_size"].tolist() == want["sample_size"].tolist()
    assert got["value"].isna().tolist() == want["value"].isna().tolist()
    assert np.allclose(got["value"].dropna().to_numpy(), want["value"].dropna().to_numpy(), rtol=0, atol=1e-9)
    assert got["meets_goal"].astype("object").fillna("none").tolist() == want["meets_goal"].astype("object").fillna("none").tolist()
    # the data set has churn to rank: the comparison is not one of empty measures
    assert want.loc[("auc_churn_30_60d", "all", "all"), "value"] > 0
    assert want.loc[("churn_events_scored", "all", "all"), "value"] >= 1


def test_scores_are_as_of_later_extracts_change_no_past_day(runs):
    sql = """select account_id, as_of_date, health_score, usage_score, sentiment_score, support_score
             from marts.account_health where as_of_date <= date '2025-07-07' order by 1, 2"""
    one = {(r[0], r[1]): r for r in query(runs["data1"], sql)}
    two = {(r[0], r[1]): r for r in query(runs["data2"], sql)}
    common = one.keys() & two.keys()
    assert len(common) > 500
    assert all(one[k] == two[k] for k in common)  # the late response of 2025-07-01 is not back-dated


def test_closed_loop_and_health_metrics(runs):
    data = runs["data1"]
    rows = dict(query(data, """select metric || ':' || grain || ':' || cast(period_start as varchar), value
                               from intermediate.int_alerts__closed_loop_metric_values where segment_type = 'all'"""))
    assert rows["detractor_followup_48h_pct:month:2025-03-01"] == pytest.approx(100.0)
    assert rows["detractor_recovery_pct:month:2025-03-01"] == pytest.approx(100.0)
    assert rows["signal_to_response_median_hours:month:2025-03-01"] == pytest.approx((23 + 72) / 2)
    grains = {r[0] for r in query(data, "select distinct grain from intermediate.int_health__metric_values")}
    assert grains == {"day", "week", "month"}
    segs = {r[0] for r in query(data, "select distinct segment_type from intermediate.int_health__metric_values")}
    assert segs == {"all", "tier", "csm_owner"}


def test_do_not_survey_and_themes_without_personal_data(runs):
    data = runs["data1"]
    reasons = set(query(data, "select contact_id, reason from marts.do_not_survey"))
    assert ("C-A5", "survey_fatigue") in reasons and ("C-A2", "open_escalation") in reasons
    themes = set(query(data, "select text_id, theme, is_negative from marts.fct_comment_themes"))
    assert ("r_det1", "pricing", True) in themes and ("r_det1", "support", True) in themes
    assert ("rv_q2_0", "pricing", True) in themes
    monthly = dict(query(data, """select theme, negative_count from marts.theme_negative_monthly
                                  where month_start = date '2025-05-01'"""))
    assert monthly["pricing"] == 3
    for table in ("account_health", "alerts", "alert_explanations", "do_not_survey", "fct_comment_themes",
                  "theme_negative_monthly", "health_score_evidence", "health_weights"):
        dump = query(data, f'select cast(t as varchar) from marts."{table}" as t')
        text = " ".join(r[0] for r in dump)
        assert "@example.com" not in text and "555 123 4567" not in text, table


def test_expansion_opportunity_raised_routed_and_followed_up(runs):
    """The expansion model's top band on a healthy account using every seat raises one alert for the
    episode, owned by the account's CSM with 7 days to act, followed up by the CRM task pointing at
    it; the same band on a red account raises none; without a model in force (run 1), none."""
    got = alerts(runs["data3"])
    exp = {s: a for (t, s), a in got.items() if t == "expansion_opportunity"}
    assert list(exp) == ["A2:2025-06-16"]
    a = exp["A2:2025-06-16"]
    assert a["alert_id"] == alert_id("expansion_opportunity", "account_expansion", "A2:2025-06-16")
    assert (a["owner_team"], a["owner_id"]) == ("customer_success", "csm1")
    assert a["due_at"] - a["triggered_at"] == dt.timedelta(days=7)
    assert (a["status"], a["within_sla"], a["followed_up_at"]) == ("followed_up", True, dt.datetime(2025, 6, 18, 15))
    assert not [t for t, _ in alerts(runs["data1"]) if t == "expansion_opportunity"]
    # with the model in force, the band is the model's and account_health carries the probabilities
    rows = query(runs["data3"], """select health_band, weights_source, churn_probability, expansion_propensity
                                   from marts.account_health where account_id = 'A5' and as_of_date = date '2025-06-30'""")
    assert rows == [("red", "model", pytest.approx(0.6), pytest.approx(0.5))]
