"""Do DuckDB and Spark build the same tables? The dbt project on Spark over one DuckDB run's
files, then every table of both warehouses compared row for row.

The DuckDB run (`python -m orchestration.cli run`) leaves the warehouse file and the Parquet the
sources read (raw extracts, the audit log, the Python models' outputs). `build_on_spark` builds
the same dbt project with the `spark` target over those same files into a folder of its own
(plain Parquet tables under `<spark dir>/warehouse/<schema>.db/<table>/`, a Derby metastore, dbt's
target and logs). `compare` then reads both sides with DuckDB: each column cast to a common text
form (integers as integers, other numbers as doubles rounded to 9 places, dates and timestamps
as ISO text, booleans as true/false), `EXCEPT ALL` both ways, zero rows each way. The
incremental models' bookkeeping tables (`*__increment_cutoff`, `*__increment_state`) are not
model output and are left out (on Spark the staging models rebuild in full and record no cutoff).

    .venv/bin/python bench/compare_engines.py [--landing DIR --workdir DIR] [--skip-build]
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.lib.transform.manifest import dbt_command

SCHEMAS = ("staging", "intermediate", "marts", "audit", "reference")
BOOKKEEPING_SUFFIXES = ("__increment_cutoff", "__increment_state")
DOUBLE_PLACES = 9
SHOWN_ROWS = 5

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "UHUGEINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


@dataclass
class TableResult:
    name: str  # schema.table
    duckdb_rows: int | None = None
    spark_rows: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.problems

    def line(self) -> str:
        counts = f"duckdb {self.duckdb_rows} rows, spark {self.spark_rows} rows"
        if self.equal:
            return f"EQUAL   {self.name} ({counts})"
        return f"DIFFERS {self.name} ({counts})\n" + "\n".join("    " + p for p in self.problems)


def spark_env(data_env: dict[str, str], spark_dir: Path) -> dict[str, str]:
    """The DuckDB run's dbt environment, with Spark's own folder for its tables, metastore and dbt
    target: the DuckDB run's manifest and partial-parse cache stay as they were."""
    return {**data_env, "CHW_SPARK_DIR": str(spark_dir), "DBT_TARGET_PATH": str(spark_dir / "dbt_target"),
            "DBT_LOG_PATH": str(spark_dir / "dbt_logs")}


def build_on_spark(paths, spark_dir: Path, timeout: int = 3600, full_refresh: bool = True) -> subprocess.CompletedProcess:
    """`dbt build --target spark [--full-refresh]` over the raw, audit and models folders of
    `paths` (one dbt invocation: one Spark session); without --full-refresh the incremental
    models build on the tables an earlier build left in `spark_dir`. Unit tests are left out:
    they test the SQL against fixed rows, which the comparison does on real data."""
    spark_dir.mkdir(parents=True, exist_ok=True)
    env = spark_env({**os.environ, **paths.dbt_env(), "CHW_LANDING_DIR": str(paths.landing),
                     "CHW_DATA_DIR": str(paths.data)}, spark_dir)
    return subprocess.run(
        dbt_command("build", "--target", "spark", *(["--full-refresh"] if full_refresh else []),
                    "--exclude-resource-type", "unit_test"),
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def dbt_failures(spark_dir: Path) -> dict[str, str]:
    """Node name -> `status: message` of every node the Spark build did not finish (error,
    skipped, failed test), from its run_results.json; {} when there is none."""
    results = spark_dir / "dbt_target" / "run_results.json"
    if not results.exists():
        return {}
    out = {}
    for r in json.loads(results.read_text())["results"]:
        if r["status"] not in ("success", "pass", "warn"):
            message = " ".join((r.get("message") or "").split())
            # model.<project>.<name>, seed.<project>.<name>, test.<project>.<name>.<hash>
            out[r["unique_id"].split(".")[2]] = f"{r['status']}: {message[:300]}" if message else r["status"]
    return out


def _is_bookkeeping(table: str) -> bool:
    return table.endswith(BOOKKEEPING_SUFFIXES)


def _kind(dtype: str) -> str:
    """The class a column type compares in: timestamps with and without time zone are one
    (rendered in UTC), any integer width is one, decimals and doubles are numbers."""
    base = dtype.split("(")[0]
    if base in INTEGER_TYPES:
        return "integer"
    if base in FLOAT_TYPES or base == "DECIMAL":
        return "number"
    if base.startswith("TIMESTAMP"):
        return "timestamp"
    return base.lower()


def _common(duck_type: str, spark_type: str) -> str:
    """Integers stay exact (hash ids exceed a double's 53 bits); an integer beside a double is a double."""
    kinds = {_kind(duck_type), _kind(spark_type)}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else "text"


def _render(column: str, kind: str) -> str:
    """SQL turning `column` into the common text form of its class."""
    col = '"' + column.replace('"', '""') + '"'
    if kind == "integer":
        return f"cast(cast({col} as hugeint) as varchar)"
    if kind == "number":
        # + 0.0 turns -0.0 into 0.0: a sign of zero is no difference
        return f"cast(round(cast({col} as double), {DOUBLE_PLACES}) + 0.0 as varchar)"
    if kind == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if kind == "timestamp":
        return f"strftime(cast({col} as timestamp), '%Y-%m-%dT%H:%M:%S.%f')"
    return f"cast({col} as varchar)"


def _columns(con, relation: str) -> dict[str, str]:
    return {name.lower(): dtype for name, dtype, *_ in con.execute(f"describe {relation}").fetchall()}


def _rows(con, sql: str) -> list[str]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return ["{" + ", ".join(f"{n}: {v}" for n, v in zip(names, row, strict=True)) + "}"
            for row in cur.fetchall()]


def spark_tables(spark_warehouse: Path) -> dict[str, Path]:
    """schema.table -> folder of every Spark table of SCHEMAS (views have no folder)."""
    out = {}
    for schema in SCHEMAS:
        for folder in sorted((spark_warehouse / f"{schema}.db").glob("*")):
            if folder.is_dir() and not _is_bookkeeping(folder.name):
                out[f"{schema}.{folder.name.lower()}"] = folder
    return out


def compare(warehouse: Path, spark_warehouse: Path, failures: dict[str, str] | None = None) -> list[TableResult]:
    """One result per table of SCHEMAS on either engine, sorted by name."""
    import duckdb  # noqa: PLC0415

    failures = failures or {}
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{warehouse}' as w (read_only)")
        duck = {
            f"{s}.{t.lower()}": f'w."{s}"."{t}"'
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = 'w' "
                f"and table_type = 'BASE TABLE' and table_schema in {SCHEMAS}").fetchall()
            if not _is_bookkeeping(t)
        }
        spark = spark_tables(spark_warehouse)
        results = []
        for name in sorted(duck.keys() | spark.keys()):
            result = TableResult(name)
            results.append(result)
            table = name.split(".", 1)[1]
            if name in duck:
                result.duckdb_rows = con.execute(f"select count(*) from {duck[name]}").fetchone()[0]
            if name not in spark:
                why = failures.get(table)
                result.problems.append("absent on Spark" + (f" (dbt on Spark: {why})" if why else ""))
                continue
            if not any(spark[name].rglob("*.parquet")):
                result.problems.append(f"no Parquet file in {spark[name]}")
                continue
            glob = str(spark[name]).replace("'", "''") + "/**/*.parquet"
            con.execute(f"create or replace temp view spark_side as select * from read_parquet('{glob}', "
                        "hive_partitioning = true, union_by_name = true)")
            result.spark_rows = con.execute("select count(*) from spark_side").fetchone()[0]
            if name not in duck:
                result.problems.append("absent on DuckDB")
                continue
            compare_rows(con, duck[name], "spark_side", result)
        return results
    finally:
        con.close()


