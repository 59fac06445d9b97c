"""Shared pytest setup: telemetry off, and helpers to run the real pipeline in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def pipeline_env(landing: Path, data: Path) -> dict[str, str]:
    """Environment for a pipeline subprocess writing only under `data`."""
    env = os.environ.copy()
    env.update(
        CHW_LANDING_DIR=str(landing),
        CHW_WAREHOUSE=str(data / "warehouse.duckdb"),
        CHW_DATA_DIR=str(data),
        DAGSTER_HOME=str(data / "dagster_home"),
    )
    # derived from the data dir (export_env writes them; a test module that called it in-process
    # would otherwise hand another data dir's folders, or its engine, to this pipeline)
    for key in ("CHW_RAW_DIR", "CHW_AUDIT_DIR", "CHW_MODELS_DIR", "CHW_SPARK_DIR", "CHW_ENGINE", "DBT_TARGET"):
        env.pop(key, None)
    return env


def run_cli(*args: str, landing: Path, data: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    """`python -m orchestration.cli ...` as `make run` does, output captured for the failure message."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=ROOT,
        env=pipeline_env(landing, data),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stdout[-6000:] + "\n---stderr---\n" + proc.stderr[-8000:])
        pytest.fail(f"`orchestration.cli {' '.join(args)}` exited {proc.returncode}:\n{tail}")
    return proc


def table_fingerprints(warehouse: Path) -> dict[str, tuple[int, int]]:
    """(row count, order-independent hash of all rows) for every table and view of the warehouse."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog') order by 1, 2"
        ).fetchall()
        out = {}
        for schema, name in names:
            n, h = con.execute(f'select count(*), coalesce(sum(hash(t)), 0) from "{schema}"."{name}" as t').fetchone()
            out[f"{schema}.{name}"] = (int(n), int(h))
        return out
    finally:
        con.close()


# `make test-unit`: the modules that need neither a pipeline run nor a dbt build (pure Python, one
# process, seconds each). Everything else is integration: real dbt builds and Dagster runs.
UNIT_MODULES = {
    "test_dashboard",
    "test_demo_extracts",
    "test_docs_links",
    "test_health_model",
    "test_ingest_unit",
    "test_landing_state",
    "test_survey_expectations",
    "test_warehouse_engine",
}


def pytest_collection_modifyitems(config, items):  # noqa: ARG001 (pytest's hook signature)
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in UNIT_MODULES:
            item.add_marker(pytest.mark.unit)
