"""Ingestion helpers: discovery, reading by name, casting, validation, duplicates, raw + audit."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from orchestration.lib.core import contract
from orchestration.lib.ingest import (
    discover_extract_dates,
    ingest_partition,
    partition_files,
    raw_partition_file,
    raw_schema_file,
)
from orchestration.lib.ingest.discover import NO_EXTRACT_DATE, unplaced_files
from orchestration.lib.ingest.validate import match_columns
from tests.ingest_helpers import land, load_log, make_paths, quarantine, raw, rows, tree_digest

D = "2024-03-01"
ACT_HEADER = "activity_id,account_id,activity_type,occurred_at,owner_id,contact_id\n"


@pytest.fixture
def paths(tmp_path):
    return make_paths(tmp_path)


def ingest(paths, source, entity, date=D, **kw):
    return ingest_partition(paths, contract.entity(source, entity), date, **kw)


def assert_reconciles(paths, source, entity, date=D):
    """rows_in = rows_loaded + rows_quarantined per loaded file, and the files agree."""
    log = load_log(paths, source, entity, date)
    for f in log:
        if f["status"] == "loaded":
            assert f["rows_in"] == f["rows_loaded"] + f["rows_quarantined"], f
    assert sum(f["rows_loaded"] for f in log) == len(raw(paths, source, entity, date))
    assert sum(f["rows_quarantined"] for f in log) == len(quarantine(paths, source, entity, date))


# --- discovery --------------------------------------------------------------------------------


def test_discover_dates_and_files(paths):
    land(paths, "crm", "accounts", "2024-01-05", "a.csv", "x\n")
    land(paths, "helpdesk", "calls", "2023-12-31", "b.jsonl", "{}\n")
    land(paths, "helpdesk", "calls", "2023-12-31", "a.parquet", b"")
    land(paths, "helpdesk", "calls", "2023-12-31", "notes.txt", "rejected by its partition")
    land(paths, "helpdesk", "calls", "2023-12-31", ".hidden.csv", "rejected by its partition")
    land(paths, "product", "events", "2024-02-30", "a.csv", "not a date folder")
    land(paths, "product", "events", "latest", "a.csv", "not a date folder")
    land(paths, "unknown", "thing", "2022-01-01", "a.csv", "not a contract entity")
    (paths.landing / "reviews" / "reviews" / "2024-06-01").mkdir(parents=True)  # empty folder

    assert discover_extract_dates(paths.landing) == ["2023-12-31", "2024-01-05"]
    # every file of a partition's folder is the partition's: it loads or rejects each one
    files = partition_files(paths.landing, "helpdesk", "calls", "2023-12-31")
    assert [f.name for f in files] == [".hidden.csv", "a.parquet", "b.jsonl", "notes.txt"]
    assert discover_extract_dates(paths.landing / "absent") == []
    # the files no partition reads are listed with the reason (issue 27, case 4)
    assert [(u.path.relative_to(paths.landing).as_posix(), u.extract_date) for u in unplaced_files(paths.landing)] == [
        ("product/events/2024-02-30/a.csv", NO_EXTRACT_DATE),
        ("product/events/latest/a.csv", NO_EXTRACT_DATE),
        ("unknown/thing/2022-01-01/a.csv", NO_EXTRACT_DATE),
    ]


# --- casting and validation -------------------------------------------------------------------


def test_timestamps_with_offsets_become_utc_and_without_are_utc(paths):
    land(
        paths, "crm", "activities", D, "a.csv",
        ACT_HEADER
        + "a1,acc,call,2024-03-01T10:00:00+02:00,,\n"
        + "a2,acc,call,2024-03-01T10:00:00Z,,\n"
        + "a3,acc,call,2024-03-01 10:00:00,,\n"
        + "a4,acc,call,2024-03-01T10:00:00-05:30,,\n"
        + "a5,acc,call,2024-03-01T23:30:00.250-01:00,,\n"
        + "a6,acc,call,2024-03-01,,\n",
    )
    r = ingest(paths, "crm", "activities")
    assert r.rows_loaded == 6 and r.rows_quarantined == 0
    got = {x["activity_id"]: x["occurred_at"] for x in raw(paths, "crm", "activities", D)}
    assert got == {
        "a1": dt.datetime(2024, 3, 1, 8, 0),
        "a2": dt.datetime(2024, 3, 1, 10, 0),
        "a3": dt.datetime(2024, 3, 1, 10, 0),
        "a4": dt.datetime(2024, 3, 1, 15, 30),
        "a5": dt.datetime(2024, 3, 2, 0, 30, 0, 250000),
        "a6": dt.datetime(2024, 3, 1, 0, 0),
    }


# Text without an offset takes the plain TIMESTAMP cast, text with one goes through TIMESTAMPTZ
# (validate._typed): both must give what TIMESTAMPTZ alone gives in a UTC session, edge cases too.
TS_EDGE_TEXT = [
    "2024-01-01", "2024-01-01 10:00", "2024-01-01T10:00", "2024-01-01t10:00:00",
    "2024-01-01 10:00:00.1", "2024-01-01 10:00:00.123456789", "2024-01-01 23:59:59.9999999",
    "2024-02-29 24:00:00", "2024-02-30", "2023-02-29", "2024-01-01 25:00", "2024-01-01 23:59:60",
    "0000-01-01", "9999-12-31 23:59:59.999999", "2024-01-01 10:00:00Z", "2024-01-01 10:00:00z",
    "2024-01-01 10:00:00+02", "2024-01-01 10:00:00 +0200", "2024-01-01 10:00:00-05:30",
    "2024-01-01 10:00:00 Z", "2024-1-01", "20240101", "2024-01-01 10",
]


def test_timestamp_fast_path_equals_timestamptz_cast():
    from orchestration.lib.ingest.sql import connect
    from orchestration.lib.ingest.validate import TS_REGEX, _typed

    col = next(c for c in contract.entity("crm", "activities").columns if c.name == "occurred_at")
    con = connect()
    got = con.execute(
        f"SELECT v, {_typed(col)}, CASE WHEN regexp_full_match(v, ?) THEN CAST(try_cast(v AS TIMESTAMPTZ) AS TIMESTAMP) END "
        "FROM (SELECT unnest(?) AS occurred_at) t, LATERAL (SELECT occurred_at AS v)",
        [TS_REGEX, TS_EDGE_TEXT],
    ).fetchall()
    assert len(got) == len(TS_EDGE_TEXT)
    assert [(v, fast) for v, fast, _ in got] == [(v, slow) for v, _, slow in got]
    assert sum(fast is not None for _, fast, _ in got) >= 12  # most of the list parses: not NULL == NULL


def test_blank_free_text_is_missing_and_spacing_is_kept(paths):
    # trim() removes spaces, NBSP and the ideographic space, not tabs (DuckDB): the fast path that
    # skips trim() for a printable first character must agree with it either way
    land(
        paths, "crm", "activities", D, "a.jsonl",
        "".join(
            json.dumps({"activity_id": aid, "account_id": "acc", "activity_type": "call",
                        "occurred_at": "2024-03-01", "owner_id": owner, "contact_id": ""}) + "\n"
            for aid, owner in [
                ("a1", "   "), ("a2", "\u00a0"), ("a3", "\u3000 "), ("a4", " o "), ("a5", "\to"),
                ("a6", "\t"), ("a7", "o"), ("a8", "\u00e9"), ("   ", "o"), ("\u00a0", "o"),
            ]
        ),
    )
    r = ingest(paths, "crm", "activities")
    assert (r.rows_loaded, r.rows_quarantined) == (8, 2)
    got = {x["activity_id"]: x["owner_id"] for x in raw(paths, "crm", "activities", D)}
    assert got == {"a1": None, "a2": None, "a3": None, "a4": " o ", "a5": "\to", "a6": "\t", "a7": "o", "a8": "\u00e9"}
    reasons = [q["reason"] for q in quarantine(paths, "crm", "activities", D)]
    assert reasons == ["missing required value in column activity_id"] * 2


def test_raw_columns_have_contract_types(paths):
    land(paths, "crm", "activities", D, "a.csv", ACT_HEADER + "a1,acc,call,2024-03-01T10:00:00Z,,\n")
    ingest(paths, "crm", "activities")
    con = duckdb.connect()
    for path in (raw_partition_file(paths, contract.entity("crm", "activities"), D),
                 raw_schema_file(paths, contract.entity("crm", "activities"))):
        sql = f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)"
        types = {r[0]: r[1] for r in con.execute(sql).fetchall()}
        assert types["occurred_at"] == "TIMESTAMP"
        assert types["_extract_date"] == "DATE" and types["_row_number"] == "BIGINT"
        assert types["_source_file"] == "VARCHAR"


def test_bad_timestamps_are_quarantined_with_column_and_value(paths):
    land(
        paths, "crm", "activities", D, "a.csv",
        ACT_HEADER
        + "a1,acc,call,yesterday,,\n"
        + "a2,acc,call,infinity,,\n"
        + "a3,acc,call,2024-13-45T10:00:00,,\n"
        + "a4,acc,call,2024-03-01T10:00:00Z,,\n"
        + "a5,acc,call,,,\n",
    )
    r = ingest(paths, "crm", "activities")
    assert (r.rows_loaded, r.rows_quarantined) == (1, 4)
    reasons = {q["row_number"]: q["reason"] for q in quarantine(paths, "crm", "activities", D)}
    assert reasons[1] == "unparseable timestamp in column occurred_at: 'yesterday'"
    assert reasons[2] == "unparseable timestamp in column occurred_at: 'infinity'"
    assert reasons[3] == "unparseable timestamp in column occurred_at: '2024-13-45T10:00:00'"
    assert reasons[5] == "missing required value in column occurred_at"


def test_enumerations_are_lower_cased_then_checked(paths):
    land(
        paths, "crm", "activities", D, "a.csv",
        ACT_HEADER + "a1,acc,QBR,2024-03-01T10:00:00Z,,\n" + "a2,acc, Exec_Checkin ,2024-03-01T10:00:00Z,,\n"
        + "a3,acc,lunch,2024-03-01T10:00:00Z,,\n",
    )
    ingest(paths, "crm", "activities")
    assert [x["activity_type"] for x in raw(paths, "crm", "activities", D)] == ["qbr", "exec_checkin"]
    (q,) = quarantine(paths, "crm", "activities", D)
    assert q["reason"] == (
        "value not allowed in column activity_type: 'lunch' (allowed: qbr, exec_checkin, call, meeting, email)"
    )


def test_booleans(paths):
    values = ["true", "FALSE", "1", "0", "yes", "No", "t", "F", "", "maybe"]
    body = "feature_key,event_name,feature_name,is_core\n" + "".join(
        f"f{i},ev,name,{v}\n" for i, v in enumerate(values)
    )
    land(paths, "product", "features", D, "f.csv", body)
    ingest(paths, "product", "features")
    got = {x["feature_key"]: x["is_core"] for x in raw(paths, "product", "features", D)}
    assert got == {"f0": True, "f1": False, "f2": True, "f3": False, "f4": True, "f5": False,
                   "f6": True, "f7": False, "f8": None}
    (q,) = quarantine(paths, "product", "features", D)
    assert q["reason"] == "unparseable boolean in column is_core: 'maybe'" and q["row_number"] == 10


def test_numbers_integers_and_dates(paths):
    header = "subscription_id,account_id,product,start_date,end_date,mrr,currency,seats,status\n"
    land(
        paths, "crm", "subscriptions", D, "s.csv",
        header
        + "s1,a,p,2024-01-05,,12.5,USD,3.0,Active\n"
        + "s2,a,p,2024-1-5,,12.5,USD,3,active\n"
        + "s3,a,p,2024-01-05,2025-01-05,1e3,EUR,3.5,active\n"
        + "s4,a,p,2024-01-05,,,USD,,active\n"
        + "s5,a,p,2024-01-05,,ten,USD,,active\n",
    )
    r = ingest(paths, "crm", "subscriptions")
    assert (r.rows_loaded, r.rows_quarantined) == (1, 4)
    (s1,) = raw(paths, "crm", "subscriptions", D)
    assert s1["start_date"] == dt.date(2024, 1, 5) and s1["end_date"] is None
    assert s1["mrr"] == 12.5 and s1["seats"] == 3 and s1["status"] == "active"
    reasons = {q["row_number"]: q["reason"] for q in quarantine(paths, "crm", "subscriptions", D)}
    assert reasons == {
        2: "unparseable date in column start_date: '2024-1-5'",
        3: "unparseable integer in column seats: '3.5'",
        4: "missing required value in column mrr",
        5: "unparseable number in column mrr: 'ten'",
    }


def test_several_problems_of_one_row_are_all_named(paths):
    land(paths, "crm", "activities", D, "a.csv", ACT_HEADER + ",acc,lunch,soon,,\n")
    ingest(paths, "crm", "activities")
    (q,) = quarantine(paths, "crm", "activities", D)
    assert q["reason"] == (
        "missing required value in column activity_id; "
        "value not allowed in column activity_type: 'lunch' (allowed: qbr, exec_checkin, call, meeting, email); "
        "unparseable timestamp in column occurred_at: 'soon'"
    )


# --- duplicates -------------------------------------------------------------------------------

TICKET_HEADER = (
    "ticket_id,account_id,requester_contact_id,channel,category,priority,status,created_at,"
    "first_response_at,solved_at,updated_at,assignee_id,reopen_count,escalated\n"
)


def ticket(tid: str, status: str, updated: str) -> str:
    return f"{tid},acc,c,email,billing,high,{status},2024-02-01T10:00:00Z,,,{updated},ag,0,false\n"


def test_duplicate_keys_keep_greatest_updated_at_across_files(paths):
    land(paths, "helpdesk", "tickets", D, "a.csv", TICKET_HEADER + ticket("T1", "solved", "2024-02-03T00:00:00Z")
         + ticket("T2", "open", "2024-02-01T00:00:00Z"))
    land(paths, "helpdesk", "tickets", D, "b.csv", TICKET_HEADER + ticket("T1", "open", "2024-02-02T00:00:00Z")
         + ticket("T2", "pending", "2024-02-02T00:00:00Z"))
    r = ingest(paths, "helpdesk", "tickets")
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (4, 2, 2)
    kept = {x["ticket_id"]: (x["status"], x["_source_file"], x["_row_number"]) for x in raw(paths, "helpdesk", "tickets", D)}
    assert kept == {
        "T1": ("solved", f"helpdesk/tickets/{D}/a.csv", 1),
        "T2": ("pending", f"helpdesk/tickets/{D}/b.csv", 2),
    }
    reasons = {(q["file"], q["row_number"]): q["reason"] for q in quarantine(paths, "helpdesk", "tickets", D)}
    # the contract's rule at work: the earlier versions are superseded, not invalid
    later = f"an earlier updated_at) in extract {D}: the latest version is loaded, not counted as invalid"
    assert reasons == {
        (f"helpdesk/tickets/{D}/b.csv", 1):
            f"superseded version of helpdesk/tickets/{D}/a.csv:1 (ticket_id=T1, {later}",
        (f"helpdesk/tickets/{D}/a.csv", 2):
            f"superseded version of helpdesk/tickets/{D}/b.csv:2 (ticket_id=T2, {later}",
    }
    assert_reconciles(paths, "helpdesk", "tickets")


def test_duplicate_keys_without_updated_at_keep_the_last_record(paths):
    header = "account_id,account_name,industry,tier,region,plan,csm_owner_id,created_at\n"
    land(paths, "crm", "accounts", D, "1.csv", header + "A1,First,x,smb,eu,p,o,\nA1,Second,x,smb,eu,p,o,\n")
    land(paths, "crm", "accounts", D, "2.csv", header + "A1,Third,x,smb,eu,p,o,\n")
    ingest(paths, "crm", "accounts")
    (kept,) = raw(paths, "crm", "accounts", D)
    assert kept["account_name"] == "Third"
    reasons = sorted(q["reason"] for q in quarantine(paths, "crm", "accounts", D))
    assert reasons == [f"duplicate key account_id=A1 in extract {D} (kept crm/accounts/{D}/2.csv:1)"] * 2


def test_an_invalid_duplicate_does_not_win(paths):
    land(paths, "helpdesk", "tickets", D, "a.csv", TICKET_HEADER + ticket("T1", "open", "2024-02-01T00:00:00Z")
         + ticket("T1", "bogus", "2024-02-09T00:00:00Z"))
    ingest(paths, "helpdesk", "tickets")
    (kept,) = raw(paths, "helpdesk", "tickets", D)
    assert kept["status"] == "open"
    (q,) = quarantine(paths, "helpdesk", "tickets", D)
    assert q["reason"].startswith("value not allowed in column status: 'bogus'")


# --- files: rejection, formats, extras ----------------------------------------------------------


def test_missing_required_column_rejects_the_file_naming_file_and_column(paths):
    land(paths, "crm", "activities", D, "bad.csv", "activity_id,account_id,owner_id\na1,acc,o\na2,acc,o\n")
    land(paths, "crm", "activities", D, "good.csv", ACT_HEADER + "a3,acc,call,2024-03-01T10:00:00Z,,\n")
    r = ingest(paths, "crm", "activities")
    log = {f["file"]: f for f in load_log(paths, "crm", "activities", D)}
    bad = log[f"crm/activities/{D}/bad.csv"]
    assert bad["status"] == "rejected"
    assert (bad["rows_in"], bad["rows_loaded"], bad["rows_quarantined"]) == (2, 0, 0)
    assert f"crm/activities/{D}/bad.csv" in bad["error"]
    assert "activity_type" in bad["error"] and "occurred_at" in bad["error"] and "contact_id" in bad["error"]
    good = log[f"crm/activities/{D}/good.csv"]
    assert (good["status"], good["error"], good["rows_loaded"]) == ("loaded", "", 1)
    assert r.files_rejected == 1 and [x["activity_id"] for x in raw(paths, "crm", "activities", D)] == ["a3"]
    assert_reconciles(paths, "crm", "activities")


def test_columns_are_read_by_name_in_any_order_and_case(paths):
    land(paths, "crm", "activities", D, "a.csv",
         "Occurred_At,contact_id,ACTIVITY_TYPE,owner_id,account_id,activity_id\n2024-03-01T10:00:00Z,c,Call,o,acc,a1\n")
    ingest(paths, "crm", "activities")
    (x,) = raw(paths, "crm", "activities", D)
    assert (x["activity_id"], x["activity_type"], x["contact_id"]) == ("a1", "call", "c")


RESP_HEADER = "response_id,invitation_id,survey_id,account_id,contact_id,score,comment,responded_at"


def test_csv_quotes_commas_embedded_newlines_and_malformed_lines(paths):
    body = (
        RESP_HEADER + "\n"
        + 'r1,,s,acc,c,9,"Great, really ""great""\nsecond line",2024-03-01T10:00:00Z\n'
        + "r2,,s,acc,c,5,too,many,fields,2024-03-01T10:00:00Z\n"
        + 'r3,,s,acc,c,8,"multi\nline\nthree",2024-03-01T10:00:00Z\n'
        + "r4,,s,acc\n"
        + "r5,,s,acc,c,7,plain,2024-03-01T10:00:00Z\n"
    )
    land(paths, "survey", "responses", D, "r.csv", body)
    r = ingest(paths, "survey", "responses")
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (5, 3, 2)
    got = {x["response_id"]: (x["comment"], x["_row_number"]) for x in raw(paths, "survey", "responses", D)}
    assert got == {
        "r1": ('Great, really "great"\nsecond line', 1),
        "r3": ("multi\nline\nthree", 3),
        "r5": ("plain", 5),
    }
    q = {x["row_number"]: x for x in quarantine(paths, "survey", "responses", D)}
    assert set(q) == {2, 4}
    assert q[2]["reason"].startswith("malformed CSV record: TOO MANY COLUMNS")
    assert q[4]["reason"].startswith("malformed CSV record: MISSING COLUMNS")
    assert json.loads(q[4]["record"]) == {"_raw_line": "r4,,s,acc"}
    assert_reconciles(paths, "survey", "responses")


def test_extra_columns_are_kept_as_text(paths):
    land(paths, "crm", "activities", D, "a.csv",
         "activity_id,account_id,activity_type,occurred_at,owner_id,contact_id,channel_detail,Tier\n"
         "a1,acc,call,2024-03-01T10:00:00Z,,,zoom,7\n")
    ingest(paths, "crm", "activities")
    (x,) = raw(paths, "crm", "activities", D)
    assert x["channel_detail"] == "zoom" and x["Tier"] == "7"
    names = list(x)
    assert names[:6] == contract.entity("crm", "activities").column_names
    assert names[-3:] == ["_extract_date", "_source_file", "_row_number"]
    assert x["_extract_date"] == dt.date(2024, 3, 1)


def test_jsonl_input(paths):
    lines = [
        {"activity_id": "a1", "account_id": "acc", "activity_type": "Meeting", "occurred_at": "2024-03-01T10:00:00+01:00",
         "owner_id": "o", "contact_id": None, "meta": {"x": 1}},
        "not json at all",
        {"activity_id": "a2", "account_id": "acc", "activity_type": "call", "occurred_at": "never",
         "owner_id": 7, "contact_id": "c"},
        [1, 2],
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    land(paths, "crm", "activities", D, "a.jsonl", text)
    r = ingest(paths, "crm", "activities")
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (4, 1, 3)
    (x,) = raw(paths, "crm", "activities", D)
    assert x["occurred_at"] == dt.datetime(2024, 3, 1, 9, 0) and x["activity_type"] == "meeting"
    assert json.loads(x["meta"]) == {"x": 1}
    q = {x["row_number"]: x for x in quarantine(paths, "crm", "activities", D)}
    assert q[2]["reason"] == "malformed JSONL record: invalid JSON"
    assert q[3]["reason"] == "unparseable timestamp in column occurred_at: 'never'"
    assert json.loads(q[3]["record"])["owner_id"] == 7  # the record as it arrived
    assert q[4]["reason"] == "malformed JSONL record: not a JSON object"


def test_parquet_input(paths):
    path = paths.landing / "crm" / "activities" / D / "a.parquet"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""COPY (SELECT * FROM (VALUES
              ('a1', 'acc', 'QBR', TIMESTAMPTZ '2024-03-01 10:00:00+02', 'o', NULL, 42),
              ('a2', 'acc', 'nap', TIMESTAMPTZ '2024-03-01 10:00:00+00', 'o', NULL, 43))
            t(activity_id, account_id, activity_type, occurred_at, owner_id, contact_id, n))
            TO '{path}' (FORMAT parquet)"""
    )
    r = ingest(paths, "crm", "activities")
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    (x,) = raw(paths, "crm", "activities", D)
    assert x["occurred_at"] == dt.datetime(2024, 3, 1, 8, 0) and x["activity_type"] == "qbr" and x["n"] == "42"
    (q,) = quarantine(paths, "crm", "activities", D)
    assert q["row_number"] == 2 and "'nap'" in q["reason"]


