"""dbt staging + audit layer, built for real on a tiny raw data set (no ingestion code needed).

One `dbt build --select staging audit` per module (about 15 s); every test reads its result.
The data set covers: a ticket re-sent in a later extract, two versions of a ticket within one
extract, a ticket whose latest extract carries an older updated_at (the latest extract still
wins), an account whose tier and CSM change (SCD-2 history), an account dropped from the latest
snapshot, a survey whose declared scale changes, personal data in free text, extra columns in a
raw file, and sources that never arrived (product, calls): empty tables, not errors.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.core.contract import ENTITIES, SNAPSHOT

try:
    from tests.fixtures.raw_builder import ensure_schemas, write_load_log, write_quarantine, write_raw
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fixtures.raw_builder import ensure_schemas, write_load_log, write_quarantine, write_raw

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

D1, D2, D3 = "2024-01-01", "2024-01-08", "2024-01-15"
d = dt.date.fromisoformat
ts = dt.datetime.fromisoformat


def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def _build_raw(data: Path) -> None:
    ensure_schemas(data)
    # crm.accounts (snapshot): a1 changes tier and CSM on D2; a2 changes only its name on D2
    # (no new history version) and is dropped on D3; a3 appears on D2, twice in the D3 extract.
    write_raw(data, "crm", "accounts", D1, [
        {"account_id": "a1", "account_name": "Acme", "industry": "saas", "tier": "smb", "region": "emea",
         "plan": "pro", "csm_owner_id": "o1", "created_at": "2023-06-01T08:00:00"},
        {"account_id": "a2", "account_name": "Beta", "industry": "retail", "tier": "mid_market",
         "region": "na", "plan": "basic", "csm_owner_id": "o1", "created_at": "2023-07-01T08:00:00"},
    ])
    write_raw(data, "crm", "accounts", D2, [
        {"account_id": "a1", "account_name": "Acme", "industry": "saas", "tier": "enterprise",
         "region": "emea", "plan": "pro", "csm_owner_id": "o2", "created_at": "2023-06-01T08:00:00",
         "crm_internal_flag": "x"},  # an extra column: kept in raw, not in staging
        {"account_id": "a2", "account_name": "Beta Inc", "industry": "retail", "tier": "mid_market",
         "region": "na", "plan": "basic", "csm_owner_id": "o1", "created_at": "2023-07-01T08:00:00"},
        {"account_id": "a3", "account_name": "Gamma", "industry": "saas", "tier": "smb", "region": "apac",
         "plan": "pro", "csm_owner_id": "o2", "created_at": "2024-01-05T08:00:00"},
    ])
    write_raw(data, "crm", "accounts", D3, [
        {"account_id": "a1", "account_name": "Acme", "industry": "saas", "tier": "enterprise",
         "region": "emea", "plan": "pro", "csm_owner_id": "o2", "created_at": "2023-06-01T08:00:00"},
        {"account_id": "a3", "account_name": "Gamma (old)", "industry": "saas", "tier": "smb",
         "region": "apac", "plan": "pro", "csm_owner_id": "o2", "created_at": "2024-01-05T08:00:00"},
        {"account_id": "a3", "account_name": "Gamma", "industry": "saas", "tier": "smb", "region": "apac",
         "plan": "pro", "csm_owner_id": "o2", "created_at": "2024-01-05T08:00:00"},
    ])
    write_raw(data, "crm", "owners", D1, [
        {"owner_id": "o1", "owner_name": "Olga", "email": "olga@example.com", "team": "customer_success"},
        {"owner_id": "o2", "owner_name": "Omar", "email": "omar@example.com", "team": "customer_success"},
    ])
    # helpdesk.tickets (delta, has updated_at)
    write_raw(data, "helpdesk", "tickets", D1, [
        {"ticket_id": "t1", "account_id": "a1", "channel": "email", "priority": "normal", "status": "open",
         "created_at": "2024-01-01T09:00:00", "updated_at": "2024-01-01T10:00:00", "reopen_count": 0,
         "escalated": False},
    ])
    write_raw(data, "helpdesk", "tickets", D2, [
        # t1 re-sent with newer values
        {"ticket_id": "t1", "account_id": "a1", "channel": "email", "priority": "normal", "status": "solved",
         "created_at": "2024-01-01T09:00:00", "first_response_at": "2024-01-01T09:30:00",
         "solved_at": "2024-01-07T12:00:00", "updated_at": "2024-01-07T12:00:00", "reopen_count": 0,
         "escalated": False},
        # two versions of t2 in one extract: the greater updated_at wins although it comes first
        {"ticket_id": "t2", "account_id": "a2", "channel": "chat", "priority": "high", "status": "pending",
         "created_at": "2024-01-08T08:00:00", "updated_at": "2024-01-08T11:00:00", "reopen_count": 0,
         "escalated": True},
        {"ticket_id": "t2", "account_id": "a2", "channel": "chat", "priority": "high", "status": "new",
         "created_at": "2024-01-08T08:00:00", "updated_at": "2024-01-08T09:00:00", "reopen_count": 0,
         "escalated": False},
        {"ticket_id": "t3", "account_id": "a9", "channel": "web", "priority": "low", "status": "solved",
         "created_at": "2024-01-08T08:00:00", "updated_at": "2024-01-08T15:00:00", "reopen_count": 1,
         "escalated": False},
    ])
    write_raw(data, "helpdesk", "tickets", D3, [
        # the latest extract wins even with an older updated_at
        {"ticket_id": "t3", "account_id": "a9", "channel": "web", "priority": "low", "status": "open",
         "created_at": "2024-01-08T08:00:00", "updated_at": "2024-01-08T10:00:00", "reopen_count": 2,
         "escalated": False},
    ])
    # survey: s1's declared scale changes on D2 and stays; s2 never changes
    surveys_d1 = [
        {"survey_id": "s1", "metric": "nps", "question": "Recommend?", "scale_min": 0, "scale_max": 10,
         "higher_is_better": True, "trigger": "relationship", "channel": "email", "owner_team": "customer_success"},
        {"survey_id": "s2", "metric": "csat", "question": "Happy?", "scale_min": 1, "scale_max": 5,
         "higher_is_better": True, "trigger": "ticket_solved", "channel": "in_app", "owner_team": "support"},
    ]
    surveys_d2 = [dict(surveys_d1[0], scale_min=1), dict(surveys_d1[1], question="Satisfied?")]
    write_raw(data, "survey", "surveys", D1, surveys_d1)
    write_raw(data, "survey", "surveys", D2, surveys_d2)
    write_raw(data, "survey", "surveys", D3, surveys_d2)
    write_raw(data, "survey", "responses", D2, [
        {"response_id": "r1", "survey_id": "s1", "account_id": "a1", "score": 3,
         "comment": "Call me at +44 20 7946 0958 or (555) 123-4567, mail jo.doe@acme.io!",
         "responded_at": "2024-01-05T10:00:00+01:00"},
        {"response_id": "r2", "survey_id": "s2", "account_id": "a2", "score": 5,
         "comment": "Fixed on 2024-01-05 in v1.2.3, order 1234", "responded_at": "2024-01-06T10:00:00"},
    ])
    write_raw(data, "reviews", "reviews", D3, [
        {"review_id": "v1", "platform": "g2", "rating": 4, "rating_scale_max": 5,
         "title": "Ask ann@corp.com", "body": "Support rang 555.123.4567 twice", "reviewed_at": "2024-01-10T00:00:00"},
    ])
    # audit: one loaded file with a quarantined record, one rejected file
    write_load_log(data, "crm", "accounts", D1, [
        {"file": "crm/accounts/2024-01-01/accounts.csv", "rows_in": 3, "rows_loaded": 2,
         "rows_quarantined": 1, "status": "loaded"},
    ])
    write_load_log(data, "helpdesk", "calls", D1, [
        {"file": "helpdesk/calls/2024-01-01/calls.csv", "rows_in": 5, "rows_loaded": 0,
         "rows_quarantined": 0, "status": "rejected", "error": "missing required column: offered_at"},
    ])
    write_quarantine(data, "crm", "accounts", D1, [
        {"file": "crm/accounts/2024-01-01/accounts.csv", "row_number": 3,
         "reason": "missing required value: account_id", "record": '{"account_id": "", "tier": "smb"}'},
    ])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_staging")
    data = tmp / "data"
    _build_raw(data)
    env = {
        **os.environ,
        "CHW_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "CHW_RAW_DIR": str(data / "raw"),
        "CHW_AUDIT_DIR": str(data / "audit"),
        "CHW_MODELS_DIR": str(data / "models"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    cmd = [
        _dbt_executable(), "build", "--select", "staging", "audit",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
    ]
    proc = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
    yield con, {r["unique_id"]: r for r in results}
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _result(results: dict, test_name: str) -> dict:
    """run_results.json's entry for the test named `test_name` in the YAML."""
    (result,) = [r for uid, r in results.items() if uid.startswith(f"test.customer_health_warehouse.{test_name}.")]
    return result


