"""Issue 27, case 1 end to end: `orchestration.cli run` over the tiny landing zone with a calls
extract filed under `2099-12-31/`, a call timestamped 2078 inside an accepted extract, and files
no partition reads. The run exits 0; the mis-dated extract is rejected whole and named in
audit.load_log; no current-state mart moves to the far future; every landing file is in the load
log; a second run over the same landing zone changes no audit table and no raw or audit file.

One pipeline run of its own (plus a re-run with nothing to ingest): what it checks is the whole
path from the landing zone to the marts, which the unit tests (tests/test_landing_edges.py and
the dbt unit test int_calendar__days_ends_on_the_latest_extract_date) cover piece by piece.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli, table_fingerprints
from tests.ingest_helpers import tree_digest

pytestmark = pytest.mark.e2e  # in `make test`: issue 27 cases 1 and 4 end to end (one tiny build and a re-run)

END = "2026-10-31"
FUTURE = "2099-12-31"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, str]:
    from orchestration.lib.demo import generate

    tmp = tmp_path_factory.mktemp("landing_edges")
    landing, data = tmp / "landing", tmp / "data"
    generate(landing, preset="tiny", seed=7, end_date=date.fromisoformat(END), progress=None)
    calls = landing / "helpdesk" / "calls"
    source = max((p for p in calls.glob("*/*.csv") if p.stat().st_size > 200), key=lambda p: p.parent.name)
    day = source.parent.name
    (calls / FUTURE).mkdir()
    (calls / FUTURE / "calls.csv").write_text(source.read_text().replace(day, FUTURE))
    with source.open("a") as fh:  # one far-future timestamp inside an accepted extract
        header = source.read_text().splitlines()[0].split(",")
        row = {"call_id": "call_far_future", "account_id": "", "queue": "support",
               "offered_at": "2078-09-09T10:00:00", "answered_at": "", "ended_at": "2078-09-09T10:05:00",
               "abandoned": "true"}
        fh.write(",".join(row.get(c, "") for c in header) + "\n")
    (calls / "latest").mkdir()
    shutil.copy(source, calls / "latest" / "calls.csv")
    (calls / day / "calls.xlsx").write_bytes(b"PK\x03\x04")
    head, body = source.read_text().split("\n", 1)  # the same calls under other ids, gzipped
    (calls / day / "more.csv.gz").write_bytes(gzip.compress((head + "\n" + body.replace("call_", "gz_")).encode()))
    run_cli("run", landing=landing, data=data)
    return landing, data, day


def query(data: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_mis_dated_extract_is_rejected_and_moves_no_mart(built):
    landing, data, day = built
    ((status, rows_in, error),) = query(
        data, f"select status, rows_in, error from audit.load_log where file = 'helpdesk/calls/{FUTURE}/calls.csv'")
    assert status == "rejected" and rows_in > 0 and f"extract date {FUTURE} is after the run's date" in error
    assert query(data, f"select count(*) from staging.stg_helpdesk__calls where extract_date > date '{END}'") == [(0,)]
    # "as of" is the latest accepted extract date, not the far-future call of 2078
    assert query(data, "select min(as_of_date), max(as_of_date) from marts.dim_accounts") == [
        (date.fromisoformat(END), date.fromisoformat(END))]
    assert query(data, "select max(date_day) from intermediate.int_calendar__days") == [(date.fromisoformat(END),)]
    assert query(data, "select count(*) filter (where is_active_customer) > 0, sum(mrr) > 0 from marts.dim_accounts") == [
        (True, True)]
    assert query(data, "select max(period_start) from marts.metric_values where grain = 'rolling'") == [
        (date.fromisoformat(END),)]


def test_every_landing_file_is_logged_and_a_rerun_changes_nothing(built):
    landing, data, day = built
    files = {p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file()}
    logged = {r[0] for r in query(data, "select file from audit.load_log")}
    assert logged == files
    assert query(data, f"select status from audit.load_log where file = 'helpdesk/calls/{day}/more.csv.gz'") == [
        ("loaded",)]

    audit = {k: v for k, v in table_fingerprints(data / "warehouse.duckdb").items() if k.startswith("audit.")}
    on_disk = tree_digest(data / "raw", data / "audit")
    run_cli("run", landing=landing, data=data)
    assert {k: v for k, v in table_fingerprints(data / "warehouse.duckdb").items() if k.startswith("audit.")} == audit
    assert tree_digest(data / "raw", data / "audit") == on_disk
