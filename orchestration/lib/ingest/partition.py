"""Ingest one (entity, extract date): landing files -> raw Parquet + load log + quarantine.

The steps, all in one in-memory DuckDB session:
1. read every file of the partition as text (`read.py`); a file missing a contract column, or
   one that cannot be read at all, is rejected whole -- the other files still load;
2. type and check every row in one SQL pass (`validate.py`);
3. optionally run an extra row validator on the good rows (great-expectations for surveys);
4. resolve duplicate keys within the extract;
5. write good rows to raw, bad rows to quarantine, one load-log row per file (`write.py`).

Nothing is lost: for every loaded file rows_in = rows_loaded + rows_quarantined, and a rejected
file keeps its rows_in and its error. Nothing depends on the clock, so a re-run writes the same
bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.contract import Entity
from orchestration.lib.ingest import write
from orchestration.lib.ingest.discover import partition_files
from orchestration.lib.ingest.read import FileRead, read_file
from orchestration.lib.ingest.sql import LINE, ROW, connect, ident, lit
from orchestration.lib.ingest.validate import (
    checked_sql,
    dedupe_losers_sql,
    dup_keys_sql,
    extra_names,
    match_columns,
)
from orchestration.lib.paths import Paths

#: A row validator gets the typed good rows of a partition (contract columns, extras,
#: `_file_idx`, `_row_number`) and returns failures: a DataFrame with columns
#: `_file_idx, _row_number, expectation, reason` (several rows per record allowed).
Validator = Callable[[pd.DataFrame], pd.DataFrame]
FAILURE_COLUMNS = ["_file_idx", "_row_number", "expectation", "reason"]

LOADED, REJECTED = "loaded", "rejected"


@dataclass(frozen=True)
class FileResult:
    """One load-log row."""

    file: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    status: str
    error: str = ""


@dataclass
class PartitionResult:
    """What one partition's ingestion did; the Dagster asset turns it into metadata."""

    source: str
    entity: str
    extract_date: str
    files: list[FileResult] = field(default_factory=list)
    expectation_failures: dict[str, int] = field(default_factory=dict)  # validator name -> rows
    raw_file: Path | None = None

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def files_rejected(self) -> int:
        return sum(f.status == REJECTED for f in self.files)


@dataclass
class _Accepted:
    idx: int
    fr: FileRead
    mapping: dict[str, str]  # contract column -> file column
    extras: dict[str, str]  # file column -> raw name


def ingest_partition(
    paths: Paths,
    ent: Entity,
    extract_date: str,
    validator: Validator | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> PartitionResult:
    """Ingest the landing files of (ent, extract_date) and write raw + audit files.

    A partition with no files for the entity writes nothing and removes what an earlier run may
    have written for it (so re-running after a landing file was withdrawn is still idempotent).
    """
    result = PartitionResult(ent.source, ent.name, extract_date)
    files = partition_files(paths.landing, ent.source, ent.name, extract_date)
    own = con is None
    con = con or connect()
    try:
        write.ensure_schemas(con, paths, (ent,))
        if not files:
            write.remove_raw_partition(paths, ent, extract_date)
            write.remove_file(write.load_log_file(paths, ent, extract_date))
            write.remove_file(write.quarantine_file(paths, ent, extract_date))
            return result
        _ingest(con, paths, ent, extract_date, files, validator, result)
    finally:
        if own:
            con.close()
    return result


def _ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    ent: Entity,
    d: str,
    files: list[Path],
    validator: Validator | None,
    result: PartitionResult,
) -> None:
    reads = [read_file(con, p, paths.landing, f"chw_f{i}") for i, p in enumerate(files)]
    con.execute("CREATE OR REPLACE TEMP TABLE chw_files (_file_idx INTEGER, rel VARCHAR)")
    con.executemany("INSERT INTO chw_files VALUES (?, ?)", [[i, fr.rel] for i, fr in enumerate(reads)])

    accepted: list[_Accepted] = []
    rejected: dict[int, str] = {}
    for i, fr in enumerate(reads):
        if fr.error:
            rejected[i] = fr.error
            continue
        mapping, missing = match_columns(ent, fr.columns)
        if missing:
            rejected[i] = f"file {fr.rel} is missing required column(s): {', '.join(missing)}"
            continue
        accepted.append(_Accepted(i, fr, mapping, extra_names(ent, fr.columns, mapping)))

    extras = list(dict.fromkeys(n for a in accepted for n in a.extras.values()))
    counts: dict[int, tuple[int, int]] = {}
    if accepted:
        _check(con, ent, accepted, extras)
        if validator is not None:
            _apply_validator(con, validator, result)
        _dedupe(con, ent, d)
        counts = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                "SELECT _file_idx, count_if(_reason = '')::BIGINT, count_if(_reason <> '')::BIGINT "
                "FROM chw_checked GROUP BY _file_idx"
            ).fetchall()
        }

    for i, fr in enumerate(reads):
        if i in rejected:
            result.files.append(FileResult(fr.rel, fr.rows_in, 0, 0, REJECTED, rejected[i]))
        else:
            loaded, bad_rows = counts.get(i, (0, 0))
            res = FileResult(fr.rel, fr.rows_in, loaded, bad_rows + fr.rows_bad, LOADED)
            assert res.rows_in == res.rows_loaded + res.rows_quarantined, res
            result.files.append(res)

    _write_raw(con, paths, ent, d, extras, result)
    _write_audit(con, paths, ent, d, accepted, result)


