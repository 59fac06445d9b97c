"""Fault tests: the real pipeline (`python -m orchestration.cli run`, as `make run`) in subprocesses,
on one generated "tiny" landing zone (20 accounts x 20 extract dates), under the faults a warehouse
meets in operation:

1. two runs launched at once on one data dir queue on the run lock instead of failing;
2. a run killed (SIGKILL to its whole process group) while dbt is building, then re-run; and one
   interrupted (SIGINT, Ctrl-C), which stops at once and says what it left;
3. DuckDB under a memory limit too low for the build (CHW_DUCKDB_MEMORY_LIMIT);
4. an extract with ~30 % invalid survey responses: the blocking check holds back that day's
   health scoring while the other days proceed;
5. a write-ahead log cut short beside the warehouse (a writer that died mid-write): the next run
   recovers.

Full runs cost minutes on a loaded 2-core machine, so the runs are shared: the queued pair of
runs (1) builds the reference warehouse, and (2) and (3) start from copies of it, which also gives
them a previous serving copy whose survival they can check.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, pipeline_env, run_cli, table_fingerprints

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLI = [sys.executable, "-m", "orchestration.cli", "run"]
BAD_DAY = "2026-10-14"  # the tiny preset's busiest survey day (7 responses)
OUT_OF_SCALE = 2  # of 7 responses: 29 % invalid, over quarantine_block_pct (20)


def marts(fingerprints: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {k: v for k, v in fingerprints.items() if k.startswith("marts.")}


def leftover_relations(warehouse: Path) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name like '%\\_\\_dbt\\_tmp%' escape '\\' or table_name like '%\\_\\_dbt\\_backup%' escape '\\'"
        ).fetchall()]
    finally:
        con.close()


def in_progress_runs(data: Path) -> list[str]:
    """Runs the Dagster instance of `data` still records as started (nobody alive runs them)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        return [f"{r.job_name} {r.run_id}" for r in instance.get_runs(filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]
        ))]


def serving_file(data: Path) -> Path:
    return data / "serving" / "chw.duckdb"


class Run:
    """A pipeline subprocess in its own process group, its output collected line by line."""

    def __init__(self, landing: Path, data: Path, **env: str):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            CLI, cwd=ROOT, env={**pipeline_env(landing, data), **env}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait(self, timeout: float = 1500) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        self._reader.join(timeout=10)
        return rc

    def wait_for(self, predicate, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.output):
            if self.proc.poll() is not None:
                self._reader.join(timeout=10)
                if predicate(self.output):
                    return
                pytest.fail(f"pipeline exited {self.proc.returncode} before the awaited point:\n{self.output[-4000:]}")
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, signal.SIGKILL)
                pytest.fail(f"awaited point not reached in {timeout} s:\n{self.output[-4000:]}")
            time.sleep(0.2)


def wait_until_dbt_writes(run: Run, warehouse: Path) -> float:
    """Wait until the run's transform has started and dbt writes the warehouse; returns when the
    transform started (time.monotonic()). dbt's own output reaches the CLI's stdout only when its
    Dagster step ends, so the warehouse is watched instead: a write-ahead log (or a checkpoint)
    means dbt is replacing tables."""
    run.wait_for(lambda out: "building staging" in out)
    wal = warehouse.with_name(warehouse.name + ".wal")
    mtime = warehouse.stat().st_mtime
    started = time.monotonic()

    def writing() -> bool:
        return wal.exists() or warehouse.stat().st_mtime != mtime

    while not writing() and time.monotonic() - started < 300 and run.proc.poll() is None:
        time.sleep(0.1)
    assert writing(), "dbt never started writing the warehouse"
    return started


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from orchestration.lib.demo import generate

    out = tmp_path_factory.mktemp("faults") / "landing"
    generate(out, preset="tiny", seed=7, end_date=date(2026, 10, 31), progress=None)
    return out


@pytest.fixture(scope="module")
def queued(landing, tmp_path_factory):
    """Two `make run`s started at once on one data dir (from scratch): the reference warehouse."""
    data = tmp_path_factory.mktemp("queued") / "data"
    runs = [Run(landing, data) for _ in range(2)]
    codes = [r.wait() for r in runs]
    warehouse = data / "warehouse.duckdb"
    return {
        "data": data,
        "runs": runs,
        "codes": codes,
        "fingerprints": table_fingerprints(warehouse),
        "serving": marts(table_fingerprints(serving_file(data))),
    }


