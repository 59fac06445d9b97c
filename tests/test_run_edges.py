"""The run driver at its edges (issue 27): nothing lost or silently wrong.

One tiny landing zone whose `crm/tasks` feed stopped ten days before its newest extract, built
once (`cli run`, as `make run` does) and then changed the ways the issue found wrong:

- the summary names every rejected file with its reason and every stale feed with its lag, and
  the run still exits 0;
- a second warehouse put in the same folder is refused before it touches the first's data dir;
- rows appended to a 17-day-old responses extract and the 16-day-old one re-sent without its
  key column (rejected: its raw partition goes), both older than the incremental lookback: the
  next run rebuilds the incremental models in full by itself, says so, and staging and marts
  follow raw; the same when new_extracts_sensor's ingest run and then the transform run its
  follow-up sensor requests do it, without the CLI;
- a truncated warehouse fails with a hint to delete it; deleted, the next run rebuilds it from
  raw, table for table the same as the warehouse the incremental runs left.

Four full runs of the tiny preset (the build, the re-send, the truncated warehouse, the rebuild)
and one ingest + transform the way the sensors start them share one data dir; the refused run
stops before any work.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, pipeline_env, run_cli, table_fingerprints

pytestmark = pytest.mark.e2e

STOPPED = "crm/tasks"  # the feed that stopped
STOPPED_DAYS = 10
OLD = 17  # days before the newest extract: older than incremental_lookback_days (7)


def extract_dates(landing: Path) -> list[str]:
    return sorted({p.name for p in landing.glob("*/*/*") if p.is_dir()})


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from orchestration.lib.demo import generate

    root = tmp_path_factory.mktemp("edges")
    landing, data = root / "landing", root / "data"
    generate(landing, preset="tiny", seed=7, end_date=date(2026, 10, 31), progress=None)
    dates = extract_dates(landing)
    for day in dates[-STOPPED_DAYS:]:
        shutil.rmtree(landing / STOPPED / day, ignore_errors=True)
    run = run_cli("run", landing=landing, data=data)
    return {"root": root, "landing": landing, "data": data, "dates": dates, "out": run.stdout}


def test_summary_names_stale_feeds_and_rejected_files(built):
    """A feed stopped for 10 days: the run exits 0 (run_cli checks) and its summary names the feed
    with its lag; every rejected file of audit.load_log is named with its reason."""
    out, newest = built["out"], built["dates"][-1]
    last_sent = built["dates"][-STOPPED_DAYS - 1]
    assert (
        f"STALE       {STOPPED}: newest extract {last_sent}, {STOPPED_DAYS} days behind the landing zone's newest ({newest}"
        in out
    ), out[-3000:]
    assert out.count("STALE ") == 1, out[-3000:]  # the other feeds are within their allowed lag
    rejected = query(built["data"] / "warehouse.duckdb", "select file, error from audit.load_log where status = 'rejected'")
    assert rejected, "the tiny preset carries a rejected file (a missing required column)"
    for file, error in rejected:
        assert f"REJECTED    {file}: {' '.join(error.split())}" in out, out[-3000:]


def test_a_second_warehouse_in_the_same_folder_is_refused(built):
    """Another landing zone's warehouse put beside the first (data dir by default its folder):
    refused at once, with what to do, and the first one's data dir is left as it was."""
    from orchestration.lib.demo import generate

    data = built["data"]
    other_landing = built["root"] / "landing_other"
    generate(other_landing, preset="tiny", seed=8, end_date=date(2026, 9, 30), progress=None)
    env = pipeline_env(other_landing, data)
    env["CHW_WAREHOUSE"] = str(data / "other.duckdb")
    del env["CHW_DATA_DIR"]  # the default: the warehouse's folder
    before = sorted(p.relative_to(data) for p in (data / "audit").rglob("*"))
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0, said[-3000:]
    assert f"holds the raw, audit and run state of warehouse {data / 'warehouse.duckdb'}" in said, said[-3000:]
    assert f"CHW_DATA_DIR={data / 'other_data'}" in said, said[-3000:]
    assert not (data / "other.duckdb").exists()
    assert sorted(p.relative_to(data) for p in (data / "audit").rglob("*")) == before


