"""The engine setting and the `Warehouse` resource, on both engines, without Spark itself.

A Spark warehouse is a folder of Parquet tables (`<CHW_SPARK_DIR>/warehouse/<schema>.db/<table>/`);
here one is written with pyarrow, the way Spark lays it out, beside a DuckDB file holding the
same tables. Whatever reads the warehouse (the Python models, the outbox, the publish, the run
summary) must get the same rows from either.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.defs.resources import Warehouse
from orchestration.lib.core import paths as paths_module
from orchestration.lib.core.paths import Paths, current, data_dir_conflict
from orchestration.lib.core.warehouse import POOL, spark_tables
from orchestration.lib.serve.publish import connect_serving, publish

ROOT = Path(__file__).resolve().parents[1]

TABLES = {
    ("marts", "account_health"): pa.table({
        "account_id": ["a1", "a2", "a3"],
        "as_of_date": [date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 2)],
        "health_score": [71.5, 38.0, None],
        "health_band": ["green", "red", None],
        "scored_at": [datetime(2026, 10, 1, 6), datetime(2026, 10, 1, 6), datetime(2026, 10, 2, 6)],
    }),
    ("marts", "alerts"): pa.table({"alert_id": ["x1", "x2"], "account_id": ["a2", "a3"], "severity": [2, 1]}),
    ("audit", "quarantine"): pa.table({
        "file": ["crm/contacts.csv"], "row_number": [7], "reason": ["bad email"], "record": ['{"email": "p@x.io"}'],
    }),
}
# a table Spark writes partitioned (`<column>=<value>/` folders): read with hive partitioning
PARTITIONED = ("intermediate", "int_health__renewals")
RENEWALS = pa.table({"account_id": ["a1", "a2", "a3"], "churned": [False, True, False],
                     "renewal_year": [2025, 2026, 2026]})


def _spark_layout(spark_dir: Path) -> Path:
    warehouse = spark_dir / "warehouse"
    for (schema, name), table in TABLES.items():
        folder = warehouse / f"{schema}.db" / name
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-00000-c000.snappy.parquet")
        (folder / "_SUCCESS").write_text("")  # Spark's marker file: not Parquet, never read
    folder = warehouse / f"{PARTITIONED[0]}.db" / PARTITIONED[1]
    pq.write_to_dataset(RENEWALS, root_path=str(folder), partition_cols=["renewal_year"])
    (spark_dir / "metastore_db").mkdir()
    return warehouse


def _duckdb_file(path: Path) -> Path:
    con = duckdb.connect(str(path))
    for (schema, name), table in [*TABLES.items(), (PARTITIONED, RENEWALS)]:
        con.execute(f"create schema if not exists {schema}")
        con.register("t", table)
        con.execute(f"create table {schema}.{name} as select * from t")
        con.unregister("t")
    con.close()
    return path


@pytest.fixture
def engines(tmp_path):
    """(DuckDB resource, Spark resource) over the same tables."""
    data = tmp_path / "data"
    _spark_layout(data / "spark")
    duck = Warehouse(engine="duckdb", warehouse_path=str(_duckdb_file(tmp_path / "warehouse.duckdb")),
                     data_dir=str(data), landing_dir=str(tmp_path / "landing"))
    spark = Warehouse(engine="spark", warehouse_path=str(tmp_path / "none.duckdb"), data_dir=str(data),
                      landing_dir=str(tmp_path / "landing"), spark_dir=str(data / "spark"))
    return duck, spark


def test_the_spark_layout_is_found_table_by_table(tmp_path):
    warehouse = _spark_layout(tmp_path / "spark")
    found = spark_tables(warehouse)
    assert set(found) == {*TABLES, PARTITIONED}
    assert found[PARTITIONED].endswith("**/*.parquet") and found[("marts", "alerts")].endswith("alerts/*.parquet")


def test_both_engines_give_the_same_rows_through_one_connection(engines):
    duck, spark = engines
    assert spark.is_spark and not duck.is_spark
    queries = [
        "select * from marts.account_health order by account_id, as_of_date",
        "select * from marts.alerts order by alert_id",
        "select account_id, churned, renewal_year from intermediate.int_health__renewals order by account_id",
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('marts', 'audit', 'intermediate') order by 1, 2",
    ]
    for sql in queries:
        a, b = duck.read(sql), spark.read(sql)
        assert len(a) > 0
        assert a.astype(str).values.tolist() == b.astype(str).values.tolist(), sql
    for resource in engines:
        assert resource.relation_exists("marts", "account_health")
        assert resource.relation_exists("intermediate", "int_health__renewals")
        assert not resource.relation_exists("marts", "no_such_table")
    con = duck.connect()
    with pytest.raises(duckdb.Error):  # the DuckDB file is opened read-only
        con.execute("create table marts.scratch as select 1 as x")
    con.close()
    before = sorted(Path(spark.paths().spark_warehouse).rglob("*"))
    con = spark.connect()  # Spark: an in-memory session; what it creates never reaches the Parquet tables
    con.execute("create table marts.scratch as select 1 as x")
    con.close()
    assert sorted(Path(spark.paths().spark_warehouse).rglob("*")) == before


def test_a_spark_warehouse_not_built_yet_has_no_tables(tmp_path):
    spark = Warehouse(engine="spark", warehouse_path=str(tmp_path / "w.duckdb"), data_dir=str(tmp_path),
                      landing_dir=str(tmp_path / "landing"))
    assert not spark.exists() and not spark.relation_exists("marts", "account_health")
    assert spark.paths().spark == tmp_path / "spark"  # CHW_SPARK_DIR's default: <data dir>/spark


def test_the_serving_copy_has_the_same_shape_on_both_engines(engines, tmp_path):
    """publish() from the Spark tables gives the serving file and Parquet files a DuckDB
    warehouse gives: the same tables, columns, types and rows; personal data withheld on both."""
    duck, spark = engines
    shapes = []
    for resource, serving in ((duck, tmp_path / "serving_duck"), (spark, tmp_path / "serving_spark")):
        result = publish(resource.paths(), serving)
        con = connect_serving(serving)
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema in ('marts', 'audit') order by 1, 2, ordinal_position").fetchall()
        rows = {t.qualified: con.execute(f"select * from {t.qualified} order by all").fetchall() for t in result.tables}
        con.close()
        parquet = {p.name: pq.read_table(p).num_rows for p in result.parquet_files}
        shapes.append((columns, rows, parquet))
    assert shapes[0] == shapes[1]
    columns, rows, parquet = shapes[0]
    assert set(rows) == {"marts.account_health", "marts.alerts", "audit.quarantine"}
    assert ("audit", "quarantine", "record", "VARCHAR") not in columns
    assert parquet == {"account_health.parquet": 3, "alerts.parquet": 2}


def test_the_engine_is_read_in_one_place_and_an_unknown_one_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CHW_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CHW_SPARK_DIR", raising=False)
    monkeypatch.delenv("CHW_ENGINE", raising=False)
    assert current().engine == "duckdb" and current().dbt_env()["CHW_ENGINE"] == "duckdb"
    monkeypatch.setenv("CHW_ENGINE", "spark")
    assert current().engine == "spark"
    assert current().dbt_env()["CHW_SPARK_DIR"] == str(tmp_path.resolve() / "spark")
    assert current().dbt_env()["DBT_TARGET"] == "spark"  # every dbt command on the engine's target
    monkeypatch.setenv("CHW_ENGINE", "postgres")
    with pytest.raises(SystemExit, match=r"CHW_ENGINE='postgres'.*one of duckdb, spark"):
        current()
    with pytest.raises(SystemExit, match="one of duckdb, spark"):
        Warehouse(engine="sparks").paths()
    # only paths.py reads CHW_ENGINE from the environment (Dagster's EnvVar takes the value the
    # entry points exported from it)
    read = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["']CHW_ENGINE""")
    readers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "orchestration").rglob("*.py") if read.search(p.read_text()))
    assert readers == [str(Path(paths_module.__file__).relative_to(ROOT))]


