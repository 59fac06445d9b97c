"""A landing zone written by someone else, to docs/contract.md only: not our generator's habits.

Extract dates days apart, CSV and JSONL mixed, extra columns, offsets in timestamps, a comment
with a comma, quotes and a newline, only some sources present (no product events, no reviews),
one bad survey score and one file missing a required column.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _jsonl(path: Path, rows: list[dict]) -> None:
    _write(path, "".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    lz, data = root / "landing", root / "data"
    accounts = (
        "account_id,account_name,industry,tier,region,plan,csm_owner_id,created_at,crm_extra_field\n"
        "A1,Acme,software,enterprise,emea,pro,O1,2025-01-10T09:00:00Z,x\n"
        "A2,\"Beta, Inc.\",retail,SMB,na,basic,O1,2025-02-01T00:00:00+02:00,y\n"
    )
    _write(lz / "crm/accounts/2026-03-02/accounts_full.csv", accounts)
    _write(lz / "crm/accounts/2026-03-16/accounts_full.csv", accounts.replace("O1,2025-02", "O2,2025-02"))
    _jsonl(lz / "crm/owners/2026-03-02/owners.jsonl", [
        {"owner_id": "O1", "owner_name": "Ann", "email": "ann@example.com", "team": "customer_success"},
        {"owner_id": "O2", "owner_name": "Bob", "email": "bob@example.com", "team": "customer_success"},
    ])
    _write(lz / "crm/subscriptions/2026-03-02/subs.csv",
           "subscription_id,account_id,product,start_date,end_date,mrr,currency,seats,status\n"
           "S1,A1,core,2025-01-15,2027-01-15,5000,USD,50,active\n"
           "S2,A2,core,2025-02-01,2026-02-01,300,USD,5,expired\n")
    _write(lz / "survey/surveys/2026-03-02/surveys.csv",
           "survey_id,metric,question,scale_min,scale_max,higher_is_better,trigger,channel,owner_team\n"
           "nps_rel,nps,How likely...,0,10,true,relationship,email,customer_success\n"
           "csat_tix,csat,How satisfied...,1,5,true,ticket_solved,email,support\n")
    _jsonl(lz / "survey/responses/2026-03-05/r.jsonl", [
        {"response_id": "R1", "invitation_id": "", "survey_id": "nps_rel", "account_id": "A1", "contact_id": "C1",
         "score": 9, "comment": 'Great, "really" great\nthanks', "responded_at": "2026-03-04T10:00:00Z"},
        {"response_id": "R2", "invitation_id": None, "survey_id": "nps_rel", "account_id": "A2", "contact_id": "C2",
         "score": 3, "comment": "call me at +1 415 555 0100", "responded_at": "2026-03-04T11:00:00"},
        {"response_id": "R3", "invitation_id": None, "survey_id": "csat_tix", "account_id": "A2", "contact_id": "C2",
         "score": 9, "comment": "", "responded_at": "2026-03-04T12:00:00"},
        # enough good answers that one bad score (1 of 7) stays under quarantine_block_pct
        *[{"response_id": f"G{i}", "invitation_id": None, "survey_id": "csat_tix", "account_id": "A1",
           "contact_id": "C1", "score": 4, "comment": "ok", "responded_at": "2026-03-04T13:00:00"} for i in range(4)],
    ])
    _write(lz / "survey/responses/2026-03-19/r.csv",
           "response_id,invitation_id,survey_id,account_id,contact_id,score,comment,responded_at\n"
           "R4,,csat_tix,A1,C1,5,\"fast, friendly\",2026-03-18T08:00:00Z\n")
    # broken: tickets without created_at
    _write(lz / "helpdesk/tickets/2026-03-19/tickets.csv",
           "ticket_id,account_id,requester_contact_id,channel,category,priority,status,first_response_at,"
           "solved_at,updated_at,assignee_id,reopen_count,escalated\n"
           "T1,A1,C1,email,billing,normal,solved,,,2026-03-18T10:00:00Z,O3,0,false\n")
    _write(lz / "helpdesk/tickets/2026-03-05/tickets.csv",
           "ticket_id,account_id,requester_contact_id,channel,category,priority,status,created_at,first_response_at,"
           "solved_at,updated_at,assignee_id,reopen_count,escalated\n"
           "T0,A2,C2,chat,login,high,solved,2026-03-04T09:00:00Z,2026-03-04T09:00:30Z,2026-03-04T10:00:00Z,"
           "2026-03-04T10:00:00Z,O3,0,false\n")
    run_cli("run", landing=lz, data=data)
    return data / "warehouse.duckdb"


def test_broken_file_named_in_load_log(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    status, error = con.execute(
        "select status, error from audit.load_log where file = 'helpdesk/tickets/2026-03-19/tickets.csv'"
    ).fetchone()
    assert status == "rejected"
    assert "helpdesk/tickets/2026-03-19/tickets.csv" in error and "created_at" in error


def test_valid_rows_load_and_bad_score_is_quarantined(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from staging.stg_crm__accounts").fetchone()[0] == 2
    assert con.execute("select count(*) from staging.stg_helpdesk__tickets").fetchone()[0] == 1
    got = {r[0] for r in con.execute("select response_id from staging.stg_survey__responses").fetchall()}
    assert got == {"R1", "R2", "R4", "G0", "G1", "G2", "G3"}
    (reason,) = con.execute(
        "select reason from audit.quarantine where entity = 'responses' and record like '%R3%'"
    ).fetchone()
    assert "csat_tix" in reason or "between" in reason
    # the account changed CSM between the two snapshots: history keeps both
    owners = con.execute(
        "select csm_owner_id from staging.stg_crm__accounts_history where account_id = 'A2' order by valid_from"
    ).fetchall()
    assert [o[0] for o in owners] == ["O1", "O2"]


def test_absent_sources_give_empty_marts_not_errors(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from staging.stg_product__events").fetchone()[0] == 0
    assert con.execute("select count(*) from staging.stg_reviews__reviews").fetchone()[0] == 0
    nps = con.execute(
        "select value from marts.metric_values where metric = 'nps' and grain = 'month' "
        "and period_start = date '2026-03-01' and segment_type = 'all'"
    ).fetchone()
    assert nps is not None and nps[0] == 0.0  # one promoter, one detractor


def test_personal_data_never_reaches_staging(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    comments = " ".join(r[0] or "" for r in con.execute("select comment from staging.stg_survey__responses").fetchall())
    assert "555 0100" not in comments


def test_a_failed_check_names_its_broken_rules_in_dagster(warehouse):
    """No product events: the warning-level table check of the events model fails on its
    not_empty rule. The check's Dagster result says which rule broke (metadata `broken_rules` and
    its description, shown in the UI), not only the row count dbt reports; a check that passed
    keeps dbt's metadata as it was."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(warehouse.parent / "dagster_home")) as instance:
        def latest(asset: list[str], check: str):
            key = dg.AssetCheckKey(dg.AssetKey(asset), check)
            (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            return record.event.dagster_event.event_specific_data

        events = latest(["staging", "stg_product__events"], "table_warnings_stg_product__events")
        accounts = latest(["staging", "stg_crm__accounts"], "table_checks_stg_crm__accounts")
    assert not events.passed and events.severity == dg.AssetCheckSeverity.WARN
    assert events.metadata["broken_rules"].value == [{"rule": "not_empty", "subject": "", "failing_rows": 0}]
    assert events.description == "not_empty: 0 rows"
    assert accounts.passed and "broken_rules" not in accounts.metadata
