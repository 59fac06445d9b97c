"""Helpers for the ingest tests: write landing files, read back raw and audit Parquet."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from orchestration.lib.core import contract
from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest import load_log_file, quarantine_file, raw_partition_file


def make_paths(tmp_path: Path) -> Paths:
    data = tmp_path / "data"
    return Paths(landing=tmp_path / "landing", warehouse=data / "warehouse.duckdb", data=data)


def land(paths: Paths, source: str, entity: str, date: str, name: str, content: str | bytes) -> Path:
    """Write one landing file; returns its path."""
    p = paths.landing / source / entity / date / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def rows(path: Path, order: str = "") -> list[dict]:
    """All rows of a Parquet file as dicts (no hive columns added)."""
    if not path.exists():
        return []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = f"SELECT * FROM read_parquet('{path}', hive_partitioning = false) {order}"
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def raw(paths: Paths, source: str, entity: str, date: str) -> list[dict]:
    return rows(raw_partition_file(paths, contract.entity(source, entity), date))


def quarantine(paths: Paths, source: str, entity: str, date: str) -> list[dict]:
    return rows(quarantine_file(paths, contract.entity(source, entity), date))


def load_log(paths: Paths, source: str, entity: str, date: str) -> list[dict]:
    return rows(load_log_file(paths, contract.entity(source, entity), date))


def tree_digest(*folders: Path) -> dict[str, str]:
    """sha256 of every file under the folders, by relative path."""
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p.relative_to(folder.parent))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
