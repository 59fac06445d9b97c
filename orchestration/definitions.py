"""The Dagster code location: ingest -> dbt -> Python models, with checks, schedule and sensors.

`dagster dev` (or `make ui`) from the repository root loads this module (pyproject: tool.dagster).
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.automation import (
    daily_transform_schedule,
    ingest_job,
    new_extracts_sensor,
    run_failure_pager,
    transform_after_ingest,
    transform_job,
)
from orchestration.defs.ingest import ingest_assets, ingest_checks
from orchestration.defs.models import model_assets
from orchestration.defs.resources import Warehouse
from orchestration.defs.serve import build_serve_assets
from orchestration.defs.transform.dbt import dbt_asset_defs, dbt_resource

serve_assets = build_serve_assets(dbt_asset_defs)  # the publish waits for every mart dbt builds

defs = dg.Definitions(
    assets=[*ingest_assets, *dbt_asset_defs, *model_assets, *serve_assets],
    asset_checks=list(ingest_checks),
    jobs=[ingest_job, transform_job],
    schedules=[daily_transform_schedule],
    sensors=[new_extracts_sensor, transform_after_ingest, run_failure_pager],
    resources={
        "dbt": dbt_resource,
        # read when a run starts; the entry points export every one of them, absolute and checked
        # (orchestration.lib.core.environment.export_env: make run, make ui, the tests)
        "warehouse": Warehouse(
            engine=dg.EnvVar("CHW_ENGINE"),
            landing_dir=dg.EnvVar("CHW_LANDING_DIR"),
            warehouse_path=dg.EnvVar("CHW_WAREHOUSE"),
            data_dir=dg.EnvVar("CHW_DATA_DIR"),
            spark_dir=dg.EnvVar("CHW_SPARK_DIR"),
        ),
    },
)