def compare_rows(con, duck_relation: str, spark_relation: str, result: TableResult) -> None:
    """Column names, then the rows in common text form, EXCEPT ALL both ways."""
    dcols, scols = _columns(con, duck_relation), _columns(con, spark_relation)
    if dcols.keys() != scols.keys():
        only_d, only_s = sorted(dcols.keys() - scols.keys()), sorted(scols.keys() - dcols.keys())
        result.problems.append(f"columns differ: only on DuckDB {only_d}, only on Spark {only_s}")
    shared = [c for c in dcols if c in scols]
    if not shared:
        return
    kinds = {c: _common(dcols[c], scols[c]) for c in shared}
    for c in shared:
        if _kind(dcols[c]) != _kind(scols[c]) and kinds[c] != "number":
            result.problems.append(f"column {c}: DuckDB {dcols[c]}, Spark {scols[c]}")
    d_sel = ", ".join(f'{_render(c, kinds[c])} as "{c}"' for c in shared)
    s_sel = ", ".join(f'{_render(c, kinds[c])} as "{c}"' for c in shared)
    d_sql, s_sql = f"select {d_sel} from {duck_relation}", f"select {s_sel} from {spark_relation}"
    con.execute(f"create or replace temp table only_duckdb as ({d_sql}) except all ({s_sql})")
    con.execute(f"create or replace temp table only_spark as ({s_sql}) except all ({d_sql})")
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("only_duckdb", "only_spark")}
    if counts["only_duckdb"] and counts["only_spark"]:
        # the columns whose values differ between the two sides' extra rows: where to look first
        suspects = [c for c in shared if con.execute(
            f'select exists(select "{c}" from only_duckdb except select "{c}" from only_spark) '
            f'or exists(select "{c}" from only_spark except select "{c}" from only_duckdb)').fetchone()[0]]
        result.problems.append(f"values differ in columns {suspects}")
    for table, label in (("only_duckdb", "only on DuckDB"), ("only_spark", "only on Spark")):
        if counts[table]:
            shown = _rows(con, f"select * from {table} order by all limit {SHOWN_ROWS}")
            result.problems.append(f"{counts[table]} rows {label}, first {len(shown)}:\n      "
                                   + "\n      ".join(shown))


def _order(result: TableResult) -> int:
    """Report order: tables built on both that differ, then those Spark failed to build, then
    those it skipped (downstream of a failure), then the equal ones."""
    if result.equal:
        return 3
    if result.spark_rows is not None or result.duckdb_rows is None:
        return 0
    return 2 if result.problems[0].endswith("skipped)") else 1


def report(results: list[TableResult]) -> str:
    equal = sum(r.equal for r in results)
    lines = [r.line() for r in sorted(results, key=lambda r: (_order(r), r.name))]
    return "\n".join(lines) + f"\n{equal} of {len(results)} tables equal on DuckDB and Spark"
