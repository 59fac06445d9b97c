"""The landing files no partition reads, logged as rejected in audit.load_log.

`discover.unplaced_files` lists them with the reason: a folder that is not a `YYYY-MM-DD` date
(`latest`, `2026-13-45`, `20261021`), an extract date after the run's date plus a day, a file
beside the date folders, a source or entity the contract does not name. Each becomes one load-log
row, `status = 'rejected'`, in `audit/load_log/_landing/unplaced.parquet` (dbt reads it with the
partitions' load logs). Its extract_date is the folder's date for a future extract, else
`discover.NO_EXTRACT_DATE` (1970-01-01: the file has no extract date); rows_in is the file's
record count where it can be read, else 0.

`refresh` rewrites the file only when the list changed (a record of what it last logged, as for
partitions in `landing_state`), so it is cheap to call at every run and in every ingest asset, and
processing the same landing zone twice leaves the file byte for byte unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest import write
from orchestration.lib.ingest.discover import Unplaced, file_format, unplaced_files
from orchestration.lib.ingest.landing_state import ingest_code_digest
from orchestration.lib.ingest.sql import connect, lit


def log_file(paths: Paths) -> Path:
    return paths.audit / "load_log" / "_landing" / "unplaced.parquet"


def state_file(paths: Paths) -> Path:
    return paths.audit / "landing_state" / "_unplaced.json"


def rel_path(paths: Paths, p: Path) -> str:
    """A landing file's path as the load log names it (relative to the landing zone)."""
    try:
        return p.resolve().relative_to(paths.landing.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def error_text(paths: Paths, u: Unplaced) -> str:
    """The one-line load_log.error of an unplaced file."""
    return f"file {rel_path(paths, u.path)} rejected: {u.reason}"


def refresh(paths: Paths) -> list[Unplaced]:
    """Log the landing zone's unplaced files (module doc); returns them."""
    found = unplaced_files(paths.landing)
    seen = {
        "ingest_code": ingest_code_digest(),
        "files": [[rel_path(paths, u.path), u.path.stat().st_size, u.path.stat().st_mtime_ns, u.reason] for u in found],
    }
    dest, state = log_file(paths), state_file(paths)
    try:
        before = json.loads(state.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        before = None
    if before == seen and dest.exists() == bool(found):
        return found
    if not found:
        write.remove_file(dest)
    else:
        _write(paths, found, dest)
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(seen), encoding="utf-8")
    os.replace(tmp, state)
    return found


def _write(paths: Paths, found: list[Unplaced], dest: Path) -> None:
    from orchestration.lib.ingest.read import read_file

    con = connect(threads=1)
    try:
        rows = []
        for i, u in enumerate(found):
            rows_in = 0
            if file_format(u.path):
                # read as a partition would, only to keep its rows_in (rare files: no fast path needed)
                fr = read_file(con, u.path, paths.landing, f"unplaced{i}")
                rows_in = fr.rows_in
                for t in (fr.table, fr.bad_table):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
            rows.append(
                f"({i}, {lit(u.source)}, {lit(u.entity)}, DATE {lit(u.extract_date)}, {lit(rel_path(paths, u.path))}, "
                f"{rows_in}, {lit(error_text(paths, u))})"
            )
        sql = (
            "SELECT source, entity, extract_date, file, rows_in::BIGINT AS rows_in, 0::BIGINT AS rows_loaded, "
            "0::BIGINT AS rows_quarantined, 'rejected' AS status, error "
            f"FROM (VALUES {', '.join(rows)}) v(i, source, entity, extract_date, file, rows_in, error) ORDER BY i"
        )
        write.copy_atomic(con, sql, dest)
    finally:
        con.close()
