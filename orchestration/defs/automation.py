"""Jobs, the daily schedule and the sensors that keep the warehouse current.

- `ingest_job`: the ingest assets for a range of extract dates (one run: single-run backfill).
- `transform_job`: everything downstream (dbt, Python models), unpartitioned.
- `new_extracts_sensor`: ingests new and re-sent extracts (registering new dates as partitions).
- `transform_after_ingest`: when an ingest run succeeds, rebuilds the marts.
- `daily_transform_schedule`: rebuilds the marts daily even without new data (alert statuses age).
- `run_failure_pager`: appends each failed run to the outbox's failure feed, for paging.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from orchestration.defs.partitions import extract_date_partitions
from orchestration.lib.core.paths import current
from orchestration.lib.ingest.discover import discover_extract_dates
from orchestration.lib.ingest.landing_state import dates_to_ingest, landing_digest

INGEST = dg.AssetSelection.groups("raw")
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=INGEST,
    partitions_def=extract_date_partitions,
    description="Landing files of a range of extract dates -> validated raw Parquet + audit files.",
)

transform_job = dg.define_asset_job(
    "transform_job",
    selection=dg.AssetSelection.all() - INGEST,
    description="dbt staging -> intermediate -> marts, Python models, outbox.",
)


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run cover every partition from first to last (single-run backfill)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


PLANNED_EVENTS_AS_SUBSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@contextmanager
def one_planned_event_per_asset() -> Iterator[None]:
    """Runs created inside log ONE "materialization planned" event per asset with the partition
    range as a subset, instead of one per asset and partition.

    On OSS storage Dagster writes one ASSET_MATERIALIZATION_PLANNED event per asset x partition
    before a single-run backfill starts: for 16 assets x 365 extract dates that was 5 840 SQLite
    writes and ~3 minutes. Dagster's opt-in switch (dagster-io/dagster#29288) writes one per asset.
    The run, its steps, checks and per-partition materializations are unchanged; what is lost is
    that the UI cannot mark the partitions of such a run "in progress" while it runs, or "failed"
    when the run fails before materializing them (the run itself still shows failed). So it is
    used only for the bulk backfill of `run_pipeline`, not for sensor or UI runs.
    """
    before = os.environ.get(PLANNED_EVENTS_AS_SUBSET)
    os.environ[PLANNED_EVENTS_AS_SUBSET] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PLANNED_EVENTS_AS_SUBSET, None)
        else:
            os.environ[PLANNED_EVENTS_AS_SUBSET] = before


@dg.sensor(job=ingest_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING)
def new_extracts_sensor(context: dg.SensorEvaluationContext):
    """Ingests, in one run, the extract dates whose landing files are new or re-sent since they
    were ingested (`landing_state`), from the earliest such date on; registers new dates as
    partitions. Waits while an ingest run is in flight: two runs would write the same partitions."""
    if context.instance.get_runs(filters=dg.RunsFilter(job_name=ingest_job.name, statuses=IN_FLIGHT), limit=1):
        return dg.SkipReason("an ingest run is in flight: looking again when it is done")
    paths = current()
    dates = discover_extract_dates(paths.landing)
    known = set(context.instance.get_dynamic_partitions(extract_date_partitions.name))
    todo = dates_to_ingest(paths, dates)
    if not todo:
        return dg.SkipReason("no new or re-sent extracts")
    # the same landing state never asks twice; a file re-sent again later (new size or mtime) does
    digest = landing_digest(paths, todo)
    new = [d for d in dates if d not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"extracts-{todo[0]}-{todo[-1]}-{digest}", tags=partition_range_tags(todo[0], todo[-1]))
        ],
        dynamic_partitions_requests=[extract_date_partitions.build_add_request(new)] if new else [],
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=transform_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def transform_after_ingest(context: dg.RunStatusSensorContext):
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}")


daily_transform_schedule = dg.ScheduleDefinition(
    name="daily_transform_schedule",
    job=transform_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_pager(context: dg.RunFailureSensorContext):
    """A failed run becomes one JSON line in outbox/pipeline_failures.jsonl (wire it to a pager)."""
    out = current().outbox / "pipeline_failures.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "failed_at": datetime.now(UTC).isoformat(),
        "message": context.failure_event.message,
    }
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    context.log.error(f"run {line['run_id']} of {line['job']} failed: {line['message']}")
