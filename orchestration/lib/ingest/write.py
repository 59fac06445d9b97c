"""Where ingestion writes, and how: atomically, idempotently, with DuckDB COPY.

Layout (docs/ARCHITECTURE.md, "Data directory"):
    raw/<source>/<entity>/extract_date=<d>/part.parquet
    raw/<source>/<entity>/_schema/empty.parquet
    audit/load_log/<source>__<entity>/extract_date=<d>.parquet
    audit/quarantine/<source>__<entity>/extract_date=<d>.parquet
    audit/{load_log,quarantine}/_schema/empty.parquet

Every file is written to a hidden temp name in the same folder and renamed over the target, so a
reader (dbt) sees the old file or the new one, never half of one; re-running a partition replaces
its files. The temp names do not end in `.parquet`, so globs never pick them up.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.lib.core import contract
from orchestration.lib.core.contract import Entity
from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest.sql import ident, lit

LOAD_LOG_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "entity": "VARCHAR",
    "extract_date": "DATE",
    "file": "VARCHAR",
    "rows_in": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "status": "VARCHAR",  # 'loaded' | 'rejected'
    "error": "VARCHAR",  # '' when loaded
}
QUARANTINE_COLUMNS: dict[str, str] = {
    "source": "VARCHAR",
    "entity": "VARCHAR",
    "extract_date": "DATE",
    "file": "VARCHAR",
    "row_number": "BIGINT",
    "reason": "VARCHAR",
    "record": "VARCHAR",  # JSON text of the record as it arrived
}


def raw_entity_dir(paths: Paths, ent: Entity) -> Path:
    return paths.raw / ent.source / ent.name


def raw_partition_file(paths: Paths, ent: Entity, extract_date: str) -> Path:
    return raw_entity_dir(paths, ent) / f"extract_date={extract_date}" / "part.parquet"


def raw_schema_file(paths: Paths, ent: Entity) -> Path:
    return raw_entity_dir(paths, ent) / "_schema" / "empty.parquet"


def load_log_file(paths: Paths, ent: Entity, extract_date: str) -> Path:
    return paths.audit / "load_log" / ent.asset_name / f"extract_date={extract_date}.parquet"


def quarantine_file(paths: Paths, ent: Entity, extract_date: str) -> Path:
    return paths.audit / "quarantine" / ent.asset_name / f"extract_date={extract_date}.parquet"


def audit_schema_file(paths: Paths, table: str) -> Path:
    return paths.audit / table / "_schema" / "empty.parquet"


@contextmanager
def _atomic_destination(dest: Path) -> Iterator[Path]:
    """A temp path beside `dest` (unique per writer thread) to write; renamed onto `dest` at once
    when the block ends without error, removed in any case."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def copy_atomic(con: duckdb.DuckDBPyConnection, select_sql: str, dest: Path) -> None:
    """COPY a query to Parquet at `dest` via a temp file and an atomic rename."""
    with _atomic_destination(dest) as tmp:
        con.execute(f"COPY ({select_sql}) TO {lit(str(tmp))} (FORMAT parquet)")


def copy_file_atomic(src: Path, dest: Path) -> None:
    """Copy a file to `dest` via a temp file and an atomic rename (as `copy_atomic`)."""
    with _atomic_destination(dest) as tmp:
        shutil.copyfile(src, tmp)


def remove_raw_partition(paths: Paths, ent: Entity, extract_date: str) -> None:
    """Drop a stale raw partition (its folder), e.g. when a re-run finds no rows for it."""
    folder = raw_partition_file(paths, ent, extract_date).parent
    if folder.exists():
        shutil.rmtree(folder)


def remove_file(path: Path) -> None:
    if path.exists():
        path.unlink()


def empty_select(columns: dict[str, str]) -> str:
    """A zero-row SELECT with the given typed columns."""
    cols = ", ".join(f"CAST(NULL AS {t}) AS {ident(c)}" for c, t in columns.items())
    return f"SELECT {cols} LIMIT 0"


def raw_columns(ent: Entity) -> dict[str, str]:
    """Typed raw columns without extras: the contract columns, then lineage."""
    return {**{c.name: c.type for c in ent.columns}, **contract.LINEAGE_COLUMNS}


def ensure_schemas(con: duckdb.DuckDBPyConnection, paths: Paths, entities: tuple[Entity, ...] = contract.ENTITIES) -> None:
    """Write the zero-row `_schema/empty.parquet` files so dbt can read an entity (or the audit
    tables) that never arrived: an absent source is empty, not an error. Written only when
    missing or different, so readers are not disturbed needlessly."""
    targets = [(raw_schema_file(paths, e), raw_columns(e)) for e in entities]
    targets += [
        (audit_schema_file(paths, "load_log"), LOAD_LOG_COLUMNS),
        (audit_schema_file(paths, "quarantine"), QUARANTINE_COLUMNS),
    ]
    for path, cols in targets:
        if path.exists():
            have = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
            if [(r[0], r[1]) for r in have] == list(cols.items()):
                continue
        copy_atomic(con, empty_select(cols), path)
