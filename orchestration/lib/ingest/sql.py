"""Small SQL helpers shared by the ingest modules (quoting, the DuckDB session).

Everything in ingestion is set-based DuckDB SQL; these helpers keep identifiers and literals
quoted one way, so a column called `order` or a file called `it's.csv` cannot break a query.
"""

from __future__ import annotations

import tempfile
import threading
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


def connect(temp_dir: Path | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session for ingest partitions (one at a time: see `Sessions`).

    TimeZone is UTC so that casting TIMESTAMPTZ to TIMESTAMP yields UTC wall-clock time (the
    contract: offsets are converted, timestamps without one are taken as UTC). Insertion order is
    preserved so that record numbers follow the file, and raw is written in that order without a
    sort: for that the `in_clause` optimizer is off, which plans `v IN (<list>)` (the allowed values
    of an enumeration, the boolean words) as a join whose output comes in another order
    (tests/test_ingest_unit.py). Spill files go to a temp folder, never to the working directory.
    `threads`: DuckDB's worker threads for the session (default: one per core).
    """
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET disabled_optimizers = 'in_clause'")
    spill = Path(temp_dir) if temp_dir else Path(tempfile.gettempdir()) / "chw_duckdb_spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {lit(str(spill))}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def columns_of(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    """(name, type) of a table or query, in order."""
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {relation_sql}").fetchall()]


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every table and view a partition left in a session, so the next partition starts
    from the same empty state as a fresh connection (the settings of `connect` stay)."""
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        con.execute(f"DROP VIEW IF EXISTS {ident(name)}")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        con.execute(f"DROP TABLE IF EXISTS {ident(name)}")


class Sessions:
    """One DuckDB session per thread, reused for every partition that thread ingests.

    Opening a session and applying its settings costs tens of milliseconds, which at hundreds of
    extract dates x 16 entities was most of the cost of a small partition. A session is reset
    between partitions (`reset`); one a partition failed in is discarded (`discard`).
    Use as a context manager: every session is closed on exit.
    """

    def __init__(self, temp_dir: Path | None = None, threads: int | None = None):
        self._temp_dir, self._threads = temp_dir, threads
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[duckdb.DuckDBPyConnection] = []

    def get(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = connect(self._temp_dir, self._threads)
            self._local.con = con
            with self._lock:
                self._open.append(con)
        return con

    def discard(self, con: duckdb.DuckDBPyConnection) -> None:
        """Close a session left in an unknown state (a partition failed in it); the thread gets
        a fresh one next time."""
        if getattr(self._local, "con", None) is con:
            self._local.con = None
        with self._lock:
            if con in self._open:
                self._open.remove(con)
        con.close()

    def close(self) -> None:
        with self._lock:
            for con in self._open:
                con.close()
            self._open.clear()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
