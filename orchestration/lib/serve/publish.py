"""Publish the marts for BI: a serving copy that a running pipeline never locks or half-writes.

DuckDB allows one writing process or many readers, never both, so BI tools never open the
warehouse. After each successful run the pipeline copies every table and view of the schemas
`marts` and `audit` into a *new* DuckDB file beside the serving file
(`serving/chw.duckdb.tmp-<n>`) and swaps it in with one `os.replace`:

- a reader that already has `serving/chw.duckdb` open keeps reading the old copy (POSIX keeps
  the replaced inode alive while it is open), consistently, and never blocks the pipeline;
- a reader that opens the file after the swap sees the new copy, complete;
- nobody ever sees a half-built copy: the temporary file has another name until it is whole.

Personal data stays in the warehouse: columns that may hold it unredacted are not copied
(`WITHHELD_COLUMNS`: the quarantined record as it arrived, whose e-mail addresses, phone numbers
and names no pattern can make safe). Everything a BI tool reads has passed staging's redact_pii.

Each mart is also exported to `serving/parquet/<table>.parquet` (written under a temporary name,
then renamed), for tools that read Parquet rather than DuckDB.

The warehouse is attached READ_ONLY; the copy is plain `CREATE TABLE ... AS SELECT` and `COPY`,
which run on all cores (dbt-duckdb's `external` materialization writes on one thread). On the
Spark engine the same copy reads the Spark warehouse's Parquet tables, as views of an in-memory
session (orchestration/lib/core/warehouse.py): BI gets the same serving file and Parquet files.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.core.paths import SPARK, Paths
from orchestration.lib.core.warehouse import connect_read_only

SERVING_FILE = "chw.duckdb"  # not marts.duckdb: its catalog name would clash with the schema `marts`
PARQUET_DIR = "parquet"
NOTE_FILE = "README.txt"  # beside the serving file: what a BI user opening the folder reads
DEFAULT_SCHEMAS = ("marts", "audit")
PARQUET_SCHEMAS = ("marts",)
# Bookkeeping inside the serving file: which tables were published when, from where.
PUBLISH_LOG = "main.publish_log"
STALE_TMP_SECONDS = 3600
# Columns never published: (schema, table) -> columns. `audit.quarantine.record` is a rejected
# record as it arrived (contacts' e-mail and full_name, comments before redaction): whoever needs
# it reads the warehouse's audit schema; BI gets where it came from and why it was rejected.
WITHHELD_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {("audit", "quarantine"): ("record",)}
_counter = itertools.count(1)


class PublishError(RuntimeError):
    """The serving copy could not be built; the previous copy is left in place."""


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int
    parquet: Path | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class PublishResult:
    serving_file: Path
    parquet_dir: Path
    tables: list[PublishedTable] = field(default_factory=list)
    seconds: float = 0.0
    published_at: str = ""

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def parquet_files(self) -> list[Path]:
        return [t.parquet for t in self.tables if t.parquet is not None]

    def rows_of(self, qualified: str) -> int | None:
        return next((t.rows for t in self.tables if t.qualified == qualified), None)


def serving_file(serving_dir: Path) -> Path:
    """`<serving>/chw.duckdb`: the file BI tools open (read-only)."""
    return Path(serving_dir) / SERVING_FILE


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _tmp_suffix() -> str:
    return f"{os.getpid()}-{next(_counter)}-{time.monotonic_ns() % 1_000_000}"


def _remove_stale_temporaries(serving_dir: Path, parquet_dir: Path) -> None:
    """Temporary files a crashed publish left behind (older than an hour: never a live one)."""
    cutoff = time.time() - STALE_TMP_SECONDS
    candidates = list(serving_dir.glob(f"{SERVING_FILE}.tmp-*")) + list(serving_dir.glob(f".{NOTE_FILE}.tmp-*"))
    if parquet_dir.exists():
        candidates += list(parquet_dir.glob(".*.parquet.tmp-*"))
    for path in candidates:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def _source_relations(con: duckdb.DuckDBPyConnection, alias: str, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    """(schema, name) of every table and (non-internal) view in the given schemas of `alias`."""
    marks = ", ".join("?" for _ in schemas)
    rows = con.execute(
        f"""
        select schema_name, table_name from duckdb_tables()
        where database_name = ? and schema_name in ({marks})
        union
        select schema_name, view_name from duckdb_views()
        where database_name = ? and schema_name in ({marks}) and not internal
        order by 1, 2
        """,
        [alias, *schemas, alias, *schemas],
    ).fetchall()
    return [(str(s), str(n)) for s, n in rows]


def _published_columns(con: duckdb.DuckDBPyConnection, alias: str, schema: str, name: str) -> str:
    """The select list of a published relation: every column but the WITHHELD_COLUMNS, in order."""
    withheld = {c.lower() for c in WITHHELD_COLUMNS.get((schema, name), ())}
    if not withheld:
        return "*"
    columns = [str(c) for (c,) in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ? "
        "order by column_index",
        [alias, schema, name],
    ).fetchall()]
    return ", ".join(_quote_ident(c) for c in columns if c.lower() not in withheld)


def _attach_read_only(con: duckdb.DuckDBPyConnection, warehouse: Path, attempts: int, wait_seconds: float) -> str:
    """ATTACH the warehouse READ_ONLY under its catalog name (the file's stem, as dbt-duckdb names
    it); retry a little while another process holds its write lock. Returns the catalog name."""
    alias = warehouse.name.split(".")[0]
    if alias in ("memory", "serving_new", "system", "temp"):
        alias = f"{alias}_warehouse"
    last: Exception | None = None
    for attempt in range(max(1, attempts)):
        try:
            con.execute(f"attach {_quote_str(str(warehouse))} as {_quote_ident(alias)} (read_only)")
            return alias
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():  # not a busy writer: a missing or corrupt file
                raise PublishError(f"could not open the warehouse {warehouse} read-only: {exc}") from exc
            last = exc  # "Could not set lock on file": a writer is busy; wait for it
            if attempt + 1 < attempts:
                time.sleep(wait_seconds * (attempt + 1))
    raise PublishError(f"could not open the warehouse {warehouse} read-only: {last}") from last


def publish(
    warehouse: Path | str | Paths,
    serving_dir: Path | str,
    schemas: tuple[str, ...] = DEFAULT_SCHEMAS,
    parquet_schemas: tuple[str, ...] = PARQUET_SCHEMAS,
    lock_attempts: int = 5,
    lock_wait_seconds: float = 1.0,
) -> PublishResult:
    """Copy the `schemas` of `warehouse` (a DuckDB file, or the resolved `Paths` of either
    engine) into a new serving file and swap it in atomically.

    Returns what was published: every table with its row count and Parquet file, and the time it
    took. Raises `PublishError` (and leaves the previous serving copy untouched) when the
    warehouse is absent or cannot be read.
    """
    started = time.monotonic()
    spark = warehouse if isinstance(warehouse, Paths) and warehouse.engine == SPARK else None
    if isinstance(warehouse, Paths):
        warehouse = warehouse.spark_warehouse if spark else warehouse.warehouse
    warehouse = Path(warehouse).resolve()
    serving_dir = Path(serving_dir).resolve()
    if not (warehouse.is_dir() if spark else warehouse.exists()):
        raise PublishError(f"no warehouse at {warehouse}: run the pipeline first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = serving_dir / PARQUET_DIR
    parquet_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(serving_dir, parquet_dir)

    target = serving_file(serving_dir)
    tmp = serving_dir / f"{SERVING_FILE}.tmp-{_tmp_suffix()}"
    parquet_tmps: dict[Path, Path] = {}
    published_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    tables: list[PublishedTable] = []
    try:
        # An in-memory session attaching both files: the warehouse under its own catalog name (so
        # the fully qualified names inside dbt's views resolve) and the new copy as `serving_new`.
        # Spark: the session whose views read the Spark tables' Parquet (catalog `memory`).
        con = connect_read_only(spark) if spark else duckdb.connect(":memory:")
        try:
            source = "memory" if spark else _attach_read_only(con, warehouse, lock_attempts, lock_wait_seconds)
            con.execute(f"attach {_quote_str(str(tmp))} as serving_new")
            con.execute(f"use {_quote_ident(source)}")
            relations = _source_relations(con, source, tuple(schemas))
            for schema in sorted({s for s, _ in relations} | set(schemas)):
                con.execute(f"create schema if not exists serving_new.{_quote_ident(schema)}")
            for schema, name in relations:
                rel = f"{_quote_ident(schema)}.{_quote_ident(name)}"
                q = f"serving_new.{rel}"
                columns = _published_columns(con, source, schema, name)
                con.execute(f"create table {q} as select {columns} from {_quote_ident(source)}.{rel}")
                (rows,) = con.execute(f"select count(*) from {q}").fetchone()
                parquet = None
                if schema in parquet_schemas:
                    parquet = parquet_dir / f"{name}.parquet"
                    part = parquet_dir / f".{name}.parquet.tmp-{_tmp_suffix()}"
                    parquet_tmps[part] = parquet
                    con.execute(f"copy {q} to {_quote_str(str(part))} (format parquet, compression zstd)")
                tables.append(PublishedTable(schema, name, int(rows), parquet))
            con.execute("use serving_new")
            if not spark:
                con.execute(f"detach {_quote_ident(source)}")
            con.execute(
                f"create table serving_new.{PUBLISH_LOG} (table_schema varchar, table_name varchar, "
                "row_count bigint, published_at timestamp, warehouse varchar)"
            )
            if tables:
                con.executemany(
                    f"insert into serving_new.{PUBLISH_LOG} values (?, ?, ?, cast(? as timestamp), ?)",
                    [(t.schema, t.name, t.rows, published_at[:19], str(warehouse)) for t in tables],
                )
            con.execute("checkpoint serving_new")
            con.execute("use memory")
            con.execute("detach serving_new")
        finally:
            con.close()
        _fsync(tmp)
        # The swap: readers holding the old file keep it; new readers get the complete new one.
        os.replace(tmp, target)
        for part, final in parquet_tmps.items():
            os.replace(part, final)
        _fsync_dir(serving_dir)
    except duckdb.Error as exc:
        raise PublishError(f"publishing {warehouse} failed: {exc}") from exc
    finally:
        for leftover in [tmp, Path(f"{tmp}.wal"), *parquet_tmps]:
            if leftover.exists():
                leftover.unlink()

    _write_note(serving_dir, published_at)
    # A mart dropped from the warehouse no longer lingers as Parquet.
    keep = {t.parquet for t in tables if t.parquet is not None}
    for stale in parquet_dir.glob("*.parquet"):
        if stale not in keep:
            stale.unlink()
    return PublishResult(
        serving_file=target,
        parquet_dir=parquet_dir,
        tables=tables,
        seconds=time.monotonic() - started,
        published_at=published_at,
    )


SERVING_NOTE = """\
Customer Health Warehouse: the serving copy for BI tools (published {published_at} UTC)

