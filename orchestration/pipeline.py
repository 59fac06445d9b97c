"""Run the whole pipeline once: every extract date in the landing zone, then every model.

This is what `make run` and the end-to-end tests call. It uses the same Dagster jobs as the
schedule and sensors, on a persistent Dagster instance (data/dagster_home), so every run shows
up in the UI afterwards:

1. prepare the dbt manifest (a `dbt parse`, before the Dagster definitions are loaded);
2. register the extract dates found in the landing zone as partitions;
3. one ingest run over all of them (single-run backfill), in date order;
4. one transform run: dbt -> Python models -> dbt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.lib.paths import DBT_PROJECT_DIR, PROJECT_ROOT, Paths, current


@dataclass
class PipelineResult:
    extract_dates: list[str]
    ingest_success: bool
    transform_success: bool
    seconds: float
    # error texts of failed steps and failed dbt nodes, for the CLI's summary and hints
    failures: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.ingest_success and self.transform_success


def log(message: str) -> None:
    print(f"[chw {time.strftime('%H:%M:%S')}] {message}", flush=True)


def export_env(paths: Paths) -> None:
    """Make every path absolute and visible to dbt and Dagster child processes."""
    os.environ["CHW_LANDING_DIR"] = str(paths.landing)
    os.environ["CHW_WAREHOUSE"] = str(paths.warehouse)
    os.environ["CHW_DATA_DIR"] = str(paths.data)
    os.environ.update(paths.dbt_env())
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def dagster_home(paths: Paths) -> str:
    """A persistent Dagster instance beside the warehouse, configured by the repo's dagster.yaml."""
    home = os.environ.get("DAGSTER_HOME") or str(paths.data / "dagster_home")
    os.makedirs(home, exist_ok=True)
    target = os.path.join(home, "dagster.yaml")
    if not os.path.exists(target):
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", target)
    os.environ["DAGSTER_HOME"] = home
    return home


def dbt_command(*args: str) -> list[str]:
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    return [dbt, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]


def prepare_dbt(paths: Paths) -> None:
    """Write target/manifest.json, which the Dagster definitions load (dagster-dbt)."""
    export_env(paths)
    subprocess.run(dbt_command("parse", "--quiet"), check=True, env=os.environ.copy())


def release_abandoned_runs(instance: dg.DagsterInstance) -> None:
    """Mark runs a killed pipeline left "in progress" as failed and free their pool slots.

    Called while holding the pipeline lock, so no other run on this warehouse is alive: a run
    still recorded as started was killed (SIGKILL, power loss). Without this its claim on the
    `warehouse` pool (limit 1) would stay taken and every later run would wait for it forever.
    """
    stale = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]
        )
    )
    for run in stale:
        log(f"run {run.run_id} of {run.job_name} was interrupted: marking it failed, freeing its slots")
        instance.report_run_failed(run, message="interrupted (found in progress by the next pipeline run)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def run_pipeline(paths: Paths | None = None, extract_dates: list[str] | None = None) -> PipelineResult:
    """Ingest the given (default: all) extract dates, then build every downstream asset.

    Runs against one warehouse are serialized by a file lock: a second run queues behind the first.
    """
    from orchestration.lib.run_lock import pipeline_lock

    paths = paths or current()
    with pipeline_lock(paths.data / ".pipeline.lock", say=log):
        return _run_pipeline(paths, extract_dates)


def _run_pipeline(paths: Paths, extract_dates: list[str] | None) -> PipelineResult:
    from orchestration.lib.ingest.discover import discover_extract_dates

    started = time.monotonic()
    export_env(paths)
    dagster_home(paths)
    log(f"landing zone {paths.landing}")
    prepare_dbt(paths)

    from orchestration.definitions import defs
    from orchestration.defs.partitions import extract_date_partitions

    dates = sorted(extract_dates or discover_extract_dates(paths.landing))
    instance = dg.DagsterInstance.get()
    release_abandoned_runs(instance)
    known = set(instance.get_dynamic_partitions(extract_date_partitions.name))
    new = [d for d in dates if d not in known]
    if new:
        instance.add_dynamic_partitions(extract_date_partitions.name, new)

    ingest_ok = True
    failures: list[str] = []
    if dates:
        log(f"ingesting {len(dates)} extract dates, {dates[0]} .. {dates[-1]}, in one run")
        from orchestration.defs.automation import one_planned_event_per_asset

        with one_planned_event_per_asset():  # not one planned event per asset x extract date
            ingest = defs.get_job_def("ingest_job").execute_in_process(
                instance=instance,
                tags={"dagster/asset_partition_range_start": dates[0], "dagster/asset_partition_range_end": dates[-1]},
                raise_on_error=False,
            )
        ingest_ok = ingest.success
        failures += _failure_messages(ingest)
        log(f"ingest run {ingest.run_id}: {'success' if ingest_ok else 'FAILED'}")
    else:
        log("no extract dates in the landing zone: building empty marts")

    log("building staging, intermediate and marts (dbt) and the Python models")
    transform = defs.get_job_def("transform_job").execute_in_process(instance=instance, raise_on_error=False)
    log(f"transform run {transform.run_id}: {'success' if transform.success else 'FAILED'}")
    if not transform.success:
        failures += _failure_messages(transform) + _dbt_errors(transform.run_id)
    return PipelineResult(dates, ingest_ok, transform.success, time.monotonic() - started, failures)


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error of every failed step of a run (e.g. a failed blocking asset check)."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            out.append(f"{event.step_key}: {error.to_string() if error else event.message}")
    return out


def _dbt_errors(run_id: str) -> list[str]:
    """Messages of dbt nodes that errored in a run: dagster-dbt writes each invocation's
    run_results.json under target/<assets name>-<run id prefix>-<invocation>/."""
    import json

    out = []
    for results in sorted(Path(DBT_PROJECT_DIR, "target").glob(f"*-{run_id[:7]}-*/run_results.json")):
        try:
            data = json.loads(results.read_text())
        except (OSError, ValueError):
            continue
        out += [f"{r.get('unique_id')}: {r.get('message')}" for r in data.get("results", []) if r.get("status") == "error"]
    return out
