"""The one way in to the warehouse's tables for Python, on either engine.

Everything after dbt (the health models, the alerts outbox, the serving copy, the run summary,
the broken-rule lines of a failed check) reads the warehouse through a read-only DuckDB
connection this module gives, whichever engine built it (`CHW_ENGINE`, orchestration/lib/core/paths.py):

- DuckDB: the warehouse file itself, opened read-only;
- Spark: an in-memory DuckDB session in which every table `<schema>.<table>` of the Spark
  warehouse (`<CHW_SPARK_DIR>/warehouse/<schema>.db/<table>/`, plain Parquet) is a view over its
  Parquet files. The same SQL then runs on both engines; nothing here starts Spark.

Assets reach it through the `Warehouse` Dagster resource (orchestration/defs/resources.py), which
owns the paths; the CLI and the plain helpers through `Paths`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.core.paths import DUCKDB, Paths

# The pool every step that reads or writes the warehouse claims (orchestration/dagster.yaml gives
# each pool one slot): DuckDB has one writer and no reader beside it; Spark's Derby metastore one
# session. dbt, the Python models and the publish queue behind each other.
POOL = "warehouse"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def spark_tables(spark_warehouse: Path) -> dict[tuple[str, str], str]:
    """(schema, table) -> the glob of its Parquet files, for every table folder of a Spark
    warehouse (`<dir>/<schema>.db/<table>/`). A table partitioned by Spark keeps its files in
    `<column>=<value>/` folders below its own: `**/*.parquet` then. A folder with no Parquet
    file (a table Spark is still writing for the first time) is no table yet."""
    found: dict[tuple[str, str], str] = {}
    if not spark_warehouse.is_dir():
        return found
    for schema_dir in sorted(spark_warehouse.glob("*.db")):
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
            if any(table_dir.glob("*.parquet")):
                found[(schema_dir.name[: -len(".db")], table_dir.name)] = str(table_dir / "*.parquet")
            elif any(table_dir.glob("**/*.parquet")):
                found[(schema_dir.name[: -len(".db")], table_dir.name)] = str(table_dir / "**" / "*.parquet")
    return found


def connect_read_only(paths: Paths) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the tables of the warehouse `paths` names (module doc).
    DuckDB: raises duckdb.Error when the file is absent, damaged or held by a writer."""
    if paths.engine == DUCKDB:
        return duckdb.connect(str(paths.warehouse), read_only=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute("set TimeZone = 'UTC'")  # as the dbt profiles set it for both engines
        schemas: set[str] = set()
        for (schema, table), files in spark_tables(paths.spark_warehouse).items():
            if schema not in schemas:
                con.execute(f"create schema if not exists {_quote_ident(schema)}")
                schemas.add(schema)
            partitioned = "**" in Path(files).parts
            con.execute(
                f"create view {_quote_ident(schema)}.{_quote_ident(table)} as select * from read_parquet("
                f"{_quote_str(files)}{', hive_partitioning = true' if partitioned else ''})"
            )
    except Exception:
        con.close()
        raise
    return con


def exists(paths: Paths) -> bool:
    """Whether the engine's warehouse has been built at all (before a first run: no)."""
    return paths.warehouse.exists() if paths.engine == DUCKDB else paths.spark_warehouse.is_dir()


def location(paths: Paths) -> Path:
    """What holds the warehouse: the DuckDB file, or the Spark warehouse folder."""
    return paths.warehouse if paths.engine == DUCKDB else paths.spark_warehouse


def read(paths: Paths, sql: str) -> pd.DataFrame:
    con = connect_read_only(paths)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def relation_exists(paths: Paths, schema: str, name: str) -> bool:
    """Whether the warehouse holds the table or view `<schema>.<name>` (False before a first run)."""
    if not exists(paths):
        return False
    found = read(paths, "select count(*) as n from information_schema.tables "
                        f"where table_schema = {_quote_str(schema)} and table_name = {_quote_str(name)}")
    return bool(found["n"].iloc[0])


def as_paths(warehouse: Paths | Path | str) -> Paths:
    """`Paths` for what callers pass: resolved paths (either engine), or a DuckDB warehouse file's
    path (the older form of the plain functions, which tests and tools use)."""
    if isinstance(warehouse, Paths):
        return warehouse
    path = Path(warehouse).resolve()
    return Paths(landing=path.parent / "landing", warehouse=path, data=path.parent, engine=DUCKDB)
