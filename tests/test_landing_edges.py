"""Nothing lost or silently wrong at the edges of the landing zone (issue 27): a mis-dated extract
folder, a malformed CSV record, files of other types or at other places, a 100 %-invalid extract
of any entity, and an extract sent twice. Ingest only (real DuckDB files, real Dagster
materializations); the dbt side (the calendar's as-of day, the blocked extract dates) has dbt unit
tests: `int_calendar__days_ends_on_the_latest_extract_date`, `blocked_extract_dates_*`."""

from __future__ import annotations

import gzip
import json

import dagster as dg
import duckdb
import pytest

from orchestration.defs.ingest import ingest_assets
from orchestration.defs.partitions import extract_date_partitions
from orchestration.lib.core import contract
from orchestration.lib.core.paths import current
from orchestration.lib.ingest import ingest_partition, unplaced
from orchestration.lib.ingest.discover import NO_EXTRACT_DATE, RUN_DATE_ENV, discover_extract_dates
from tests.ingest_helpers import land, load_log, make_paths, quarantine, raw, tree_digest

D = "2026-10-20"
CALLS = "call_id,account_id,queue,offered_at,answered_at,ended_at,abandoned\n"
CONTACTS = "contact_id,account_id,email,full_name,role,created_at\n"
EVENTS = "event_id,account_id,user_id,event_name,occurred_at,properties\n"
RESP = "response_id,invitation_id,survey_id,account_id,contact_id,score,comment,responded_at\n"
SURVEYS = (
    "survey_id,metric,question,scale_min,scale_max,higher_is_better,trigger,channel,owner_team\n"
    "nps_rel,nps,How likely?,0,10,true,relationship,email,customer_success\n"
)


@pytest.fixture
def paths(tmp_path, monkeypatch):
    p = make_paths(tmp_path)
    monkeypatch.setenv("CHW_LANDING_DIR", str(p.landing))
    monkeypatch.setenv("CHW_WAREHOUSE", str(p.warehouse))
    monkeypatch.setenv("CHW_DATA_DIR", str(p.data))
    for derived in ("CHW_SPARK_DIR", "CHW_ENGINE", "DBT_TARGET"):  # left by a module that ran export_env
        monkeypatch.delenv(derived, raising=False)
    monkeypatch.setenv(RUN_DATE_ENV, "2026-10-31")
    assert current() == p
    return p


def calls(n: int, day: str = D, prefix: str = "k") -> str:
    return CALLS + "".join(
        f"{prefix}{i},a1,support,{day}T09:00:00Z,{day}T09:01:00Z,{day}T09:05:00Z,false\n" for i in range(1, n + 1)
    )


def contacts(n: int) -> list[str]:
    return [f"c{i},a1,c{i}@example.com,\"Name {i}, Jr.\",user,2026-01-0{1 + i % 9}\n" for i in range(1, n + 1)]


