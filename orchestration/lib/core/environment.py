"""The environment every entry point exports before dbt or Dagster runs: absolute paths, the
engine's dbt settings, telemetry off. dbt (profiles.yml) and Dagster's resources (EnvVar) read
these variables, in this process and in every child it starts."""

from __future__ import annotations

import os

from orchestration.lib.core.paths import Paths

DBT_THREADS_ENV = "CHW_DBT_THREADS"  # dbt's threads (dbt_project/profiles.yml), default 2


def check_dbt_threads() -> None:
    """profiles.yml reads CHW_DBT_THREADS through Jinja's `int`, which turns a typo into 0, and dbt
    then fails deep in its thread pool ("max_workers must be greater than 0"): say what is wrong
    before anything runs."""
    value = os.environ.get(DBT_THREADS_ENV)
    if value is not None and not (value.strip().isdigit() and int(value) >= 1):
        raise SystemExit(
            f"{DBT_THREADS_ENV}={value!r}: the number of models dbt builds at a time must be a whole number, "
            "1 or more (default 2)"
        )


def export_env(paths: Paths) -> None:
    """Make every path absolute and visible to dbt and Dagster child processes."""
    check_dbt_threads()
    os.environ["CHW_LANDING_DIR"] = str(paths.landing)
    os.environ["CHW_WAREHOUSE"] = str(paths.warehouse)
    os.environ["CHW_DATA_DIR"] = str(paths.data)
    os.environ.update(paths.dbt_env())
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