def test_two_runs_at_once_queue_instead_of_failing(queued):
    """Both exit 0; the one that lost the race says it waited for the lock; afterwards the warehouse
    is whole (no leftover dbt relations, counts reconcile) and the serving copy matches it."""
    runs, codes = queued["runs"], queued["codes"]
    assert codes == [0, 0], "\n=====\n".join(r.output[-3000:] for r in runs)
    waited = [r for r in runs if "another pipeline run holds" in r.output and "waiting" in r.output]
    assert len(waited) == 1, [r.output[:1500] for r in runs]
    assert "lock acquired after" in waited[0].output
    warehouse = queued["data"] / "warehouse.duckdb"
    assert leftover_relations(warehouse) == []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute(
            "select count(*) from audit.load_log where status = 'loaded' and rows_in <> rows_loaded + rows_quarantined"
        ).fetchone()[0] == 0
        assert con.execute("select count(*) from marts.account_health").fetchone()[0] > 0
    finally:
        con.close()
    assert marts(queued["fingerprints"]) == queued["serving"], "serving copy differs from the warehouse's marts"


def test_run_killed_mid_build_then_rerun(queued, landing, tmp_path):
    """SIGKILL to the whole process group while dbt builds (a re-run over a built warehouse, so
    dbt is replacing tables: the moment temporary `__dbt_tmp`/`__dbt_backup` relations exist).
    The serving copy stays the complete previous one; a re-run leaves no temporary relation
    (the on-run-start hook drop_leftover_relations) and marts identical to the clean reference."""
    data = tmp_path / "data"
    shutil.copytree(queued["data"], data)
    old_serving = marts(table_fingerprints(serving_file(data)))

    run = Run(landing, data)
    started = wait_until_dbt_writes(run, data / "warehouse.duckdb")
    time.sleep(3)  # a few models into the build
    print(f"killing {time.monotonic() - started:.0f} s after the transform started")
    os.killpg(run.proc.pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert "transform run" not in run.output, "killed too late: the transform had finished"

    assert marts(table_fingerprints(serving_file(data))) == old_serving, "serving copy changed by a killed run"
    assert not list(serving_file(data).parent.glob("chw.duckdb.tmp*")), "a half-written serving copy was left"
    left_by_kill = leftover_relations(data / "warehouse.duckdb")
    print(f"relations left by the killed run: {left_by_kill}")

    rerun = run_cli("run", landing=landing, data=data)
    # the killed transform run was left "started", holding the warehouse pool: the re-run must
    # have released it (else it would have waited for the slot forever)
    assert "was interrupted: marking it failed" in rerun.stdout, rerun.stdout[-3000:]
    assert in_progress_runs(data) == []
    assert leftover_relations(data / "warehouse.duckdb") == []
    again = marts(table_fingerprints(data / "warehouse.duckdb"))
    reference = marts(queued["fingerprints"])
    assert again.keys() == reference.keys()
    assert {k for k in reference if again[k] != reference[k]} == set()
    assert marts(table_fingerprints(serving_file(data))) == reference


def test_ctrl_c_mid_build_stops_the_run_at_once_and_says_so(queued, landing, tmp_path):
    """SIGINT to the whole process group (what Ctrl-C in a terminal sends) while dbt builds: the
    run stops within seconds (DuckDB is interrupted, not waited for), exits 1 naming the step and
    what it left, records its Dagster runs as ended (nothing for the next run to release), keeps
    the previous serving copy; a re-run gives the reference marts."""
    data = tmp_path / "data"
    shutil.copytree(queued["data"], data)
    old_serving = marts(table_fingerprints(serving_file(data)))
    warehouse = data / "warehouse.duckdb"

    run = Run(landing, data)
    wait_until_dbt_writes(run, warehouse)
    time.sleep(3)  # a few models into the build
    os.killpg(run.proc.pid, signal.SIGINT)
    interrupted = time.monotonic()
    assert run.wait(timeout=120) == 1, run.output[-3000:]
    stopped_in = time.monotonic() - interrupted
    print(f"stopped {stopped_in:.1f} s after SIGINT")
    assert stopped_in < 30, run.output[-3000:]
    assert "transform run" in run.output and "FAILED" in run.output, run.output[-3000:]
    assert "dbt_warehouse: interrupted (SIGINT" in run.output, run.output[-3000:]
    assert in_progress_runs(data) == []
    assert marts(table_fingerprints(serving_file(data))) == old_serving, "serving copy changed by an interrupted run"

    rerun = run_cli("run", landing=landing, data=data)
    assert "was interrupted: marking it failed" not in rerun.stdout
    assert leftover_relations(warehouse) == []
    assert marts(table_fingerprints(warehouse)) == marts(queued["fingerprints"])


def test_memory_limit_too_low_fails_clearly_and_keeps_previous_marts(queued, landing, tmp_path):
    """CHW_DUCKDB_MEMORY_LIMIT=10MB: on this data DuckDB cannot even build staging (measured:
    "Out of Memory Error: could not allocate block of size 256.0 KiB (9.3 MiB/9.5 MiB used)"),
    whereas 80MB and up spill and finish. The run must then fail with a message naming the
    limit and how to raise it, and leave the previous marts and serving copy as they were.
    (Should DuckDB manage within the limit after all, the run must simply succeed.)"""
    data = tmp_path / "data"
    shutil.copytree(queued["data"], data)
    before_serving = marts(table_fingerprints(serving_file(data)))
    before_marts = marts(table_fingerprints(data / "warehouse.duckdb"))

    run = Run(landing, data, CHW_DUCKDB_MEMORY_LIMIT="10MB")
    code = run.wait()
    out = run.output
    if code == 0:  # spilled and finished
        assert marts(table_fingerprints(data / "warehouse.duckdb")) == before_marts
        return
    assert "Pipeline FAILED" in out
    assert "DuckDB ran out of memory" in out and "CHW_DUCKDB_MEMORY_LIMIT" in out and "10MB" in out, out[-3000:]
    assert marts(table_fingerprints(serving_file(data))) == before_serving
    assert marts(table_fingerprints(data / "warehouse.duckdb")) == before_marts
    assert leftover_relations(data / "warehouse.duckdb") == []


# A writer that dies mid-write, as dbt does when killed: it replaces a mart with itself and leaves
# a temporary relation, in two transactions logged to the WAL and never checkpointed.
WAL_WRITER = textwrap.dedent("""
    import os, sys
    import duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("set checkpoint_threshold = '100GB'")  # keep every change in the WAL
    con.execute("create table marts.alerts__dbt_tmp as select * from marts.alerts")
    con.execute("create or replace table marts.metric_values as select * from marts.metric_values")
    os._exit(0)  # no close, no checkpoint: the process is gone, the WAL stays
""")


def test_wal_cut_short_is_survived(queued, landing, tmp_path):
    """The warehouse's write-ahead log cut in the middle of its last transaction (what a crash or
    a full disk leaves: an entry written half). DuckDB replays the complete entries and drops the
    torn tail (on DuckDB 2.0.0; a WAL whose bytes were overwritten fails its checksum instead, and
    the warehouse must be restored), so the next run opens the warehouse, succeeds, drops the
    leftover temporary relation and ends with the reference marts and serving copy."""
    data = tmp_path / "data"
    shutil.copytree(queued["data"], data)
    warehouse = data / "warehouse.duckdb"
    wal = warehouse.with_name(warehouse.name + ".wal")
    subprocess.run([sys.executable, "-c", WAL_WRITER, str(warehouse)], check=True, timeout=300)
    size = wal.stat().st_size
    assert size > 4096, f"the writer left a WAL of {size} bytes"
    os.truncate(wal, size * 3 // 4)  # inside the last transaction, the mart's new rows
    # what the run will find (opened on copies): the first transaction replayed, the torn one not
    probe = tmp_path / "probe"
    probe.mkdir()
    shutil.copy(warehouse, probe / warehouse.name)
    shutil.copy(wal, probe / wal.name)
    assert leftover_relations(probe / warehouse.name) == ["marts.alerts__dbt_tmp"]

    rerun = run_cli("run", landing=landing, data=data)
    assert "Pipeline finished" in rerun.stdout, rerun.stdout[-3000:]
    assert leftover_relations(warehouse) == []
    reference = marts(queued["fingerprints"])
    assert marts(table_fingerprints(warehouse)) == reference
    assert marts(table_fingerprints(serving_file(data))) == reference


INGEST_ONE_DAY = textwrap.dedent("""
    import json, sys
    import dagster as dg
    from orchestration.lib.core.paths import current
    from orchestration.run.instance import dagster_home
    from orchestration.lib.core.environment import export_env
    from orchestration.lib.transform.manifest import prepare_dbt
    from orchestration.lib.ingest.discover import discover_extract_dates

    paths = current()
    export_env(paths)
    dagster_home(paths)
    prepare_dbt(paths)
    from orchestration.definitions import defs
    from orchestration.defs.partitions import extract_date_partitions

    instance = dg.DagsterInstance.get()
    dates = sorted(discover_extract_dates(paths.landing))
    instance.add_dynamic_partitions(extract_date_partitions.name, dates)
    # the days before, ingested earlier (surveys are validated as known on each day)
    before = [d for d in dates if d < min(sys.argv[1:])]
    history = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": before[0], "dagster/asset_partition_range_end": before[-1]})
    assert history.success
    out = {}
    for day in sys.argv[1:]:
        # what new_extracts_sensor requests for one new extract folder
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, partition_key=day, raise_on_error=False)
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()
                  if e.asset_key.path == ["raw", "survey", "responses"]}
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        out[day] = {"success": result.success, "checks": checks, "failed_steps": failed}
    print("RESULT " + json.dumps(out))
""")


def _make_bad_extract(landing: Path, target: Path) -> Path:
    """A copy of the landing zone where BAD_DAY's responses have OUT_OF_SCALE scores of 99."""
    import csv

    shutil.copytree(landing, target)
    (path,) = (target / "survey" / "responses" / BAD_DAY).glob("*.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 5, f"{BAD_DAY} has only {len(rows)} responses"
    for row in rows[:OUT_OF_SCALE]:
        row["score"] = "99"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_invalid_extract_blocks_that_days_health_scoring_only(queued, landing, tmp_path):
    """One extract date's survey responses are ~30 % out of scale (2 of 7 scores = 99).

    What "that day's downstream health scoring" means here: the health score *as of that day*
    (marts.account_health rows with as_of_date = the extract date) is withheld, so the CS team sees
    the previous day's score as the latest rather than one computed from a suspect extract; the
    days before and after are scored as usual (withholding every later day would freeze health
    scoring for good until someone repairs an old file). The responses that passed validation
    stay in raw; the quarantined ones are in audit.quarantine.

    (a) Daily operation: new_extracts_sensor starts ingest_job for the one new partition. For the
        bad day the blocking check scale_consistency fails, the step and the run fail, so
        transform_after_ingest (it listens for SUCCESS) does not start the downstream run; the
        run for another day succeeds.
    (b) `make run` over every extract date in one single-run backfill: the check fails for the
        run (it covers all its partitions), which is therefore reported failed (exit 1, with the
        blocked date named), but the transform still runs for all the other days, and
        account_health has no rows for the bad day only. The same rule (quarantined share of the
        extract > quarantine_block_pct, from audit.load_log) is applied by the dbt model
        int_health__blocked_extract_dates, so it also holds when the daily schedule rebuilds the
        marts after a failed ingest run.
    """
    bad_landing = tmp_path / "landing"
    _make_bad_extract(landing, bad_landing)
    data = tmp_path / "data"
    good_day = "2026-10-15"

    # (a) one partition per run, as the sensor does it
    # a script file, not `python -c`: see test_run_edges (pyspark exits a __main__ without a file)
    script = tmp_path / "ingest_one_day.py"
    script.write_text(INGEST_ONE_DAY, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), BAD_DAY, good_day], cwd=ROOT,
        env=pipeline_env(bad_landing, data), capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert result[BAD_DAY]["checks"]["scale_consistency"] is False
    assert result[BAD_DAY]["success"] is False
    assert any("survey" in s and "responses" in s for s in result[BAD_DAY]["failed_steps"])
    assert result[good_day] == {"success": True, "checks": result[good_day]["checks"], "failed_steps": []}
    assert result[good_day]["checks"]["scale_consistency"] is True

    # (b) the whole landing zone in one backfill run
    run = Run(bad_landing, data)
    code = run.wait()
    out = run.output
    assert code == 1, out[-3000:]
    assert "transform run" in out and "FAILED" not in out.split("transform run", 1)[1].splitlines()[0], out[-3000:]
    assert "BLOCKED" in out and BAD_DAY in out.split("BLOCKED", 1)[1].splitlines()[0], out[-3000:]
    assert "scale_consistency" in out

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        days = dict(con.execute(
            "select cast(as_of_date as varchar), count(*) from marts.account_health group by 1"
        ).fetchall())
        quarantined = con.execute(
            "select count(*) from audit.quarantine where entity = 'responses' and extract_date = ?", [BAD_DAY]
        ).fetchone()[0]
    finally:
        con.close()
    ref = duckdb.connect(str(queued["data"] / "warehouse.duckdb"), read_only=True)
    try:
        ref_days = dict(ref.execute(
            "select cast(as_of_date as varchar), count(*) from marts.account_health group by 1"
        ).fetchall())
    finally:
        ref.close()
    assert quarantined >= OUT_OF_SCALE
    assert ref_days.get(BAD_DAY, 0) > 0, "the clean run scores the day: nothing to withhold"
    assert BAD_DAY not in days
    for other in ("2026-10-13", good_day, "2026-10-31"):
        assert days.get(other, 0) == ref_days.get(other, 0) > 0, other