def all_load_log(paths) -> list[dict]:
    """Every load-log row, as dbt reads them (audit/load_log/*/*.parquet)."""
    con = duckdb.connect()
    cur = con.execute(
        f"SELECT * FROM read_parquet('{paths.audit}/load_log/*/*.parquet', union_by_name = true) ORDER BY file"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def materialize(paths, dates: list[str], selection=None, **kw) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_date_partitions.name, dates)
    tags = {"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]}
    return dg.materialize(selection or ingest_assets, instance=instance, tags=tags, raise_on_error=False, **kw)


def check_evals(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


# --- case 1: an extract dated after the run's date is rejected whole ---------------------------


def test_an_extract_dated_after_the_run_is_rejected_whole_and_named_in_the_load_log(paths, monkeypatch):
    land(paths, "helpdesk", "calls", D, "calls.csv", calls(3))
    land(paths, "helpdesk", "calls", "2026-11-01", "calls.csv", calls(2, "2026-11-01", "n"))  # the run's date + 1
    land(paths, "helpdesk", "calls", "2099-12-31", "calls.csv", calls(5, "2099-12-31", "f"))

    # 2026-11-01 is within the day allowed; 2099-12-31 is no partition at all
    assert discover_extract_dates(paths.landing) == [D, "2026-11-01"]
    unplaced.refresh(paths)
    (row,) = [r for r in all_load_log(paths) if r["file"] == "helpdesk/calls/2099-12-31/calls.csv"]
    assert (row["source"], row["entity"], str(row["extract_date"])) == ("helpdesk", "calls", "2099-12-31")
    assert (row["status"], row["rows_in"], row["rows_loaded"], row["rows_quarantined"]) == ("rejected", 5, 0, 0)
    assert "extract date 2099-12-31 is after the run's date 2026-10-31" in row["error"]
    assert "\n" not in row["error"]
    assert not (paths.raw / "helpdesk" / "calls" / "extract_date=2099-12-31").exists()

    # a run a day earlier rejects the 2026-11-01 folder too (two days after its date)
    monkeypatch.setenv(RUN_DATE_ENV, "2026-10-30")
    assert discover_extract_dates(paths.landing) == [D]
    unplaced.refresh(paths)
    assert {r["file"] for r in all_load_log(paths) if r["status"] == "rejected"} == {
        "helpdesk/calls/2099-12-31/calls.csv", "helpdesk/calls/2026-11-01/calls.csv"}


# --- case 3: one malformed CSV record costs that record, not the file ---------------------------


def test_an_unclosed_quote_quarantines_its_record_and_loads_the_rest(paths):
    body = contacts(89)
    body[9] = 'c10,a1,c10@example.com,"Name 10 never closed,user,2026-01-02\n'  # record 10, line 11
    land(paths, "crm", "contacts", D, "contacts.csv", CONTACTS + "".join(body))
    ingest_partition(paths, contract.entity("crm", "contacts"), D)

    (log,) = load_log(paths, "crm", "contacts", D)
    assert (log["status"], log["rows_in"], log["rows_loaded"], log["rows_quarantined"]) == ("loaded", 89, 88, 1)
    (q,) = quarantine(paths, "crm", "contacts", D)
    assert q["row_number"] == 10
    # the csv module's own words: here the quote closes at the next record's quoted name
    assert q["reason"] == "malformed CSV record on line 11: ',' expected after '\"'"
    assert json.loads(q["record"])["_raw_line"].startswith("c10,a1,")
    loaded = raw(paths, "crm", "contacts", D)
    assert [r["contact_id"] for r in loaded] == [f"c{i}" for i in range(1, 90) if i != 10]
    assert loaded[10]["_row_number"] == 12 and loaded[10]["full_name"] == "Name 12, Jr."


def test_an_oversized_field_quarantines_its_record_and_loads_the_rest(paths):
    body = contacts(20)
    body[7] = 'c8,a1,c8@example.com,"' + "y" * 3_000_000 + '",user,2026-01-02\n'  # record 8, line 9
    land(paths, "crm", "contacts", D, "contacts.csv.gz", gzip.compress((CONTACTS + "".join(body)).encode()))
    ingest_partition(paths, contract.entity("crm", "contacts"), D)

    (log,) = load_log(paths, "crm", "contacts", D)
    assert (log["status"], log["rows_in"], log["rows_loaded"], log["rows_quarantined"]) == ("loaded", 20, 19, 1)
    (q,) = quarantine(paths, "crm", "contacts", D)
    assert q["row_number"] == 8 and "line 9" in q["reason"] and "over the 2097152-byte limit" in q["reason"]
    assert len(q["record"]) < 2000  # a preview, not 3 MB in the audit table


def test_an_oversized_jsonl_line_quarantines_its_record_and_loads_the_rest(paths):
    lines = [json.dumps({"event_id": f"e{i}", "account_id": "a1", "user_id": "u1", "event_name": "login",
                         "occurred_at": f"{D}T10:00:00Z", "properties": "y" * (3_000_000 if i == 3 else 2)})
             for i in range(1, 6)]
    land(paths, "product", "events", D, "events.jsonl", "\n".join(lines) + "\n")
    ingest_partition(paths, contract.entity("product", "events"), D)
    (log,) = load_log(paths, "product", "events", D)
    assert (log["status"], log["rows_in"], log["rows_loaded"], log["rows_quarantined"]) == ("loaded", 5, 4, 1)
    (q,) = quarantine(paths, "product", "events", D)
    assert q["row_number"] == 3 and "line 3" in q["reason"] and len(q["record"]) < 2000
    assert [r["_row_number"] for r in raw(paths, "product", "events", D)] == [1, 2, 4, 5]


def test_a_file_that_cannot_be_parsed_keeps_its_line_count_and_names_the_line(paths):
    land(paths, "helpdesk", "calls", D, "calls.csv", '"call_id,account_id\n' + "k1,a1\n" * 4)
    ingest_partition(paths, contract.entity("helpdesk", "calls"), D)
    (log,) = load_log(paths, "helpdesk", "calls", D)
    assert (log["status"], log["rows_in"], log["rows_loaded"]) == ("rejected", 4, 0)
    assert "line 1" in log["error"] and "\n" not in log["error"]


# --- case 4: every file under the landing zone is accounted for ---------------------------------


def test_every_landing_file_is_in_the_load_log_and_a_rerun_changes_nothing(paths):
    land(paths, "helpdesk", "calls", D, "calls.csv", calls(2))
    land(paths, "helpdesk", "calls", D, "_late.csv", calls(1, prefix="late"))
    land(paths, "helpdesk", "calls", D, "more.csv.gz", gzip.compress(calls(3, prefix="gz").encode()))
    jsonl = "".join(json.dumps({"call_id": f"j{i}", "account_id": "a1", "queue": "q", "offered_at": f"{D}T10:00:00Z",
                                "answered_at": None, "ended_at": f"{D}T10:02:00Z", "abandoned": True}) + "\n"
                    for i in range(2))
    land(paths, "helpdesk", "calls", D, "calls.jsonl.gz", gzip.compress(jsonl.encode()))
    land(paths, "helpdesk", "calls", D, "calls.xlsx", b"PK\x03\x04 not read")
    land(paths, "helpdesk", "calls", D, "calls.json", "[]")
    land(paths, "helpdesk", "calls", D, "sub/calls.csv", calls(2, prefix="sub"))
    for folder in ("latest", "2026-13-45", "20261021"):
        land(paths, "helpdesk", "calls", folder, "calls.csv", calls(2))
    land(paths, "helpdesk", "calls", ".", "beside_the_dates.csv", calls(1))
    land(paths, "helpdesk", "voicemails", D, "v.csv", "id\n1\n")
    land(paths, "marketing", "leads", D, "l.csv", "id\n1\n")
    (paths.landing / "README.txt").write_text("what this folder is")

    result = materialize(paths, [D])
    assert result.success
    every_file = {p.relative_to(paths.landing).as_posix() for p in paths.landing.rglob("*") if p.is_file()}
    log = {r["file"]: r for r in all_load_log(paths)}
    assert set(log) == every_file

    loaded = {f: r["rows_loaded"] for f, r in log.items() if r["status"] == "loaded"}
    assert loaded == {f"helpdesk/calls/{D}/{n}": k for n, k in
                      [("calls.csv", 2), ("_late.csv", 1), ("more.csv.gz", 3), ("calls.jsonl.gz", 2)]}
    assert len(raw(paths, "helpdesk", "calls", D)) == 8

    def error(f: str) -> str:
        assert log[f]["status"] == "rejected" and "\n" not in log[f]["error"], log[f]
        return log[f]["error"]

    assert "unsupported file type '.xlsx'" in error(f"helpdesk/calls/{D}/calls.xlsx")
    assert "unsupported file type '.json'" in error(f"helpdesk/calls/{D}/calls.json")
    assert "subfolder" in error(f"helpdesk/calls/{D}/sub/calls.csv") and log[f"helpdesk/calls/{D}/sub/calls.csv"]["rows_in"] == 2
    for folder in ("latest", "2026-13-45", "20261021"):
        f = f"helpdesk/calls/{folder}/calls.csv"
        assert f"folder '{folder}' is not an extract date (YYYY-MM-DD)" in error(f)
        assert str(log[f]["extract_date"]) == NO_EXTRACT_DATE and log[f]["rows_in"] == 2
    assert "not in an extract-date folder" in error("helpdesk/calls/beside_the_dates.csv")
    assert "unknown entity 'helpdesk/voicemails'" in error(f"helpdesk/voicemails/{D}/v.csv")
    assert "unknown source folder 'marketing'" in error(f"marketing/leads/{D}/l.csv")
    assert (log[f"marketing/leads/{D}/l.csv"]["source"], log[f"marketing/leads/{D}/l.csv"]["entity"]) == (
        "marketing", "leads")
    assert "not in a <source>/<entity>/<YYYY-MM-DD>/<file> folder" in error("README.txt")

    # the calls asset's WARN check names the files under its folder that were rejected
    warn = check_evals(result)[("raw/helpdesk/calls", "no_rejected_files")]
    assert not warn.passed and warn.metadata["files_rejected"].value == 7

    first = tree_digest(paths.raw, paths.audit)
    assert materialize(paths, [D]).success
    assert tree_digest(paths.raw, paths.audit) == first


# --- cases 5 and 6: the quarantine gate, for every entity, without counting exact duplicates ------


def test_a_fully_invalid_extract_of_any_entity_fails_its_blocking_check(paths):
    bad = EVENTS + "".join(f"e{i},a1,u1,login,yesterday,\n" for i in range(597))
    land(paths, "product", "events", D, "events.csv", bad)
    selection = [a for a in ingest_assets if a.key.path[1] == "product"]
    result = materialize(paths, [D], selection)
    share = check_evals(result)[("raw/product/events", "quarantine_share")]
    assert not share.passed and share.severity == dg.AssetCheckSeverity.ERROR
    assert share.metadata["max_partition_pct"].value == 100.0
    assert f"{D}: 100.0% invalid" in share.description and "re-send" in share.description
    assert not result.success  # a failed blocking check fails the step: downstream does not run
    # and the partition counts as not ingested: the next run tries it again
    from orchestration.lib.ingest.landing_state import partition_changed

    assert partition_changed(paths, contract.entity("product", "events"), D)
    assert check_evals(result)[("raw/product/features", "quarantine_share")].passed


def test_a_file_sent_twice_is_quarantined_as_duplicates_but_blocks_nothing(paths):
    body = RESP + "".join(f"r{i},,nps_rel,a1,c{i},{i % 11},,{D}T10:00:00Z\n" for i in range(1, 8))
    land(paths, "survey", "surveys", D, "surveys.csv", SURVEYS)
    land(paths, "survey", "responses", D, "responses.csv", body)
    land(paths, "survey", "responses", D, "responses_resent.csv", body)
    selection = [a for a in ingest_assets if a.key.path[1] == "survey"]
    result = materialize(paths, [D], selection)
    assert result.success
    evals = check_evals(result)
    assert evals[("raw/survey/responses", "scale_consistency")].passed
    share = evals[("raw/survey/responses", "quarantine_share")]
    assert share.passed and share.metadata["rows_duplicate"].value == 7

    assert len(raw(paths, "survey", "responses", D)) == 7
    q = quarantine(paths, "survey", "responses", D)
    assert len(q) == 7 and all(r["file"] == f"survey/responses/{D}/responses.csv" for r in q)
    assert q[0]["reason"] == (
        f"exact duplicate of survey/responses/{D}/responses_resent.csv:1 (response_id=r1, every value equal) "
        f"in extract {D}: loaded once, not counted as invalid; if a file was sent twice, remove the copy"
    )
    # a changed version of a key is still a plain duplicate, and an invalid row still counts
    land(paths, "survey", "responses", D, "responses_resent.csv",
         body.replace("r1,,nps_rel,a1,c1,1,", "r1,,nps_rel,a1,c1,2,") + f"r9,,nps_rel,a1,c9,11,,{D}T10:00:00Z\n")
    result = materialize(paths, [D], selection)
    share = check_evals(result)[("raw/survey/responses", "quarantine_share")]
    assert share.metadata["rows_duplicate"].value == 6 and share.metadata["rows_invalid"].value == 2
    reasons = [r["reason"] for r in quarantine(paths, "survey", "responses", D)]
    assert sum(r.startswith("duplicate key response_id=r1 ") for r in reasons) == 1


def _ticket(tid: str, status: str, updated: str) -> dict:
    return {"ticket_id": tid, "account_id": "a1", "requester_contact_id": "c1", "channel": "email",
            "category": "billing", "priority": "normal", "status": status, "created_at": f"{D}T08:00:00Z",
            "first_response_at": f"{D}T08:30:00Z", "solved_at": None, "updated_at": updated,
            "assignee_id": "o1", "reopen_count": 0, "escalated": False}


def test_versions_a_later_updated_at_supersedes_are_not_invalid(paths):
    """A ticket opened and updated on the same day comes twice in one delta extract: the contract
    keeps the greatest `updated_at`, so the earlier version is quarantined as superseded and not
    counted as invalid (the demo's small preset had a day of 14 tickets with 3 such versions, 21 %,
    which blocked the run). Two versions with the same `updated_at` are still ambiguous: invalid."""
    rows = [_ticket("t1", "new", f"{D}T08:00:00Z"), _ticket("t1", "open", f"{D}T09:00:00Z"),
            _ticket("t2", "new", f"{D}T08:00:00Z"), _ticket("t2", "pending", f"{D}T10:00:00Z"),
            _ticket("t3", "new", f"{D}T08:00:00Z"), _ticket("t3", "open", f"{D}T08:00:00Z"),
            _ticket("t4", "new", f"{D}T08:00:00Z")]
    land(paths, "helpdesk", "tickets", D, "tickets.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    selection = [a for a in ingest_assets if a.key.path[1:] == ["helpdesk", "tickets"]]
    result = materialize(paths, [D], selection)
    share = check_evals(result)[("raw/helpdesk/tickets", "quarantine_share")]
    assert share.metadata["rows_duplicate"].value == 2 and share.metadata["rows_invalid"].value == 1
    assert share.passed  # 1 invalid of 5 checked: 20 %, not above quarantine_block_pct
    loaded = {r["ticket_id"]: r["status"] for r in raw(paths, "helpdesk", "tickets", D)}
    assert loaded == {"t1": "open", "t2": "pending", "t3": "open", "t4": "new"}
    reasons = sorted(r["reason"] for r in quarantine(paths, "helpdesk", "tickets", D))
    assert reasons[0].startswith("duplicate key ticket_id=t3 ")
    assert reasons[1] == (f"superseded version of helpdesk/tickets/{D}/tickets.jsonl:2 (ticket_id=t1, an earlier "
                          f"updated_at) in extract {D}: the latest version is loaded, not counted as invalid")
    assert reasons[2].startswith("superseded version of helpdesk/tickets/") and "ticket_id=t2" in reasons[2]
