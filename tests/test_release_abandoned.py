"""Which "in progress" runs a new pipeline run releases (orchestration.run.pipeline.release_abandoned_runs).

A real (temporary, SQLite) Dagster instance with the project's pool configuration: runs recorded
as started, one of them holding the `warehouse` pool slot, as a SIGKILLed pipeline leaves them.
The full kill-and-re-run path is exercised by tests/test_faults.py (slow).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib.core.paths import Paths
from orchestration.run.instance import write_instance_config
from orchestration.run.pipeline import owner_tags, release_abandoned_runs


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_instance_config(home)
    with dg.DagsterInstance.from_config(str(home)) as inst:
        inst.event_log_storage.set_concurrency_slots("warehouse", 1)
        yield inst


def paths_for(root: Path) -> Paths:
    return Paths(landing=root / "landing", warehouse=root / "data" / "warehouse.duckdb", data=root / "data")


def started_run(instance: dg.DagsterInstance, tags: dict[str, str], claim: bool = False) -> str:
    run = instance.create_run_for_job(dg.GraphDefinition(name="noop").to_job(), tags=tags)
    instance.handle_new_event(
        dg.EventLogEntry(
            error_info=None, level="debug", user_message="", run_id=run.run_id, timestamp=0.0,
            dagster_event=dg.DagsterEvent(dg.DagsterEventType.PIPELINE_START.value, job_name=run.job_name),
        )
    )
    if claim:
        assert instance.event_log_storage.claim_concurrency_slot("warehouse", run.run_id, "dbt_warehouse").is_claimed
    return run.run_id


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def slot_holders(instance: dg.DagsterInstance) -> list[str]:
    return [s.run_id for s in instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_run_of_this_warehouse_is_failed_and_its_slot_freed(instance, tmp_path):
    paths = paths_for(tmp_path)
    killed = started_run(instance, owner_tags(paths), claim=True)  # our own pid: alive, but same lock
    assert slot_holders(instance) == [killed]
    release_abandoned_runs(instance, paths)
    assert status(instance, killed) == dg.DagsterRunStatus.FAILURE
    assert slot_holders(instance) == []


def test_runs_not_started_by_a_dead_pipeline_are_left_alone(instance, tmp_path):
    paths = paths_for(tmp_path / "a")
    # launched by the daemon / UI on the same instance: no owner tags, maybe alive
    daemon_run = started_run(instance, {"dagster/sensor_name": "new_extracts_sensor"}, claim=True)
    # a pipeline on another warehouse sharing DAGSTER_HOME, still running (this process)
    other_alive = started_run(instance, owner_tags(paths_for(tmp_path / "b")))
    # a pipeline on another warehouse whose process is gone
    other_dead = started_run(instance, {**owner_tags(paths_for(tmp_path / "c")), "chw/pipeline_pid": str(dead_pid())})
    release_abandoned_runs(instance, paths)
    assert status(instance, daemon_run) == dg.DagsterRunStatus.STARTED
    assert slot_holders(instance) == [daemon_run]
    assert status(instance, other_alive) == dg.DagsterRunStatus.STARTED
    assert status(instance, other_dead) == dg.DagsterRunStatus.FAILURE
