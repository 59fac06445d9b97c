"""Small SQL helpers shared by the ingest modules (quoting, the DuckDB session).

Everything in ingestion is set-based DuckDB SQL; these helpers keep identifiers and literals
quoted one way, so a column called `order` or a file called `it's.csv` cannot break a query.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

#: internal column names; the `__chw_` prefix keeps them clear of extract columns
ROW = "__chw_row"  # 1-based record number in the file
LINE = "__chw_line"  # JSONL: the line as it arrived (the quarantine record)


def ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A single-quoted SQL string literal (or NULL)."""
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def connect(temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session for one ingest partition.

    TimeZone is UTC so that casting TIMESTAMPTZ to TIMESTAMP yields UTC wall-clock time (the
    contract: offsets are converted, timestamps without one are taken as UTC). Insertion order is
    preserved so that record numbers follow the file. Spill files go to a temp folder, never to
    the working directory.
    """
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    spill = Path(temp_dir) if temp_dir else Path(tempfile.gettempdir()) / "chw_duckdb_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {lit(str(spill))}")
    return con


def columns_of(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    """(name, type) of a table or query, in order."""
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {relation_sql}").fetchall()]