@pytest.fixture(scope="module")
def resent(built):
    """Rows appended to a 17-day-old responses extract; the 16-day-old one re-sent without its key
    column (rejected whole: its raw partition goes). Both lie before the incremental cutoff (the
    newest extract minus 7 days). Then `cli run`."""
    landing, data, dates = built["landing"], built["data"], built["dates"]
    day, rejected_day = dates[-1 - OLD], dates[-OLD]
    folder = landing / "survey" / "responses"
    responses = next((folder / day).glob("*.csv"))
    with responses.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    added = [{**row, "response_id": f"rsp_late_{i}"} for i, row in enumerate(rows[:3])]
    with responses.open("a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=list(rows[0])).writerows(added)

    warehouse = data / "warehouse.duckdb"
    only_there = {r[0] for r in query(warehouse, f"""
        select response_id from read_parquet('{data}/raw/survey/responses/*/*.parquet') group by response_id
        having min(_extract_date) = cast(? as date) and max(_extract_date) = cast(? as date)""",
        [rejected_day, rejected_day])}
    assert only_there and only_there <= {r[0] for r in query(warehouse, "select response_id from marts.fct_survey_responses")}
    # every file of that day re-sent without the key column (the demo writes CSV and JSONL there)
    for resend in sorted((folder / rejected_day).iterdir()):
        if resend.suffix == ".jsonl":
            lines = [json.loads(x) for x in resend.read_text(encoding="utf-8").splitlines() if x.strip()]
            resend.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "response_id"}) + "\n"
                                      for r in lines), encoding="utf-8")
            continue
        with resend.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        kept = [c for c in rows[0] if c != "response_id"]
        with resend.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=kept, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    run = run_cli("run", landing=landing, data=data)
    return {"day": day, "rejected_day": rejected_day, "added": [r["response_id"] for r in added], "gone": only_there,
            "out": run.stdout}


def test_old_resent_and_rejected_extracts_rebuild_what_they_reach(built, resent):
    """Both changes are older than the lookback: the run rebuilds the incremental models in full by
    itself and says why; staging and marts then hold exactly what raw holds."""
    warehouse = built["data"] / "warehouse.duckdb"
    raw = f"{built['data']}/raw/survey/responses/*/*.parquet"
    (loaded,) = query(warehouse, f"select count(*) from read_parquet('{raw}') where response_id like 'rsp_late_%'")[0]
    assert loaded == 3, "the appended rows are in raw"
    assert not query(warehouse, f"select 1 from read_parquet('{raw}') where _extract_date = ?", [resent["rejected_day"]])
    facts = {r[0] for r in query(warehouse, "select response_id from marts.fct_survey_responses")}
    assert set(resent["added"]) <= facts
    assert not resent["gone"] & facts, "a response only the rejected extract held is still in the marts"
    # staging holds each response raw holds, in its latest extract's version
    assert query(warehouse, f"""
        select response_id, max(_extract_date) from read_parquet('{raw}') group by all
        except select response_id, extract_date from staging.stg_survey__responses""") == []
    assert query(warehouse, f"""
        select response_id, extract_date from staging.stg_survey__responses
        except select response_id, max(_extract_date) from read_parquet('{raw}') group by all""") == []

    out = resent["out"]
    line = next((x for x in out.splitlines() if "rebuilt in full" in x), "")
    assert "dbt_warehouse: rebuilt in full (dbt --full-refresh)" in line, out[-4000:]
    assert f"survey__responses {resent['day']} re-sent" in line, line
    assert f"survey__responses {resent['rejected_day']} re-sent" in line, line
    assert "stg_survey__responses" in line and "fct_survey_responses" in line, line


SENSOR_THEN_TRANSFORM = textwrap.dedent("""
    import dagster as dg
    from orchestration.lib.core.paths import current
    from orchestration.run.instance import dagster_home
    from orchestration.lib.core.environment import export_env
    from orchestration.lib.transform.manifest import prepare_dbt

    paths = current()
    export_env(paths)
    dagster_home(paths)
    prepare_dbt(paths)
    from orchestration.definitions import defs
    from orchestration.defs.automation import new_extracts_sensor

    instance = dg.DagsterInstance.get()
    # what the daemon does: the sensor's run request, then the run transform_after_ingest requests
    result = new_extracts_sensor(dg.build_sensor_context(instance=instance))
    (request,) = result.run_requests
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    transform = defs.resolve_job_def("transform_job").execute_in_process(instance=instance, raise_on_error=False)
    for failed in [e for run in (ingest, transform) for e in run.all_events if e.event_type_value == "STEP_FAILURE"]:
        print("STEP FAILED", failed.step_key, failed.event_specific_data.error.to_string()[-1500:])
    print("RESULT", ingest.success, transform.success)
""")


