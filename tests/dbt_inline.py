"""Compile one macro call with dbt itself (`dbt compile --inline`) and give the SQL to DuckDB:
how the metric macros are tested against brute force on small, hand-drawn observations."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"


def compile_inline(tmp: Path, inline: str) -> str:
    """The SQL dbt compiles `inline` (Jinja calling the project's macros) to, in a scratch target."""
    env = os.environ.copy()
    env.update(
        CHW_WAREHOUSE=str(tmp / "warehouse.duckdb"), CHW_DATA_DIR=str(tmp), CHW_RAW_DIR=str(tmp / "raw"),
        CHW_AUDIT_DIR=str(tmp / "audit"), CHW_MODELS_DIR=str(tmp / "models"),
        DBT_TARGET_PATH=str(tmp / "target"), DBT_LOG_PATH=str(tmp / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
    )
    proc = subprocess.run(
        [DBT, "compile", "--inline", inline, "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def warehouse_with_calendar(tmp: Path, start: date, days: int) -> duckdb.DuckDBPyConnection:
    """The scratch warehouse the compiled SQL names, with the calendar the macros join to."""
    con = duckdb.connect(str(tmp / "warehouse.duckdb"))
    con.execute("create schema intermediate")
    con.execute(
        f"create table intermediate.int_calendar__days as select cast(range as date) as date_day "
        f"from range(date '{start}', date '{start + timedelta(days=days)}', interval 1 day)"
    )
    return con


METRIC_KEY = "metric, grain, period_start, window_days, segment_type, segment_value"


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    con.execute(f"delete from {table}")
    con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)


def metric_rows(con: duckdb.DuckDBPyConnection, sql: str, *values: str) -> dict[tuple, tuple]:
    """The compiled macro's rows, keyed like marts.metric_values, with the named value columns."""
    result = con.execute(f"select {METRIC_KEY}, {', '.join(values)} from ({sql})").fetchall()
    return {row[:6]: row[6:] for row in result}


def period_start(grain: str, d: date) -> date:
    """The first day of the day, week (Monday), month or quarter holding `d` (docs/metrics.md, Periods)."""
    if grain == "day":
        return d
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    return d.replace(month=3 * ((d.month - 1) // 3) + 1, day=1)