def test_no_test_failed_and_expected_warnings(built):
    con, results = built
    assert not [uid for uid, r in results.items() if r["status"] in ("error", "fail", "runtime error")]

    def broken_rules(test_name: str) -> list[tuple]:
        """What a table_checks test found: (rule, subject, failing rows), one per broken rule."""
        return sorted(con.execute(_result(results, test_name)["compiled_code"]).fetchall())

    # an entity that never arrived warns (not_empty) but does not fail
    assert _result(results, "table_warnings_stg_product__events")["status"] == "warn"
    assert broken_rules("table_warnings_stg_product__events") == [("not_empty", "", 0)]
    # t3 references an account that no snapshot holds: a warning, not an error
    assert _result(results, "table_warnings_stg_helpdesk__tickets")["status"] == "warn"
    assert broken_rules("table_warnings_stg_helpdesk__tickets") == [
        ("relationships", "account_id -> stg_crm__accounts.account_id", 1)
    ]
    # the load-log balance rule ran and held
    assert _result(results, "table_checks_load_log")["status"] == "pass"
    assert broken_rules("table_checks_load_log") == []


@pytest.mark.parametrize("ent", ENTITIES, ids=lambda e: e.asset_name)
def test_every_staging_model_has_contract_columns_and_types(built, ent):
    con, _ = built
    got = rows(con, f"""
        select column_name, data_type from information_schema.columns
        where table_schema = 'staging' and table_name = 'stg_{ent.source}__{ent.name}'
        order by ordinal_position""")
    expected = [(c.name, c.type) for c in ent.columns]
    expected += [("extract_date", "DATE"), ("first_extract_date", "DATE")]
    if ent.kind == SNAPSHOT:
        expected.append(("is_current", "BOOLEAN"))
    assert got == expected