def _activities_parquet(path, n_good=0, row_group_size=None):
    """Activities as Parquet with a typed (zone-less) TIMESTAMP occurred_at and a DATE extra: the
    edge values first, then `n_good` good rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    options = f", ROW_GROUP_SIZE {row_group_size}" if row_group_size else ""
    con.execute(
        f"""COPY (
              SELECT * FROM (VALUES
                ('e1', 'acc', 'call', TIMESTAMP '2024-03-01 10:00:00.123456', 'o', NULL, DATE '2024-01-31'),
                ('e2', 'acc', 'call', TIMESTAMP 'infinity', 'o', NULL, NULL),
                ('e3', 'acc', 'call', TIMESTAMP '10000-01-01 00:00:00', 'o', NULL, NULL),
                ('e4', 'acc', 'call', TIMESTAMP '0001-01-01 (BC) 00:00:00', 'o', NULL, NULL),
                ('e5', 'acc', 'call', NULL, 'o', NULL, DATE 'infinity'),
                ('e6', 'acc', 'call', TIMESTAMP '0001-01-01 00:00:00', 'o', NULL, NULL))
                t(activity_id, account_id, activity_type, occurred_at, owner_id, contact_id, seen_on)
              UNION ALL
              SELECT 'g' || i, 'acc', 'call', TIMESTAMP '2024-03-01' + to_seconds(i), 'o', NULL, NULL
              FROM range({n_good}) r(i)
            ) TO '{path}' (FORMAT parquet{options})"""
    )
    return path


def test_typed_parquet_timestamps_are_checked_like_their_text(paths):
    """A Parquet TIMESTAMP column is validated without going through text: the same rows load and
    the same rows are quarantined, with the same reasons and records, as when the values arrive
    as text (the same data written as CSV, with the text DuckDB renders them as)."""
    other = "2024-03-02"
    path = _activities_parquet(paths.landing / "crm" / "activities" / D / "a.parquet")
    (paths.landing / "crm" / "activities" / other).mkdir()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(occurred_at AS VARCHAR) AS occurred_at, CAST(seen_on AS VARCHAR) AS seen_on) "
        f"FROM '{path}') TO '{paths.landing / 'crm' / 'activities' / other / 'a.csv'}' (HEADER, DELIMITER ',')"
    )
    typed, text = ingest(paths, "crm", "activities"), ingest(paths, "crm", "activities", other)
    assert (typed.rows_loaded, typed.rows_quarantined) == (text.rows_loaded, text.rows_quarantined) == (2, 4)
    def strip(rs):  # what names the extract date or the file differs between the two
        return [{k: v for k, v in r.items() if k not in ("_extract_date", "_source_file", "extract_date", "file")} for r in rs]

    assert strip(raw(paths, "crm", "activities", D)) == strip(raw(paths, "crm", "activities", other))
    assert strip(quarantine(paths, "crm", "activities", D)) == strip(quarantine(paths, "crm", "activities", other))
    reasons = {q["row_number"]: q["reason"] for q in quarantine(paths, "crm", "activities", D)}
    assert reasons == {
        2: "unparseable timestamp in column occurred_at: 'infinity'",
        3: "unparseable timestamp in column occurred_at: '10000-01-01 00:00:00'",
        4: "unparseable timestamp in column occurred_at: '0001-01-01 (BC) 00:00:00'",
        5: "missing required value in column occurred_at",
    }
    (x, y) = raw(paths, "crm", "activities", D)
    assert x["occurred_at"] == dt.datetime(2024, 3, 1, 10, 0, 0, 123456) and x["seen_on"] == "2024-01-31"
    assert y["occurred_at"] == dt.datetime(1, 1, 1)


def test_typed_and_text_files_share_a_partition(paths):
    """One file's typed timestamps and another's text meet in one partition: both are checked."""
    _activities_parquet(paths.landing / "crm" / "activities" / D / "a.parquet")
    land(paths, "crm", "activities", D, "b.csv", ACT_HEADER + "b1,acc,call,2024-03-01T10:00:00+02:00,,\nb2,acc,call,soon,,\n")
    r = ingest(paths, "crm", "activities")
    assert (r.rows_loaded, r.rows_quarantined) == (3, 5)
    assert [(x["activity_id"], x["occurred_at"]) for x in raw(paths, "crm", "activities", D)] == [
        ("e1", dt.datetime(2024, 3, 1, 10, 0, 0, 123456)),
        ("e6", dt.datetime(1, 1, 1)),
        ("b1", dt.datetime(2024, 3, 1, 8, 0)),
    ]
    assert_reconciles(paths, "crm", "activities")


def test_large_files_are_written_in_file_and_record_order(paths):
    """Raw rows come out in file and record order, across many row groups read by several threads
    and two files of one partition, with no sort: the checks keep the order (with DuckDB's
    `in_clause` optimizer on, the allowed activity types became a join and the rows came out in
    another order)."""
    _activities_parquet(paths.landing / "crm" / "activities" / D / "a.parquet", n_good=300_000, row_group_size=10_000)
    rows = "".join(f"b{i},acc,{'Call' if i % 2 else 'email'},2024-03-01T10:00:00Z,,\n" for i in range(100_000))
    land(paths, "crm", "activities", D, "b.csv", ACT_HEADER + rows)
    ingest(paths, "crm", "activities")
    path = raw_partition_file(paths, contract.entity("crm", "activities"), D)
    con = duckdb.connect()
    gaps, backwards, n = con.execute(
        f"""SELECT count_if(_source_file = prev_file AND _row_number <> prev + 1),
                   count_if(_source_file < prev_file OR (_source_file = prev_file AND _row_number <= prev)),
                   count(*)
            FROM (SELECT _source_file, _row_number,
                         lag(_source_file, 1, '') OVER (ORDER BY file_row_number) AS prev_file,
                         lag(_row_number, 1, 0) OVER (ORDER BY file_row_number) AS prev
                  FROM read_parquet('{path}', file_row_number = true, hive_partitioning = false))"""
    ).fetchone()
    assert n == 400_002 and backwards == 0
    assert gaps == 1  # rows 2-5 of a.parquet were quarantined


def test_unreadable_file_is_rejected_and_the_rest_loads(paths):
    land(paths, "crm", "activities", D, "a.parquet", b"this is not parquet")
    land(paths, "crm", "activities", D, "b.csv", ACT_HEADER + "a1,acc,call,2024-03-01T10:00:00Z,,\n")
    r = ingest(paths, "crm", "activities")
    assert [f.status for f in r.files] == ["rejected", "loaded"]
    assert r.files[0].error.startswith(f"file crm/activities/{D}/a.parquet could not be read")


def test_match_columns_reports_missing():
    ent = contract.entity("crm", "owners")
    mapping, missing = match_columns(ent, ["owner_id", "EMAIL", "x"])
    assert mapping == {"owner_id": "owner_id", "email": "EMAIL"} and missing == ["owner_name", "team"]


# --- partitions: idempotency, absence -------------------------------------------------------------


def test_rerun_is_byte_identical(paths):
    land(paths, "helpdesk", "tickets", D, "a.csv", TICKET_HEADER + ticket("T1", "open", "2024-02-01T00:00:00Z")
         + ticket("T1", "solved", "2024-02-02T00:00:00Z") + "bad,line\n")
    ingest(paths, "helpdesk", "tickets")
    first = tree_digest(paths.raw, paths.audit)
    ingest(paths, "helpdesk", "tickets")
    assert tree_digest(paths.raw, paths.audit) == first
    assert not [p for p in paths.data.rglob("*") if p.name.endswith(".tmp")]


def test_partition_without_files_writes_nothing_and_removes_stale_output(paths):
    f = land(paths, "crm", "activities", D, "a.csv", ACT_HEADER + "a1,acc,call,2024-03-01T10:00:00Z,,\n")
    ingest(paths, "crm", "activities")
    assert raw(paths, "crm", "activities", D)
    f.unlink()
    r = ingest(paths, "crm", "activities")
    assert r.files == []
    assert not raw_partition_file(paths, contract.entity("crm", "activities"), D).parent.exists()
    assert load_log(paths, "crm", "activities", D) == [] and quarantine(paths, "crm", "activities", D) == []
    # the typed empty schemas exist even for an entity that never arrived
    r = ingest(paths, "reviews", "reviews")
    assert rows(raw_schema_file(paths, contract.entity("reviews", "reviews"))) == []
    assert (paths.audit / "load_log" / "_schema" / "empty.parquet").exists()
    assert (paths.audit / "quarantine" / "_schema" / "empty.parquet").exists()


def test_counts_reconcile_on_a_mixed_partition(paths):
    land(paths, "helpdesk", "tickets", D, "a.csv", TICKET_HEADER + ticket("T1", "open", "2024-02-01T00:00:00Z")
         + ticket("T2", "nope", "x") + "broken\n" + ticket("T1", "open", "2024-02-05T00:00:00Z"))
    land(paths, "helpdesk", "tickets", D, "b.jsonl", json.dumps({"ticket_id": "T3"}) + "\n")
    land(paths, "helpdesk", "tickets", D, "c.jsonl", json.dumps({
        "ticket_id": "T4", "account_id": None, "requester_contact_id": None, "channel": "WEB", "category": "x",
        "priority": "low", "status": "new", "created_at": "2024-02-01T00:00:00Z", "first_response_at": None,
        "solved_at": None, "updated_at": None, "assignee_id": None, "reopen_count": 2, "escalated": True,
    }) + "\n")
    r = ingest(paths, "helpdesk", "tickets")
    assert [f.status for f in r.files] == ["loaded", "rejected", "loaded"]
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (6, 2, 3)
    assert_reconciles(paths, "helpdesk", "tickets")


def test_a_callers_session_is_left_without_a_table(paths):
    """The ingest asset reuses one session per thread for every partition: each partition's
    tables (files read, checked rows, duplicate keys) must be gone when it is written."""
    from orchestration.lib.ingest.sql import connect

    ent = contract.entity("helpdesk", "tickets")
    record = {c: None for c in ent.column_names} | {"ticket_id": "t1", "created_at": "2024-03-30T10:00:00Z"}
    lines = [json.dumps(record | {"status": "open"}), json.dumps(record | {"status": "solved"}), "not json"]
    land(paths, "helpdesk", "tickets", "2024-04-01", "t.jsonl", "\n".join(lines) + "\n")
    con = connect()
    r = ingest_partition(paths, ent, "2024-04-01", con=con)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 2)  # a duplicate and a broken line
    assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == []
    assert con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall() == []
    con.close()