def test_a_duckdb_and_a_spark_run_cannot_share_a_data_dir(tmp_path):
    data = tmp_path / "data"
    duck = Paths(landing=tmp_path / "landing", warehouse=data / "warehouse.duckdb", data=data)
    spark = Paths(landing=tmp_path / "landing", warehouse=data / "warehouse.duckdb", data=data, engine="spark")
    assert data_dir_conflict(duck) is None
    assert json.loads((data / ".chw_owner.json").read_text())["engine"] == "duckdb"
    said = data_dir_conflict(spark)
    assert said and "engine duckdb" in said and "engine spark" in said and f"CHW_DATA_DIR={tmp_path / 'data_spark'}" in said
    # an owner file from before the engine was recorded belongs to a DuckDB run
    (data / ".chw_owner.json").write_text(json.dumps({"warehouse": str(duck.warehouse), "landing": str(duck.landing)}))
    assert data_dir_conflict(duck) is None and data_dir_conflict(spark)


def _module_level(tree: ast.Module):
    """The statements a module runs when imported (not the bodies of its functions and classes)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo += node.decorator_list  # decorators run at import
            continue
        yield node
        todo += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]


def test_no_definitions_module_opens_duckdb_or_changes_the_environment_at_import():
    """Under orchestration/defs nothing calls duckdb.connect (the Warehouse resource reads the
    warehouse) and no module-level statement touches os.environ (the entry points export it)."""
    found = []
    for path in sorted((ROOT / "orchestration" / "defs").rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        if "duckdb.connect" in text:
            found.append(f"{path.relative_to(ROOT)}: duckdb.connect")
        for stmt in _module_level(tree):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "putenv") and \
                        isinstance(node.value, ast.Name) and node.value.id == "os":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: os.{node.attr} at import")
    assert found == []


def test_the_pool_is_named_once():
    """Every step that touches the warehouse claims the pool by the one name (lib/core/warehouse.py)."""
    assert POOL == "warehouse"
    pools = []
    for path in (ROOT / "orchestration").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "pool":
                pools.append((str(path.relative_to(ROOT)), ast.unparse(node.value)))
    assert len(pools) >= 5 and {value for _, value in pools} == {"POOL"}, pools
    assert [p for p in (ROOT / "orchestration").rglob("*.py") if '"warehouse"  #' in p.read_text() or
            "WAREHOUSE_POOL" in p.read_text()] == []
