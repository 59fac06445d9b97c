"""The Dagster instance's event log: the project's storage class, configured from dagster.yaml.

PooledSqliteEventLogStorage keeps a SQLite engine per database instead of building one per event
(orchestration/event_log_storage.py). What must not change: where events are stored, that
another process (the webserver) reads them while the writer's connections stay open, and that a
wipe leaves a working instance.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import dagster as dg
import pytest
import yaml

from orchestration.event_log_storage import PooledSqliteEventLogStorage
from orchestration.lib.paths import PROJECT_ROOT
from orchestration.pipeline import dagster_home, write_instance_config


@dg.asset(key=["probe", "scored"])
def scored() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"nps": 42.0})


READ_FROM_ANOTHER_PROCESS = textwrap.dedent("""
    import json, sys
    import dagster as dg
    with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["probe", "scored"]))
        runs = instance.get_runs()
        print(json.dumps({
            "runs": len(runs),
            "events": sum(len(instance.all_logs(r.run_id)) for r in runs),
            "nps": event.asset_materialization.metadata["nps"].value if event else None,
            "storage": type(instance.event_log_storage).__name__,
        }))
""")


def read_elsewhere(home) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", READ_FROM_ANOTHER_PROCESS, str(home)],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_instance_config_names_the_event_log_folder(tmp_path):
    write_instance_config(tmp_path)
    config = yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    storage = config["event_log_storage"]
    assert (storage["module"], storage["class"]) == ("orchestration.event_log_storage", "PooledSqliteEventLogStorage")
    assert storage["config"]["base_dir"] == str(tmp_path.resolve() / "history" / "runs")
    # the rest is the project's file as it is
    project = yaml.safe_load((PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text())
    assert {k: v for k, v in config.items() if k != "event_log_storage"} == {
        k: v for k, v in project.items() if k != "event_log_storage"
    }
    assert write_instance_config(tmp_path) is False  # unchanged: not rewritten


def test_an_outdated_instance_config_is_replaced(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")  # an older checkout's copy
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dagster_home(None)  # DAGSTER_HOME wins over the data dir
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["telemetry"] == {"enabled": False}
    assert config["event_log_storage"]["class"] == "PooledSqliteEventLogStorage"


def test_events_are_stored_where_dagster_keeps_them_and_read_by_another_process(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the written config is enough
    write_instance_config(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        for _ in range(3):
            assert dg.materialize([scored], instance=instance).success
        # one engine per database file, kept: the index shard and the three run shards
        assert sorted(storage._engines) == sorted(["index", *[r.run_id for r in instance.get_runs()]])
        engine = storage._engines["index"]
        assert dg.materialize([scored], instance=instance).success
        assert storage._engines["index"] is engine

        # Dagster's own file layout, so its default storage (and the UI) find the same events
        run_ids = [r.run_id for r in instance.get_runs()]
        assert all((tmp_path / "history" / "runs" / f"{run_id}.db").exists() for run_id in run_ids)
        n_events = sum(len(instance.all_logs(run_id)) for run_id in run_ids)
        assert n_events > 4 * 5

        # read by another process while this one's connections are open
        seen = read_elsewhere(tmp_path)
        assert seen == {"runs": 4, "events": n_events, "nps": 42.0, "storage": "PooledSqliteEventLogStorage"}

        # a wipe deletes the run shards' files: the instance still works afterwards
        instance.wipe()
        assert set(storage._engines) <= {"index"}
        assert dg.materialize([scored], instance=instance).success
        assert len(instance.get_runs()) == 1


def test_without_dagster_home_or_base_dir_the_error_says_what_to_set(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(RuntimeError, match="DAGSTER_HOME"):
        PooledSqliteEventLogStorage()


@dg.asset(key=["probe", "checked"], check_specs=[dg.AssetCheckSpec("positive", asset=["probe", "checked"])])
def checked():
    yield dg.MaterializeResult(metadata={"csat": 90.0})
    yield dg.AssetCheckResult(check_name="positive", passed=True)


def test_asset_check_events_reuse_the_pooled_engine(tmp_path, monkeypatch):
    """Dagster asks `has_table` before every check event; its own version builds an engine each
    time (one per dbt test result in a transform run). The pooled one answers instead."""
    from dagster._core.storage.event_log.sqlite import sqlite_event_log

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    write_instance_config(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert dg.materialize([checked], instance=instance).success  # engines made, schema checked
        built = []
        real = sqlite_event_log.create_engine
        monkeypatch.setattr(sqlite_event_log, "create_engine", lambda *a, **k: built.append(a) or real(*a, **k))
        assert dg.materialize([checked], instance=instance).success
        assert built == [] or all("index" not in str(a[0]) for a in built)
        evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["probe", "checked"]), "positive")]
        )
        assert list(evaluation.values())[0].status.value == "SUCCEEDED"