chw.duckdb          every table of the schemas marts and audit, written by DuckDB {duckdb_version}.
                    Open it read-only with DuckDB {duckdb_major}.x:
                      ATTACH '<this folder>/chw.duckdb' AS serving (READ_ONLY); USE serving;
                      SELECT * FROM marts.metric_values LIMIT 5;
parquet/<mart>.parquet   one file per mart (schema marts), for any Parquet reader (any DuckDB
                    version, pandas/pyarrow, Spark, Power BI, Tableau).

Older DuckDB (1.x) cannot open chw.duckdb. It says:
  "IO Error: Trying to read a database file with version number ..., but we can only read
   versions between ... The database file was created with a newer version of DuckDB."
Then install duckdb {duckdb_version} in the BI tool's environment (for Superset: beside
duckdb-engine), or read the marts from parquet/ instead:
  SELECT * FROM '<this folder>/parquet/metric_values.parquet';

A connection keeps reading the copy it opened; each publish replaces chw.duckdb as a whole.
Reconnect to see a new publish: in a process that keeps connections open (a pool), close them all
first, or attach the file in a new session (orchestration.lib.serve.publish.connect_serving).

No personal data: free text is redacted; the quarantined records as they arrived stay in the
warehouse (audit.quarantine.record is not published).
"""


def _write_note(serving_dir: Path, published_at: str) -> None:
    """serving/README.txt: which DuckDB reads the copy, what an older one says, and the Parquet
    files any reader opens (written under a temporary name, then renamed, like the copy)."""
    version = duckdb.__version__
    text = SERVING_NOTE.format(published_at=published_at[:19].replace("T", " "), duckdb_version=version,
                               duckdb_major=version.split(".")[0])
    part = serving_dir / f".{NOTE_FILE}.tmp-{_tmp_suffix()}"
    part.write_text(text)
    os.replace(part, serving_dir / NOTE_FILE)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


SERVING_CATALOG = "serving"


def connect_serving(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only session on a published copy (a serving file, or a serving folder).

    The file is attached READ_ONLY as catalog `serving` and made the default, so `marts.<table>`
    resolves. Each call is a
    separate in-memory session: it keeps reading the copy it attached, whatever is published after.
    """
    path = Path(path)
    if path.is_dir():
        path = serving_file(path)
    if not path.exists():
        raise FileNotFoundError(f"no serving copy at {path}: nothing published yet")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {_quote_str(str(path))} as {SERVING_CATALOG} (read_only)")
        con.execute(f"use {SERVING_CATALOG}")
    except Exception:
        con.close()
        raise
    return con
