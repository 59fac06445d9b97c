"""A dbt run drops what no model of the project builds any more (macros/ops/drop_leftover_relations.sql).

A model renamed or removed leaves its table, and the bookkeeping tables named after it
(`<model>__increment_cutoff`, `<model>__increment_state`), in an existing warehouse, where the
marts' would be published and counted. The run hooks drop them, with an interrupted run's
`__dbt_tmp`/`__dbt_backup` relations, in the schemas dbt builds into; the project's own
relations and their bookkeeping stay, and so does everything in other schemas.

A real `dbt seed` of one seed (the cheapest invocation that runs the hooks) on a DuckDB file
prepared with such relations.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"

GONE = [  # (schema, name, kind)
    ("intermediate", "int_usage__retired_metric_values", "table"),
    ("intermediate", "int_usage__retired_metric_values__increment_state", "table"),
    ("intermediate", "stg_crm__retired__increment_cutoff", "table"),
    ("marts", "retired_mart", "view"),
    ("staging", "stg_crm__owners__dbt_backup", "table"),
]
KEPT = [
    ("intermediate", "int_usage__account_days", "table"),  # a model of the project
    ("intermediate", "int_usage__metric_values__increment_state", "table"),  # its bookkeeping
    ("intermediate", "stg_product__events__increment_cutoff", "table"),  # a staging model's, kept in intermediate
    ("reference", "metric_definitions", "table"),  # a seed this run does not load
    ("main", "users_own_table", "table"),  # not a schema dbt builds into
]


def relations(warehouse: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return set(con.execute("select table_schema, table_name from information_schema.tables").fetchall())
    finally:
        con.close()


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[set[tuple[str, str]], str]:
    tmp = tmp_path_factory.mktemp("leftover")
    warehouse = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        for schema, name, kind in GONE + KEPT:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create {kind} {schema}.{name} as select 1 as x")
    finally:
        con.close()
    env = os.environ.copy()
    env.update(CHW_WAREHOUSE=str(warehouse), CHW_RAW_DIR=str(tmp / "raw"), CHW_AUDIT_DIR=str(tmp / "audit"),
               CHW_MODELS_DIR=str(tmp / "models"), DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    target = tmp / "target"
    proc = subprocess.run(
        [str(DBT), "seed", "--select", "currency_rates", "--project-dir", str(DBT_DIR), "--profiles-dir",
         str(DBT_DIR), "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return relations(warehouse), proc.stdout


def test_relations_no_model_builds_are_dropped(swept):
    left, output = swept
    assert {(s, n) for s, n, _ in GONE} & left == set()
    assert "dropping leftover view marts.retired_mart (no model builds it any more)" in output, output[-3000:]
    assert "stg_crm__owners__dbt_backup (from an interrupted run)" in output, output[-3000:]


def test_the_projects_relations_and_other_schemas_stay(swept):
    left, _ = swept
    assert {(s, n) for s, n, _ in KEPT} <= left