def test_entities_that_never_arrived_are_empty(built):
    con, _ = built
    for table in ("stg_product__events", "stg_product__features", "stg_helpdesk__calls",
                  "stg_helpdesk__ticket_comments", "stg_crm__subscriptions"):
        assert rows(con, f"select count(*) from staging.{table}") == [(0,)]


def test_accounts_latest_snapshot_wins_and_is_current(built):
    con, _ = built
    assert rows(con, """
        select account_id, account_name, tier, csm_owner_id, extract_date, first_extract_date, is_current
        from staging.stg_crm__accounts order by account_id""") == [
        ("a1", "Acme", "enterprise", "o2", d(D3), d(D1), True),
        ("a2", "Beta Inc", "mid_market", "o1", d(D2), d(D1), False),  # dropped from the D3 snapshot
        ("a3", "Gamma", "smb", "o2", d(D3), d(D2), True),  # last record of the extract wins
    ]
    # owners arrived once: their latest extract is the entity's latest extract
    assert rows(con, "select owner_id, is_current from staging.stg_crm__owners order by 1") == [
        ("o1", True), ("o2", True)]


def test_accounts_history_versions_only_on_change(built):
    con, _ = built
    assert rows(con, """
        select account_id, tier, industry, region, plan, csm_owner_id, valid_from, valid_to
        from staging.stg_crm__accounts_history order by account_id, valid_from""") == [
        ("a1", "smb", "saas", "emea", "pro", "o1", d(D1), d(D2)),
        ("a1", "enterprise", "saas", "emea", "pro", "o2", d(D2), None),
        ("a2", "mid_market", "retail", "na", "basic", "o1", d(D1), None),  # a name change is no version
        ("a3", "smb", "saas", "apac", "pro", "o2", d(D2), None),
    ]


