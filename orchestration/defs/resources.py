"""Dagster resources of the code location (registered in orchestration/definitions.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from orchestration.lib.core import warehouse as wh
from orchestration.lib.core.paths import SPARK, Paths, check_engine, current


class Warehouse(dg.ConfigurableResource):
    """The warehouse and the paths around it, for assets: they take it as a parameter
    (`warehouse: Warehouse`) instead of reading the environment or opening DuckDB themselves.
    `connect()` gives a read-only DuckDB connection to the warehouse's tables on either engine
    (orchestration/lib/core/warehouse.py). definitions.py sets every field from the environment with
    dg.EnvVar; an empty field falls back to `paths.current()`, as the CLI resolves it."""

    engine: str = ""  # CHW_ENGINE: duckdb | spark
    landing_dir: str = ""  # CHW_LANDING_DIR
    warehouse_path: str = ""  # CHW_WAREHOUSE (the DuckDB file)
    data_dir: str = ""  # CHW_DATA_DIR
    spark_dir: str = ""  # CHW_SPARK_DIR

    @classmethod
    def of(cls, paths: Paths) -> Warehouse:
        """The resource for resolved `paths` (the CLI, the plain functions the tests call)."""
        return cls(engine=paths.engine, landing_dir=str(paths.landing), warehouse_path=str(paths.warehouse),
                   data_dir=str(paths.data), spark_dir=str(paths.spark))

    def paths(self) -> Paths:
        base = current() if not all((self.landing_dir, self.warehouse_path, self.data_dir)) else None
        return Paths(
            landing=Path(self.landing_dir) if self.landing_dir else base.landing,
            warehouse=Path(self.warehouse_path) if self.warehouse_path else base.warehouse,
            data=Path(self.data_dir) if self.data_dir else base.data,
            engine=check_engine(self.engine) if self.engine else (base or current()).engine,
            spark_dir=Path(self.spark_dir) if self.spark_dir else None,
        )

    @property
    def is_spark(self) -> bool:
        return self.paths().engine == SPARK

    def exists(self) -> bool:
        return wh.exists(self.paths())

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only DuckDB connection to the warehouse's tables (orchestration/lib/core/warehouse.py:
        the DuckDB file, or Spark's Parquet tables as views); the caller closes it."""
        return wh.connect_read_only(self.paths())

    def read(self, sql: str) -> pd.DataFrame:
        return wh.read(self.paths(), sql)

    def relation_exists(self, schema: str, name: str) -> bool:
        return wh.relation_exists(self.paths(), schema, name)


def as_warehouse(warehouse: Warehouse | Paths | Path | str) -> Warehouse:
    """A Warehouse for what callers pass: the resource itself, resolved paths, or a DuckDB file's
    path (the plain functions' older form, which tests and tools use on a DuckDB warehouse)."""
    return warehouse if isinstance(warehouse, Warehouse) else Warehouse.of(wh.as_paths(warehouse))
