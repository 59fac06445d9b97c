"""Run the whole pipeline once: every extract date in the landing zone, then every model.

This is what `make run` and the end-to-end tests call. It uses the same Dagster jobs as the
schedule and sensors, on a persistent Dagster instance (data/dagster_home), so every run shows
up in the UI afterwards:

1. prepare the dbt manifest (a `dbt parse`, before the Dagster definitions are loaded);
2. register the extract dates found in the landing zone as partitions;
3. one ingest run (single-run backfill, in date order) over the extract dates that changed since
   they were ingested, from the earliest changed one on (`landing_state`): a re-run with nothing
   new ingests nothing, a daily run ingests its day. It runs in a child process, so the memory
   ingest's libraries hold is gone before dbt starts (`ingest_process`);
4. one transform run: dbt -> Python models -> dbt. A run Dagster reports as a success still
   fails here when an asset of the job was not materialized (`unmaterialized`).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.lib.core.environment import export_env
from orchestration.lib.core.log import log
from orchestration.lib.core.paths import Paths, current, data_dir_conflict
from orchestration.lib.transform.manifest import prepare_dbt
from orchestration.run.failures import failure_messages, with_broken_rules
from orchestration.run.ingest_process import run_ingest_in_child
from orchestration.run.instance import dagster_home
from orchestration.run.lock import pipeline_lock


@dataclass
class PipelineResult:
    extract_dates: list[str]  # every extract date of the landing zone (or the ones asked for)
    ingest_success: bool
    transform_success: bool
    seconds: float
    # error texts of failed steps and failed dbt nodes, for the CLI's summary and hints
    failures: list[str] = field(default_factory=list)
    ingested_dates: list[str] = field(default_factory=list)  # what this run ingested

    @property
    def success(self) -> bool:
        return self.ingest_success and self.transform_success


# Tags on every run `run_pipeline` starts: which pipeline process owns it, and under which lock.
OWNER_TAG_LOCK = "chw/pipeline_lock"
OWNER_TAG_HOST = "chw/pipeline_host"
OWNER_TAG_PID = "chw/pipeline_pid"


def _lock_file(paths: Paths) -> Path:
    return paths.data / ".pipeline.lock"


def owner_tags(paths: Paths) -> dict[str, str]:
    return {
        OWNER_TAG_LOCK: str(_lock_file(paths)),
        OWNER_TAG_HOST: socket.gethostname(),
        OWNER_TAG_PID: str(os.getpid()),
    }


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _abandoned(run: dg.DagsterRun, paths: Paths) -> bool:
    """Whether an in-progress run was started by a pipeline process that is gone.

    Only runs `run_pipeline` started (owner tags) qualify: runs the Dagster daemon or the UI
    launched on the same instance never hold the pipeline lock and may well be alive.
    - the same lock file: we hold that lock, so its owner is no longer running;
    - another warehouse sharing this DAGSTER_HOME: abandoned only if its process is gone.
    """
    tags = run.tags
    if OWNER_TAG_LOCK not in tags:
        return False
    if tags[OWNER_TAG_LOCK] == str(_lock_file(paths)):
        return True
    try:
        pid = int(tags.get(OWNER_TAG_PID, ""))
    except ValueError:
        return False
    return tags.get(OWNER_TAG_HOST) == socket.gethostname() and not _process_alive(pid)


def release_abandoned_runs(instance: dg.DagsterInstance, paths: Paths) -> None:
    """Mark runs a killed pipeline left "in progress" as failed and free their pool slots.

    A pipeline process killed by SIGKILL (or a power loss) never records its run's end, and its
    claim on the `warehouse` pool (limit 1) stays taken: without this every later run would wait
    for that slot forever. Called while holding the pipeline lock (see `_abandoned` for which
    runs count as abandoned). In-progress runs of other origins are only reported.
    """
    in_progress = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]
        )
    )
    for run in in_progress:
        if _abandoned(run, paths):
            log(f"run {run.run_id} of {run.job_name} was interrupted: marking it failed, freeing its slots")
            instance.report_run_failed(run, message="interrupted (found in progress by the next pipeline run)")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        else:
            log(
                f"run {run.run_id} of {run.job_name} is in progress (not started by this pipeline): if it holds "
                "the warehouse pool, this run waits for it (terminate it in the Dagster UI if it is dead)"
            )


class DataDirInUse(SystemExit):
    """The data directory belongs to another warehouse or landing zone (paths.data_dir_conflict)."""


def refuse_shared_data_dir(paths: Paths) -> None:
    conflict = data_dir_conflict(paths)
    if conflict:
        raise DataDirInUse(f"refused: {conflict}")


def run_pipeline(paths: Paths | None = None, extract_dates: list[str] | None = None) -> PipelineResult:
    """Ingest the given extract dates (default: those of the landing zone that changed since they
    were ingested, see `landing_state.dates_to_ingest`), then build every downstream asset.

    Runs against one warehouse are serialized by a file lock: a second run queues behind the first.
    """
    paths = paths or current()
    refuse_shared_data_dir(paths)
    with pipeline_lock(_lock_file(paths), say=log):
        export_env(paths)
        return _run_pipeline(paths, extract_dates)


def _run_pipeline(paths: Paths, extract_dates: list[str] | None) -> PipelineResult:
    from orchestration.lib.ingest import unplaced
    from orchestration.lib.ingest.discover import discover_extract_dates
    from orchestration.lib.ingest.landing_state import dates_to_ingest

    started = time.monotonic()
    dagster_home(paths)
    log(f"landing zone {paths.landing}")
    prepare_dbt(paths)

    from orchestration.definitions import defs
    from orchestration.defs.partitions import extract_date_partitions

    dates = sorted(extract_dates or discover_extract_dates(paths.landing))
    # every landing file no partition reads (a folder that is not a date, an extract dated after
    # today, ...) is logged as rejected, whether or not anything is ingested in this run
    unplaced.refresh(paths)
    to_ingest = sorted(extract_dates) if extract_dates else dates_to_ingest(paths, dates)
    instance = dg.DagsterInstance.get()
    release_abandoned_runs(instance, paths)
    tags = owner_tags(paths)
    known = set(instance.get_dynamic_partitions(extract_date_partitions.name))
    new = [d for d in dates if d not in known]
    if new:
        instance.add_dynamic_partitions(extract_date_partitions.name, new)

    ingest_ok = True
    failures: list[str] = []
    if dates and not to_ingest:
        log(f"nothing to ingest: the {len(dates)} extract dates, {dates[0]} .. {dates[-1]}, are ingested and unchanged")
    if to_ingest:
        skipped = sum(d < to_ingest[0] for d in dates)
        gone = sorted(set(to_ingest) - set(dates))  # ingested before, their folder deleted since
        also = f" ({skipped} earlier dates ingested and unchanged)" if skipped else ""
        also += f"; withdrawn (folder deleted): {', '.join(gone)}" if gone else ""
        log(f"ingesting {len(to_ingest)} extract dates, {to_ingest[0]} .. {to_ingest[-1]}, in one run{also}")
        # in a child process: the memory of the libraries ingest loads leaves with it (ingest_process)
        ingest = run_ingest_in_child(to_ingest, tags)
        ingest_ok = ingest.success
        failures += ingest.failures
        log(f"ingest run {ingest.run_id or '(none recorded)'}: {'success' if ingest_ok else 'FAILED'}")
        if ingest.run_id is None:  # the child died mid-run: its run must not stay "in progress"
            release_abandoned_runs(instance, paths)
    if not dates:
        log("no extract dates in the landing zone: building empty marts")

    log("building staging, intermediate and marts (dbt) and the Python models")
    transform = defs.resolve_job_def("transform_job").execute_in_process(
        instance=instance, tags=tags, raise_on_error=False
    )
    transform_ok = transform.success
    if transform_ok:
        from orchestration.defs.automation import transform_job

        missing = unmaterialized(transform_job.selection, defs, transform)
        if missing:
            transform_ok = False
            failures.append(f"transform: the run succeeded but {len(missing)} of its assets were not materialized "
                            f"(their previous build is still in place): {', '.join(missing)}")
    log(f"transform run {transform.run_id}: {'success' if transform_ok else 'FAILED'}")
    if not transform.success:
        failures += [with_broken_rules(message, paths) for message in failure_messages(transform)]
    return PipelineResult(dates, ingest_ok, transform_ok, time.monotonic() - started, failures, to_ingest)


def unmaterialized(selection: dg.AssetSelection, defs: dg.Definitions, result: dg.ExecuteInProcessResult) -> list[str]:
    """The assets of `selection` (a job's) a successful run of it did not materialize. dagster-dbt
    learns what dbt built from dbt's log lines: when lines are lost (Spark's own logging once cut
    them on the shared stdout), the step still succeeds, the models it did not hear of yield
    nothing, and the assets downstream of them are skipped, all in a run that reports success.
    Every asset of a full run of the job must have a materialization."""
    expected = selection.resolve(defs.resolve_asset_graph())
    done = {event.asset_key for event in result.get_asset_materialization_events()}
    return sorted(key.to_user_string() for key in expected - done)