def _check(con: duckdb.DuckDBPyConnection, ent: Entity, accepted: list[_Accepted], extras: list[str]) -> None:
    """Union the accepted files by (contract) name and type/check every row into chw_checked."""
    parts = []
    for a in accepted:
        cols = [f"{a.idx}::INTEGER AS _file_idx", f"{ROW}::BIGINT AS _row_number"]
        cols += [f"{ident(a.mapping[c])} AS {ident(c)}" for c in ent.column_names]
        cols += [f"{ident(src)} AS {ident(dst)}" for src, dst in a.extras.items()]
        parts.append(f"SELECT {', '.join(cols)} FROM {ident(a.fr.table)}")
    con.execute("CREATE OR REPLACE TEMP VIEW chw_all AS " + " UNION ALL BY NAME ".join(parts))
    con.execute("CREATE OR REPLACE TEMP TABLE chw_checked AS " + checked_sql(ent, "chw_all", extras))


def _apply_validator(con: duckdb.DuckDBPyConnection, validator: Validator, result: PartitionResult) -> None:
    """Run an extra validator (GX) on the good rows; failing rows get its reasons."""
    good = con.execute("SELECT * EXCLUDE (_reason) FROM chw_checked WHERE _reason = ''").df()
    if good.empty:
        return
    failures = validator(good)
    if failures is None or failures.empty:
        return
    failures = failures[FAILURE_COLUMNS].copy()
    failures["_ord"] = range(len(failures))
    con.register("chw_failures_df", failures)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE chw_failures AS
        SELECT _file_idx::INTEGER AS _file_idx, _row_number::BIGINT AS _row_number,
               string_agg(reason, '; ' ORDER BY _ord) AS reason
        FROM chw_failures_df GROUP BY 1, 2
        """
    )
    for name, n in con.execute(
        "SELECT expectation, count(DISTINCT (_file_idx, _row_number)) FROM chw_failures_df GROUP BY 1 ORDER BY 1"
    ).fetchall():
        result.expectation_failures[name] = int(n)
    con.unregister("chw_failures_df")
    con.execute(
        """
        UPDATE chw_checked SET _reason = f.reason FROM chw_failures f
        WHERE chw_checked._file_idx = f._file_idx AND chw_checked._row_number = f._row_number
        """
    )


def _dedupe(con: duckdb.DuckDBPyConnection, ent: Entity, d: str) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE chw_dupkeys AS " + dup_keys_sql(ent, "chw_checked"))
    if not con.execute("SELECT count(*) FROM chw_dupkeys").fetchone()[0]:
        return
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chw_losers AS "
        + dedupe_losers_sql(ent, "chw_checked", "chw_dupkeys", "chw_files", d)
    )
    con.execute(
        """
        UPDATE chw_checked SET _reason = l.reason FROM chw_losers l
        WHERE chw_checked._file_idx = l._file_idx AND chw_checked._row_number = l._row_number
        """
    )


def _write_raw(
    con: duckdb.DuckDBPyConnection, paths: Paths, ent: Entity, d: str, extras: list[str], result: PartitionResult
) -> None:
    """Good rows -> raw partition (contract columns typed, extras as text, lineage), in file and
    record order. No good rows -> no partition file (an extract that failed whole must not look
    like an empty snapshot)."""
    dest = write.raw_partition_file(paths, ent, d)
    if result.rows_loaded == 0:
        write.remove_raw_partition(paths, ent, d)
        return
    cols = [ident(c) for c in ent.column_names] + [f"CAST({ident(e)} AS VARCHAR) AS {ident(e)}" for e in extras]
    cols += [
        f"DATE {lit(d)} AS _extract_date",
        "f.rel AS _source_file",
        "c._row_number::BIGINT AS _row_number",
    ]
    select = (
        f"SELECT {', '.join(cols)} FROM chw_checked c JOIN chw_files f USING (_file_idx) "
        "WHERE c._reason = '' ORDER BY c._file_idx, c._row_number"
    )
    write.copy_atomic(con, select, dest)
    result.raw_file = dest


def _record_sql(a: _Accepted) -> str:
    """JSON text of a record as it arrived: the JSONL line itself, else an object of the file's
    columns (original names, text values)."""
    if a.fr.has_line:
        return f"f.{LINE}"
    args = ", ".join(f"{lit(c)}, f.{ident(c)}" for c in a.fr.columns)
    return f"json_object({args})::VARCHAR" if args else "'{}'"


def _write_audit(
    con: duckdb.DuckDBPyConnection, paths: Paths, ent: Entity, d: str, accepted: list[_Accepted], result: PartitionResult
) -> None:
    head = f"{lit(ent.source)} AS source, {lit(ent.name)} AS entity, DATE {lit(d)} AS extract_date"
    # load log: one row per file, from the results (no timestamps: re-runs are byte-identical)
    rows = [
        f"({i}, {lit(f.file)}, {f.rows_in}, {f.rows_loaded}, {f.rows_quarantined}, {lit(f.status)}, {lit(f.error)})"
        for i, f in enumerate(result.files)
    ]
    log_sql = (
        f"SELECT {head}, file, rows_in::BIGINT AS rows_in, rows_loaded::BIGINT AS rows_loaded, "
        "rows_quarantined::BIGINT AS rows_quarantined, status, error "
        f"FROM (VALUES {', '.join(rows)}) v(i, file, rows_in, rows_loaded, rows_quarantined, status, error) ORDER BY i"
    )
    write.copy_atomic(con, log_sql, write.load_log_file(paths, ent, d))

    parts = []
    for a in accepted:
        parts.append(
            f"SELECT {a.idx} AS _file_idx, {ROW} AS _row_number, reason, record FROM {ident(a.fr.bad_table)}"
        )
        parts.append(
            f"SELECT q._file_idx, q._row_number, q._reason AS reason, {_record_sql(a)} AS record "
            f"FROM chw_checked q JOIN {ident(a.fr.table)} f ON f.{ROW} = q._row_number "
            f"WHERE q._file_idx = {a.idx} AND q._reason <> ''"
        )
    if parts:
        q_sql = (
            f"SELECT {head}, fl.rel AS file, u._row_number::BIGINT AS row_number, u.reason::VARCHAR AS reason, "
            f"u.record::VARCHAR AS record FROM ({' UNION ALL '.join(parts)}) u "
            "JOIN chw_files fl USING (_file_idx) ORDER BY u._file_idx, u._row_number"
        )
    else:
        q_sql = write.empty_select(write.QUARANTINE_COLUMNS)
    write.copy_atomic(con, q_sql, write.quarantine_file(paths, ent, d))