def test_tickets_latest_extract_then_greatest_updated_at(built):
    con, _ = built
    assert rows(con, """
        select ticket_id, status, updated_at, reopen_count, escalated, extract_date, first_extract_date
        from staging.stg_helpdesk__tickets order by ticket_id""") == [
        ("t1", "solved", ts("2024-01-07T12:00:00"), 0, False, d(D2), d(D1)),
        ("t2", "pending", ts("2024-01-08T11:00:00"), 0, True, d(D2), d(D2)),
        ("t3", "open", ts("2024-01-08T10:00:00"), 2, False, d(D3), d(D2)),
    ]


def test_surveys_and_their_scale_history(built):
    con, _ = built
    assert rows(con, """
        select survey_id, question, scale_min, scale_max, extract_date, first_extract_date, is_current
        from staging.stg_survey__surveys order by 1""") == [
        ("s1", "Recommend?", 1, 10, d(D3), d(D1), True),
        ("s2", "Satisfied?", 1, 5, d(D3), d(D1), True),
    ]
    assert rows(con, """
        select survey_id, metric, scale_min, scale_max, higher_is_better, valid_from, valid_to
        from staging.stg_survey__surveys_history order by survey_id, valid_from""") == [
        ("s1", "nps", 0, 10, True, d(D1), d(D2)),
        ("s1", "nps", 1, 10, True, d(D2), None),
        ("s2", "csat", 1, 5, True, d(D1), None),  # a new question wording is no new scale version
    ]


def test_personal_data_is_redacted(built):
    con, _ = built
    assert rows(con, "select response_id, comment, responded_at from staging.stg_survey__responses order by 1") == [
        ("r1", "Call me at [phone] or [phone], mail [email]!", ts("2024-01-05T09:00:00")),
        ("r2", "Fixed on 2024-01-05 in v1.2.3, order 1234", ts("2024-01-06T10:00:00")),
    ]
    assert rows(con, "select title, body from staging.stg_reviews__reviews") == [
        ("Ask [email]", "Support rang [phone] twice")]


def test_audit_tables(built):
    con, _ = built
    assert rows(con, "select * from audit.load_log order by source, entity") == [
        ("crm", "accounts", d(D1), "crm/accounts/2024-01-01/accounts.csv", 3, 2, 1, "loaded", ""),
        ("helpdesk", "calls", d(D1), "helpdesk/calls/2024-01-01/calls.csv", 5, 0, 0, "rejected",
         "missing required column: offered_at"),
    ]
    assert rows(con, "select * from audit.quarantine") == [
        ("crm", "accounts", d(D1), "crm/accounts/2024-01-01/accounts.csv", 3,
         "missing required value: account_id", '{"account_id": "", "tier": "smb"}'),
    ]
    types = rows(con, """select table_name, column_name, data_type from information_schema.columns
                         where table_schema = 'audit' and data_type <> 'VARCHAR' order by 1, 2""")
    assert types == [
        ("load_log", "extract_date", "DATE"), ("load_log", "rows_in", "BIGINT"),
        ("load_log", "rows_loaded", "BIGINT"), ("load_log", "rows_quarantined", "BIGINT"),
        ("quarantine", "extract_date", "DATE"), ("quarantine", "row_number", "BIGINT"),
    ]
