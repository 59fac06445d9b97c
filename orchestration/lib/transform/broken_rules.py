"""Which rules a failed table_checks / table_warnings test found broken.

One dbt test holds all of a model's rules (dbt_project/tests/generic/table_checks.sql) and returns
one row per broken rule: (rule, subject, failing rows). dbt itself reports only how many rows the
test returned ("Got 2 results"), so the CLI's failure line and the Dagster check result would say
"2" where the reader needs "not_null account_id: 2 rows; unique ticket_id: 1 row". The rows come
from running the test's compiled SQL again on the warehouse, read-only, once dbt has let go of it
(DuckDB allows one writing process, and dbt holds the file while it builds). On the Spark engine
the warehouse is read through its Parquet tables (orchestration/lib/core/warehouse.py); SQL that only
Spark understands gives None, and the caller says what dbt said.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.lib.core.paths import Paths
from orchestration.lib.core.warehouse import as_paths, connect_read_only

MAX_RULES_SHOWN = 10


def broken_rules(compiled_sql: Path, warehouse: Paths | Path) -> list[tuple[str, str, int]] | None:
    """The (rule, subject, failing rows) the test's compiled SQL returns, sorted, at most
    MAX_RULES_SHOWN; None when the SQL or the warehouse cannot be read (the caller then says
    what dbt said)."""
    import duckdb

    try:
        sql = compiled_sql.read_text()
        with connect_read_only(as_paths(warehouse)) as con:
            rows = con.execute(sql).fetchall()
    except (duckdb.Error, OSError):
        return None
    return sorted(((rule or "", subject or "", int(n or 0)) for rule, subject, n in rows), key=str)[:MAX_RULES_SHOWN]


def describe(rules: list[tuple[str, str, int]]) -> str:
    """"not_null account_id: 2 rows; unique ticket_id: 1 row"."""
    return "; ".join(
        f"{' '.join(filter(None, (rule, subject)))}: {n} {'row' if n == 1 else 'rows'}" for rule, subject, n in rules
    )
