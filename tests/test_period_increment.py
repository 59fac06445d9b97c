"""Metric models incremental by period (macros/incremental/period_increment.sql) give the same
rows as a full rebuild, and a run recomputes only the periods its changes reach.

Real dbt runs on a real DuckDB file, on the hand-built raw layer (tests/fixtures/handbuilt_metrics)
plus extracts written here:
  E2 2026-04-03  (besides the fixture's) A1's QBR X1 of 04-02, and user U9's only event (01-16)
  E3 2026-06-01  a week of new events for A1 (05-25 .. 05-31), an executive check-in, every CRM
                 snapshot unchanged
  E4 2026-06-02  a day of new events, A4 moves tier, S3's subscription is re-sent with an end
                 date back in April (2026-04-15): the account's active days (feature adoption's
                 denominator, the health score's usage and engagement rows) change from then on,
                 which no extract date of the event inputs shows, only the snapshot of
                 subscription intervals; ticket T5 (created 03-28, open) is re-sent solved on
                 04-20; and X1 is re-sent as a meeting (known since 04-03: engagement from then).
  E5 2026-06-03  T5 only, solved on 04-25 instead: the health score's support from 04-20.
The warehouse is built over E1..E3, then E4 is added and the usage and service metric models,
fct_survey_responses and the health score's usage, engagement and support
(int_health__usage_daily, __engagement_daily, __support_daily) are built incrementally (with everything upstream,
int_usage__account_adoption_daily included), and
a copy of the E1..E3 warehouse is built with --full-refresh: the seven incremental-by-period
tables must be identical row for row to the rebuilt ones, and the runs must have started at
2026-04-15 (usage, adoption, health usage and support; the lookback alone would have started at 2026-05-25),
2026-04-03 (engagement) and 2026-03-28 (service, survey responses). A further run with nothing
new recomputes only the lookback window of the event inputs (engagement, support: nothing) and changes
no row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.fixtures import handbuilt_metrics as hb
from tests.fixtures.raw_builder import write_raw

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
MODEL = "int_usage__metric_values"
SERVICE = "int_service__metric_values"
ADOPTION = "int_usage__account_adoption_daily"
HEALTH_USAGE = "int_health__usage_daily"
ENGAGEMENT = "int_health__engagement_daily"
SUPPORT = "int_health__support_daily"
RESPONSES = "fct_survey_responses"
E3, E4, E5 = "2026-06-01", "2026-06-02", "2026-06-03"
COLUMNS = ("metric, grain, period_start, window_days, segment_type, segment_value, value, numerator, "
           "denominator, sample_size, ci_low, ci_high, is_low_sample")


def event(n: int, account: str, user: str, day: str) -> dict:
    return {"event_id": f"EVX{n}", "account_id": account, "user_id": user, "event_name": "report_run",
            "occurred_at": f"{day}T10:00:00", "properties": ""}


def activity(activity_id: str, account: str, kind: str, day: str, contact: str = "K1") -> dict:
    return {"activity_id": activity_id, "account_id": account, "activity_type": kind,
            "occurred_at": f"{day}T15:00:00", "owner_id": "O1", "contact_id": contact}


def write_extract(data: Path, extract_date: str, events: list[dict], a4_tier: str, s3_end: str | None,
                  tickets: list[dict] | None = None, activities: list[dict] | None = None) -> None:
    accounts = [dict(a, tier=a4_tier) if a["account_id"] == "A4" else a for a in hb._accounts("O2")]
    subscriptions = [dict(s, end_date=s3_end) if s["subscription_id"] == "S3" else s for s in hb.SUBSCRIPTIONS]
    write_raw(data, "crm", "accounts", extract_date, accounts)
    write_raw(data, "crm", "subscriptions", extract_date, subscriptions)
    write_raw(data, "product", "features", extract_date, hb.FEATURES)
    write_raw(data, "product", "events", extract_date, events)
    if tickets:
        write_raw(data, "helpdesk", "tickets", extract_date, tickets)
    if activities:
        write_raw(data, "crm", "activities", extract_date, activities)


def dbt_run(data: Path, warehouse: Path, *extra: str) -> str:
    env = os.environ.copy()
    env.update(CHW_WAREHOUSE=str(warehouse), CHW_RAW_DIR=str(data / "raw"), CHW_AUDIT_DIR=str(data / "audit"),
               CHW_MODELS_DIR=str(data / "models"), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    target = warehouse.parent / "target"
    proc = subprocess.run(
        [str(DBT), "build", "--select", f"+{MODEL}", f"+{SERVICE}", f"+{RESPONSES}", f"+{HEALTH_USAGE}",
         f"+{ENGAGEMENT}", f"+{SUPPORT}",
         "--exclude-resource-type", "test", "--exclude-resource-type",
         "unit_test", *extra, "--project-dir", str(DBT_DIR),
         "--profiles-dir", str(DBT_DIR), "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout


def rows(warehouse: Path, model: str = MODEL) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = COLUMNS if model.endswith("__metric_values") else "*"
        schema = "marts" if model == RESPONSES else "intermediate"
        return sorted(con.execute(f"select {columns} from {schema}.{model}").fetchall(), key=repr)
    finally:
        con.close()


def recomputed_from(output: str, model: str = MODEL) -> str:
    found = re.findall(rf"period_increment {model}: recomputing (periods from \S+|every period)", output)
    assert len(found) == 1, output[-4000:]
    return found[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("period_increment")
    data = tmp / "data"
    hb.write_raw_extracts(data)
    # A1's QBR of 04-02, known since E2 (04-03); and an executive check-in in E3's week
    write_raw(data, "crm", "activities", hb.E2, [activity("X1", "A1", "qbr", "2026-04-02")])
    # U9's only event, on the first day of the 90-day window ending 04-15 (E4's first recomputed
    # day for usage): the incremental run must read back that far, not one day less
    write_raw(data, "product", "events", hb.E2, [event(8, "A1", "U9", "2026-01-16")])
    week = [event(i, "A1", "U1" if i % 2 else "U5", f"2026-05-{25 + i:02d}") for i in range(7)]
    write_extract(data, E3, week, a4_tier="mid_market", s3_end=None,
                  activities=[activity("X2", "A1", "exec_checkin", "2026-05-28")])
    incremental = tmp / "incremental" / "warehouse.duckdb"
    incremental.parent.mkdir()
    dbt_run(data, incremental)
    return {"data": data, "incremental": incremental, "tmp": tmp}


def test_a_late_interval_change_is_recomputed_like_a_full_build(built):
    data, incremental = built["data"], built["incremental"]
    full = built["tmp"] / "full" / "warehouse.duckdb"
    full.parent.mkdir()
    shutil.copyfile(incremental, full)

    before = set(rows(incremental))
    before_service = set(rows(incremental, SERVICE))
    before_health = set(rows(incremental, HEALTH_USAGE))
    before_engagement = set(rows(incremental, ENGAGEMENT))
    before_support = {(r[0], str(r[1])): r[4] for r in rows(incremental, SUPPORT)}  # unresolved_tickets
    # T5 (created 03-28, open) is re-sent solved on 04-20: its days are dirty from its creation
    t5 = next(t for t in hb.TICKETS if t["ticket_id"] == "T5")
    solved = dict(t5, status="solved", solved_at="2026-04-20T09:00:00", updated_at="2026-04-20T09:00:00")
    # and X1 is re-sent as a meeting: no QBR for A1 from 04-03 on, as known since E2
    write_extract(data, E4, [event(9, "A1", "U1", "2026-06-01")], a4_tier="enterprise", s3_end="2026-04-15",
                  tickets=[solved], activities=[activity("X1", "A1", "meeting", "2026-04-02")])
    out = dbt_run(data, incremental)
    # S3's new end (04-15) is older than any day the event inputs' lookback reaches (05-25)
    assert recomputed_from(out) == "periods from 2026-04-15"
    assert recomputed_from(out, ADOPTION) == "periods from 2026-04-15"
    assert recomputed_from(out, HEALTH_USAGE) == "periods from 2026-04-15"  # A3's active days
    assert recomputed_from(out, ENGAGEMENT) == "periods from 2026-04-03"  # X1, known since E2
    assert recomputed_from(out, SUPPORT) == "periods from 2026-04-15"  # S3; T5 from its solve (04-20)
    assert recomputed_from(out, SERVICE) == "periods from 2026-03-28"
    assert recomputed_from(out, RESPONSES) == "periods from 2026-03-28"  # T5 is open before answers
    dbt_run(data, full, "--full-refresh")
    for model in (ADOPTION, SERVICE, RESPONSES, HEALTH_USAGE, ENGAGEMENT, SUPPORT):
        assert rows(incremental, model) == rows(full, model), model
    # the health score's usage lost A3's days after 04-15, older than the lookback reaches
    gone = {(r[0], str(r[1])) for r in before_health - set(rows(incremental, HEALTH_USAGE))}
    assert ("A3", "2026-04-20") in gone, sorted(gone)[:20]
    # engagement: A1's QBR no longer counts on 04-10
    qbrs = {(r[0], str(r[1])): r[3] for r in before_engagement}
    assert qbrs[("A1", "2026-04-10")] == 1
    assert {(r[0], str(r[1])): r[3] for r in rows(incremental, ENGAGEMENT)}[("A1", "2026-04-10")] == 0
    # support: T5 (A1) no longer unresolved from 04-20
    support = {(r[0], str(r[1])): r[4] for r in rows(incremental, SUPPORT)}
    assert (before_support[("A1", "2026-04-25")], support[("A1", "2026-04-25")]) == (1, 0)
    assert support[("A1", "2026-04-19")] == before_support[("A1", "2026-04-19")] == 1
    # T5 no longer open at the end of April
    assert ("unresolved_tickets", "month", "2026-04-01") in {
        (r[0], r[1], str(r[2])) for r in before_service - set(rows(incremental, SERVICE))}

    got, expected = rows(incremental), rows(full)
    assert len(expected) > 500
    assert got == expected
    # and the change did reach stored periods older than the lookback: A3's active days after
    # 04-15 left feature adoption's denominator in April and May
    changed = {(r[0], r[1], str(r[2])) for r in before - set(got)}
    assert ("feature_adoption_pct", "month", "2026-04-01") in changed, sorted(changed)[:20]

    # nothing new: only the lookback window of the event inputs (extracts after 06-02 - 7 days,
    # E3's events from 05-25) is recomputed, and no row changes
    again = dbt_run(data, incremental)
    assert recomputed_from(again) == "periods from 2026-05-25"
    assert recomputed_from(again, HEALTH_USAGE) == "periods from 2026-05-25"
    # engagement's inputs are snapshotted, not watermarked: with nothing new, nothing is dirty
    assert recomputed_from(again, ENGAGEMENT) == "periods from 2026-06-03"
    assert rows(incremental, ENGAGEMENT) == rows(full, ENGAGEMENT)
    assert recomputed_from(again, SUPPORT) == "periods from 2026-06-03"
    assert rows(incremental, SUPPORT) == rows(full, SUPPORT)
    assert rows(incremental) == expected
    assert rows(incremental, HEALTH_USAGE) == rows(full, HEALTH_USAGE)

    # E5: only T5 changes, its solve moved from 04-20 to 04-25: the health score's support
    # recomputes from the earlier solve, far behind the latest extract date's new day (06-03)
    write_raw(data, "helpdesk", "tickets", E5, [dict(solved, solved_at="2026-04-25T09:00:00",
                                                     updated_at="2026-04-25T09:00:00")])
    fifth = dbt_run(data, incremental)
    assert recomputed_from(fifth, SUPPORT) == "periods from 2026-04-20"
    shutil.copyfile(incremental, full)
    dbt_run(data, full, "--full-refresh")
    support = {(r[0], str(r[1])): r[4] for r in rows(incremental, SUPPORT)}
    assert (support[("A1", "2026-04-22")], support[("A1", "2026-04-25")]) == (1, 0)
    for model in (MODEL, ADOPTION, SERVICE, RESPONSES, HEALTH_USAGE, ENGAGEMENT, SUPPORT):
        assert rows(incremental, model) == rows(full, model), model