def test_the_sensor_and_its_transform_run_rebuild_in_full_too(built, resent):
    """Without the CLI: new_extracts_sensor's ingest run, then the transform run its follow-up
    sensor starts (no tags, no run config), after a row was appended to an 18-day-old extract."""
    landing, data = built["landing"], built["data"]
    day = built["dates"][-2 - OLD]
    responses = next((landing / "survey" / "responses" / day).glob("*.csv"))
    with responses.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with responses.open("a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=list(rows[0])).writerow({**rows[0], "response_id": "rsp_sensor_0"})
    # a script file, not `python -c`: pyspark (the Spark extra), which great-expectations imports
    # when installed, exits a process whose __main__ has no file, taking it for a doctest run
    script = built["root"] / "sensor_then_transform.py"
    script.write_text(SENSOR_THEN_TRANSFORM, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=pipeline_env(landing, data),
                          capture_output=True, text=True, timeout=1800)
    failures = "\n".join(x for x in proc.stdout.splitlines() if x.startswith(("STEP FAILED", "RESULT")))
    assert "RESULT True True" in proc.stdout, failures + proc.stdout[-3000:] + proc.stderr[-3000:]
    warehouse = data / "warehouse.duckdb"
    assert query(warehouse, "select count(*) from marts.fct_survey_responses where response_id = 'rsp_sensor_0'") == [(1,)]
    line = next((x for x in proc.stdout.splitlines() if "rebuilt in full" in x), "")
    assert "dbt_warehouse: rebuilt in full (dbt --full-refresh)" in line and f"survey__responses {day} re-sent" in line, line


def test_truncated_warehouse_says_delete_it_and_the_rebuild_is_identical(built, resent):
    """A truncated warehouse: the run fails naming the file and saying that deleting it rebuilds it
    from raw. Deleted, the next run rebuilds every table the same as the incremental runs left them."""
    data = built["data"]
    warehouse = data / "warehouse.duckdb"
    reference = table_fingerprints(warehouse)
    with warehouse.open("r+b") as fh:
        fh.truncate(warehouse.stat().st_size // 2)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=ROOT, env=pipeline_env(built["landing"], data),
        capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f"The warehouse file {warehouse} cannot be read" in proc.stdout, proc.stdout[-3000:]
    assert f"rm -f {warehouse}" in proc.stdout and "rebuilds it from raw" in proc.stdout, proc.stdout[-3000:]

    warehouse.unlink()
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
    run_cli("run", landing=built["landing"], data=data)
    rebuilt = table_fingerprints(warehouse)
    assert rebuilt.keys() == reference.keys()
    assert {k: v for k, v in rebuilt.items() if v != reference[k]} == {}


def test_full_refresh_needed_only_for_changes_at_or_before_the_cutoff():
    from orchestration.lib.transform.transform_state import full_refresh_needed

    before = {"survey__responses": {"2026-10-14": "a", "2026-10-30": "b", "2026-10-31": "c"},
              "crm__tasks": {"2026-10-20": "d"}}
    assert full_refresh_needed(None, before, 7) is None  # a first build is a full build anyway
    assert full_refresh_needed(before, before, 7) is None
    within = {**before, "survey__responses": {**before["survey__responses"], "2026-10-30": "x", "2026-11-01": "y"}}
    assert full_refresh_needed(before, within, 7) is None  # what the incremental models read again
    edge = {**before, "crm__tasks": {"2026-10-24": "late"}}  # 10-20 withdrawn, 10-24 arrived: cutoff is 10-24
    decision = full_refresh_needed(before, edge, 7)
    assert decision.cutoff == "2026-10-24" and decision.earliest == "2026-10-20"
    assert decision.changes == (("crm__tasks", "2026-10-20", "withdrawn"), ("crm__tasks", "2026-10-24", "arrived late"))
    resent = {**before, "survey__responses": {**before["survey__responses"], "2026-10-14": "z"}}
    assert full_refresh_needed(before, resent, 7).changes == (("survey__responses", "2026-10-14", "re-sent"),)
    assert full_refresh_needed(before, resent, 20) is None  # a longer lookback reaches it


def test_stale_feeds_by_kind_and_per_entity_limit(monkeypatch):
    from orchestration.lib.core import settings
    from orchestration.lib.ingest import feed_lag

    newest = {("crm", "tasks"): "2026-10-21", ("crm", "accounts"): "2026-10-26", ("product", "events"): "2026-10-31",
              ("helpdesk", "calls"): "2026-10-29"}
    stale = feed_lag.stale_feeds(newest)
    assert [(f.entity, f.lag_days, f.max_lag_days) for f in stale] == [("crm/tasks", 10, 2)]
    conf = {**settings.load(), "freshness_max_lag_days": {**settings.load()["freshness_max_lag_days"], "crm__tasks": 14}}
    monkeypatch.setattr(settings, "load", lambda: conf)
    assert feed_lag.stale_feeds(newest) == []


def test_warehouse_damage_is_recognised_whether_or_not_the_file_opens(tmp_path):
    """Cut inside its catalog, the file does not open; cut after it, it opens and the first model
    reading past the cut fails: both are named damage, a lock held by another process is not."""
    from orchestration.cli import _warehouse_damage
    from orchestration.lib.core.paths import Paths

    paths = Paths(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse.duckdb", data=tmp_path)
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create table t as select range as i from range(200000)")
    read_past_cut = (f'dbt_warehouse: Runtime Error in model stg_x (models/x.sql) IO Error: Could not read enough bytes '
                     f'from file "{paths.warehouse}": attempted to read 262144 bytes from location 35401728')
    locked = f'dbt_warehouse: IO Error: Could not set lock on file "{paths.warehouse}": Conflicting lock is held'
    assert _warehouse_damage(paths, []) is None
    assert _warehouse_damage(paths, [locked]) is None
    assert "Could not read enough bytes" in _warehouse_damage(paths, ["other\n" + read_past_cut])
    with paths.warehouse.open("r+b") as fh:
        fh.truncate(1000)
    assert _warehouse_damage(paths, []) is not None
