"""Ingest one (entity, extract date): landing files -> raw Parquet + load log + quarantine.

The steps, all in one in-memory DuckDB session (a caller ingesting many partitions passes one
session per thread and reuses it: `sql.Sessions`):
1. read every file of the partition as text (`read.py`); a file missing a contract column, of a
   type ingestion cannot read, hidden, in a subfolder, or one that cannot be read at all, is
   rejected whole with the reason -- the other files still load;
2. type and check every row in one SQL pass (`validate.py`);
3. optionally run an extra row validator on the good rows (great-expectations for surveys);
4. resolve duplicate keys within the extract (an exact duplicate row is marked as such: it is
   quarantined but not invalid, `PartitionResult.invalid_pct`);
5. write good rows to raw, bad rows to quarantine, one load-log row per file (`write.py`).

`ingest_partitions` does the same for many extract dates of one entity with ONE call of a batch
validator over the good rows of all of them (steps 1-2 for every date, 3 once, then 4-5 per date):
great-expectations costs about a second per validation whatever the batch size, so validating
365 small survey batches one by one cost minutes.

Nothing is lost: for every loaded file rows_in = rows_loaded + rows_quarantined, and a rejected
file keeps its rows_in and its error. Nothing depends on the clock, so a re-run writes the same
bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.core.contract import Entity
from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest import landing_state, write
from orchestration.lib.ingest.discover import is_nested, partition_files
from orchestration.lib.ingest.read import FileRead, read_file
from orchestration.lib.ingest.sql import LINE, ROW, connect, ident, lit, reset
from orchestration.lib.ingest.validate import (
    checked_sql,
    dedupe_losers_sql,
    dup_keys_sql,
    extra_names,
    match_columns,
)

#: A row validator gets the typed good rows of a partition (contract columns, extras,
#: `_file_idx`, `_row_number`) and returns failures: a DataFrame with columns
#: `_file_idx, _row_number, expectation, reason` (several rows per record allowed).
Validator = Callable[[pd.DataFrame], pd.DataFrame]
FAILURE_COLUMNS = ["_file_idx", "_row_number", "expectation", "reason"]
#: A batch validator gets the good rows of several partitions, each with `_extract_date`
#: ('YYYY-MM-DD') besides the columns above, and every extract date being ingested (also those
#: without good rows), and returns failures with `_extract_date` too.
BatchValidator = Callable[[pd.DataFrame, list[str]], pd.DataFrame]
BATCH_FAILURE_COLUMNS = ["_extract_date", *FAILURE_COLUMNS]
#: at most this many extract dates are held in one session for one batch validation (memory bound
#: on multi-year backfills; validation in date-ordered chunks gives the same result)
MAX_BATCH_DATES = 366

LOADED, REJECTED = "loaded", "rejected"
#: tables of a staged partition are named `<CHUNK_PREFIX><k>_...` (k: its place in the chunk)
CHUNK_PREFIX = "chw"


@dataclass(frozen=True)
class FileResult:
    """One load-log row."""

    file: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    status: str
    error: str = ""
    #: of rows_quarantined, exact duplicates of a loaded row and versions a later `updated_at`
    #: superseded: not invalid (not in the load log: the gate's figure)
    rows_duplicate: int = 0


@dataclass
class PartitionResult:
    """What one partition's ingestion did; the Dagster asset turns it into metadata."""

    source: str
    entity: str
    extract_date: str
    files: list[FileResult] = field(default_factory=list)
    expectation_failures: dict[str, int] = field(default_factory=dict)  # validator name -> rows
    raw_file: Path | None = None
    validated: bool = False  # the good rows went through the row validator
    # rows the validator flagged that were loaded anyway, by expectation (must stay empty: the
    # blocking survey check reads it instead of validating raw a second time)
    loaded_failing_validation: dict[str, int] = field(default_factory=dict)

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

    @property
    def rows_duplicate(self) -> int:
        return sum(f.rows_duplicate for f in self.files)

    @property
    def rows_invalid(self) -> int:
        """Quarantined rows that are not exact duplicates of a loaded row."""
        return self.rows_quarantined - self.rows_duplicate

    @property
    def invalid_pct(self) -> float:
        """The share of invalid rows among the rows read, exact duplicates left out of both
        (a file sent twice is not bad data); the quarantine gate's figure."""
        checked = self.rows_loaded + self.rows_invalid
        return 100.0 * self.rows_invalid / checked if checked else 0.0


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
    schemas: bool = True,
) -> PartitionResult:
    """Ingest the landing files of (ent, extract_date) and write raw + audit files.

    A partition with no files for the entity writes nothing and removes what an earlier run may
    have written for it (so re-running after a landing file was withdrawn is still idempotent).
    `con`: a session to use (left with no tables afterwards); `schemas=False` when the caller
    already wrote the entity's `_schema` files for this run (`write.ensure_schemas`).
    """
    batch = None
    if validator is not None:

        def batch(df: pd.DataFrame, dates: list[str]) -> pd.DataFrame:
            out = validator(df.drop(columns=["_extract_date"]))
            if out is None:
                return pd.DataFrame(columns=BATCH_FAILURE_COLUMNS)
            return out.assign(_extract_date=extract_date)

    return ingest_partitions(paths, ent, [extract_date], batch, con=con, schemas=schemas)[0]


def ingest_partitions(
    paths: Paths,
    ent: Entity,
    extract_dates: list[str],
    validator: BatchValidator | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    schemas: bool = True,
    on_result: Callable[[PartitionResult], None] | None = None,
) -> list[PartitionResult]:
    """Ingest several extract dates of one entity in one session, in the given order.

    Without a validator each partition is finished before the next is read. With one, the dates
    are read and checked in chunks of up to MAX_BATCH_DATES, the validator runs once per chunk over
    the good rows of all its dates, then each partition is finished (deduplicated and written) in
    order. `on_result` is called as each partition is written.
    """
    own = con is None
    con = con or connect()
    results: list[PartitionResult] = []
    try:
        if schemas:
            write.ensure_schemas(con, paths, (ent,))
        step = MAX_BATCH_DATES if validator is not None else 1
        for start in range(0, len(extract_dates), step):
            chunk = extract_dates[start : start + step]
            staged: list[_Staged] = []
            try:
                for k, d in enumerate(chunk):
                    result = PartitionResult(ent.source, ent.name, d)
                    files = partition_files(paths.landing, ent.source, ent.name, d)
                    if not files:
                        _remove_partition(paths, ent, d)
                        results.append(result)
                        if on_result:
                            on_result(result)
                        continue
                    seen = landing_state.snapshot(files)  # before reading: a file changed meanwhile is re-read next run
                    staged.append(_stage(con, paths, ent, d, files, f"{CHUNK_PREFIX}{k}_", result, seen))
                failures = _validate(con, validator, staged, chunk) if validator is not None else None
                for st in staged:
                    _finish(con, paths, ent, st, failures)
                    results.append(st.result)
                    if on_result:
                        on_result(st.result)
                # the chunk's tables, listed once: a validated chunk stages every date at once, and
                # listing that catalog per partition cost 7 ms each at 365 partitions (survey
                # responses at preset M: 2.7 s of 24 s); without a validator a chunk is one date
                if staged:
                    _drop_prefixed(con, CHUNK_PREFIX)
            except BaseException:
                if not own:
                    with contextlib.suppress(duckdb.Error):
                        reset(con)  # leave the caller's session clean for its next partition
                raise
    finally:
        if own:
            con.close()
    order = {d: i for i, d in enumerate(extract_dates)}
    results.sort(key=lambda r: order[r.extract_date])
    return results


def _remove_partition(paths: Paths, ent: Entity, d: str) -> None:
    write.remove_raw_partition(paths, ent, d)
    write.remove_file(write.load_log_file(paths, ent, d))
    write.remove_file(write.quarantine_file(paths, ent, d))
    landing_state.forget(paths, ent, d)


@dataclass
class _Staged:
    """A partition read and checked (its tables, prefixed `p`, live in the session)."""

    d: str
    p: str
    reads: list[FileRead]
    accepted: list[_Accepted]
    rejected: dict[int, str]
    extras: list[str]
    result: PartitionResult
    seen: dict  # the landing files as listed before reading (landing_state.snapshot)


def _stage(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    ent: Entity,
    d: str,
    files: list[Path],
    p: str,
    result: PartitionResult,
    seen: dict,
) -> _Staged:
    """Steps 1-2: read the files, reject the unusable ones, type and check every row."""
    reads = [read_file(con, path, paths.landing, f"{p}f{i}") for i, path in enumerate(files)]
    rows = ", ".join(f"({i}, {lit(fr.rel)})" for i, fr in enumerate(reads))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {p}files AS "
        f"SELECT _file_idx::INTEGER AS _file_idx, rel::VARCHAR AS rel FROM (VALUES {rows}) v(_file_idx, rel)"
    )

    accepted: list[_Accepted] = []
    rejected: dict[int, str] = {}
    for i, fr in enumerate(reads):
        if fr.error:
            rejected[i] = fr.error
            continue
        if is_nested(fr.path):  # read only to keep its rows_in
            rejected[i] = (
                f"file {fr.rel} rejected: it is in a subfolder of its extract-date folder "
                "(files belong directly in <source>/<entity>/<YYYY-MM-DD>/)"
            )
            continue
        mapping, missing = match_columns(ent, fr.columns)
        if missing:
            rejected[i] = f"file {fr.rel} is missing required column(s): {', '.join(missing)}"
            continue
        accepted.append(_Accepted(i, fr, mapping, extra_names(ent, fr.columns, mapping)))

    extras = list(dict.fromkeys(n for a in accepted for n in a.extras.values()))
    if accepted:
        _check(con, ent, accepted, extras, p)
    return _Staged(d, p, reads, accepted, rejected, extras, result, seen)


def _validate(
    con: duckdb.DuckDBPyConnection, validator: BatchValidator, staged: list[_Staged], dates: list[str]
) -> pd.DataFrame | None:
    """Step 3 for every staged partition at once: one validator call over all their good rows."""
    parts = [
        f"SELECT {lit(st.d)} AS _extract_date, * EXCLUDE (_reason) FROM {st.p}checked WHERE _reason = ''"
        for st in staged
        if st.accepted
    ]
    if not parts:
        return None
    good = con.execute(" UNION ALL BY NAME ".join(parts)).df()
    for st in staged:
        st.result.validated = bool(st.accepted)
    if good.empty:
        return None
    failures = validator(good, dates)
    if failures is None or failures.empty:
        return None
    failures = failures[BATCH_FAILURE_COLUMNS].copy()
    failures["_ord"] = range(len(failures))
    return failures


def _finish(
    con: duckdb.DuckDBPyConnection, paths: Paths, ent: Entity, st: _Staged, failures: pd.DataFrame | None
) -> None:
    """Steps 3 (apply the validator's failures) to 5 for one staged partition (its tables are
    dropped with its chunk's)."""
    p, d, result = st.p, st.d, st.result
    counts: dict[int, tuple[int, int]] = {}
    duplicates: dict[int, int] = {}
    if st.accepted:
        applied = False
        if failures is not None:
            mine = failures[failures["_extract_date"] == d]
            if not mine.empty:
                _apply_failures(con, mine, result, p)
                applied = True
        duplicates = _dedupe(con, ent, d, p, st.extras)
        if applied:
            result.loaded_failing_validation = {
                str(name): int(n)
                for name, n in con.execute(
                    f"""
                    SELECT f.expectation, count(DISTINCT (f._file_idx, f._row_number))
                    FROM {p}failures_exp f JOIN {p}checked c USING (_file_idx, _row_number)
                    WHERE c._reason = '' GROUP BY 1 ORDER BY 1
                    """
                ).fetchall()
            }
        counts = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                "SELECT _file_idx, count_if(_reason = '')::BIGINT, count_if(_reason <> '')::BIGINT "
                f"FROM {p}checked GROUP BY _file_idx"
            ).fetchall()
        }

    for i, fr in enumerate(st.reads):
        if i in st.rejected:
            result.files.append(FileResult(fr.rel, fr.rows_in, 0, 0, REJECTED, st.rejected[i]))
        else:
            loaded, bad_rows = counts.get(i, (0, 0))
            res = FileResult(fr.rel, fr.rows_in, loaded, bad_rows + fr.rows_bad, LOADED, "", duplicates.get(i, 0))
            assert res.rows_in == res.rows_loaded + res.rows_quarantined, res
            result.files.append(res)

    _write_raw(con, paths, ent, d, st, result)
    _write_audit(con, paths, ent, d, st.accepted, result, p)
    landing_state.record(paths, ent, d, st.seen)  # last: only a finished partition counts as ingested


def _drop_prefixed(con: duckdb.DuckDBPyConnection, p: str) -> None:
    """Drop a finished partition's tables and views (others staged in the session stay)."""
    listed = con.execute(
        f"""
        SELECT 'VIEW' AS kind, view_name FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, {lit(p)})
        UNION ALL
        SELECT 'TABLE', table_name FROM duckdb_tables() WHERE starts_with(table_name, {lit(p)})
        ORDER BY kind DESC
        """
    ).fetchall()
    for kind, name in listed:
        con.execute(f"DROP {kind} IF EXISTS {ident(name)}")


def _check(
    con: duckdb.DuckDBPyConnection, ent: Entity, accepted: list[_Accepted], extras: list[str], p: str
) -> None:
    """Union the accepted files by (contract) name and type/check every row into chw_checked.

    A contract column that every file holds in its contract type already (Parquet timestamps and
    dates, `read.TYPED_AS_IS`) stays typed; everything else goes in as text, so that one file's
    text never meets another's typed column in the union."""
    typed = frozenset(
        c.name for c in ent.columns if all(a.fr.typed.get(a.mapping.get(c.name, "")) == c.type for a in accepted)
    )

    def text(a: _Accepted, src: str) -> str:
        return f"CAST({ident(src)} AS VARCHAR)" if src in a.fr.typed else ident(src)

    parts = []
    for a in accepted:
        cols = [f"{a.idx}::INTEGER AS _file_idx", f"{ROW}::BIGINT AS _row_number"]
        cols += [
            f"{ident(a.mapping[c]) if c in typed else text(a, a.mapping[c])} AS {ident(c)}"
            if c in a.mapping
            else f"CAST(NULL AS VARCHAR) AS {ident(c)}"  # an optional column the file leaves out
            for c in ent.column_names
        ]
        cols += [f"{text(a, src)} AS {ident(dst)}" for src, dst in a.extras.items()]
        parts.append(f"SELECT {', '.join(cols)} FROM {ident(a.fr.table)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {p}all AS " + " UNION ALL BY NAME ".join(parts))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {p}checked AS " + checked_sql(ent, f"{p}all", extras, typed))


def _apply_failures(con: duckdb.DuckDBPyConnection, failures: pd.DataFrame, result: PartitionResult, p: str) -> None:
    """Failing rows of the validator (GX) get its reasons, in the validator's order."""
    failures = failures[[*FAILURE_COLUMNS, "_ord"]]
    con.register(f"{p}failures_df", failures)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {p}failures_exp AS
        SELECT _file_idx::INTEGER AS _file_idx, _row_number::BIGINT AS _row_number, expectation::VARCHAR AS expectation
        FROM {p}failures_df
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {p}failures AS
        SELECT _file_idx::INTEGER AS _file_idx, _row_number::BIGINT AS _row_number,
               string_agg(reason, '; ' ORDER BY _ord) AS reason
        FROM {p}failures_df GROUP BY 1, 2
        """
    )
    for name, n in con.execute(
        f"SELECT expectation, count(DISTINCT (_file_idx, _row_number)) FROM {p}failures_df GROUP BY 1 ORDER BY 1"
    ).fetchall():
        result.expectation_failures[name] = int(n)
    con.unregister(f"{p}failures_df")
    con.execute(
        f"""
        UPDATE {p}checked SET _reason = f.reason FROM {p}failures f
        WHERE {p}checked._file_idx = f._file_idx AND {p}checked._row_number = f._row_number
        """
    )


def _dedupe(con: duckdb.DuckDBPyConnection, ent: Entity, d: str, p: str, extras: list[str]) -> dict[int, int]:
    """Quarantine the losing versions of duplicate keys; returns by file those that are not invalid
    (exact duplicates, versions superseded by a later `updated_at`)."""
    # most extracts have no duplicate key: one statement says so, before any table is made
    if not con.execute(f"SELECT count(*) FROM ({dup_keys_sql(ent, f'{p}checked')})").fetchone()[0]:
        return {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {p}dupkeys AS " + dup_keys_sql(ent, f"{p}checked"))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {p}losers AS "
        + dedupe_losers_sql(ent, f"{p}checked", f"{p}dupkeys", f"{p}files", d, extras)
    )
    con.execute(
        f"""
        UPDATE {p}checked SET _reason = l.reason FROM {p}losers l
        WHERE {p}checked._file_idx = l._file_idx AND {p}checked._row_number = l._row_number
        """
    )
    return {
        int(i): int(n)
        for i, n in con.execute(f"SELECT _file_idx, count(*) FROM {p}losers WHERE benign GROUP BY 1").fetchall()
    }


def _write_raw(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    ent: Entity,
    d: str,
    st: _Staged,
    result: PartitionResult,
) -> None:
    """Good rows -> raw partition (contract columns typed, extras as text, lineage), in file and
    record order. No good rows -> no partition file (an extract that failed whole must not look
    like an empty snapshot)."""
    p = st.p
    dest = write.raw_partition_file(paths, ent, d)
    if result.rows_loaded == 0:
        write.remove_raw_partition(paths, ent, d)
        return
    cols = [ident(c) for c in ent.column_names] + [f"CAST({ident(e)} AS VARCHAR) AS {ident(e)}" for e in st.extras]
    # the file's name by a CASE over the partition's few files, not a join (130 -> 122 ms per 300 k
    # events). No sort: the checked rows are in file and record order already (each file is read
    # in record order, the files are unioned in order, and validate.checked_sql preserves order;
    # DuckDB keeps insertion order through UNION ALL, projections and filters, and sql.connect
    # keeps IN lists from becoming joins). The sort cost 70-80 of ~260 ms per events extract
    # (tests/test_ingest_unit.py: large files are written in file and record order).
    source_file = " ".join(f"WHEN {i} THEN {lit(fr.rel)}" for i, fr in enumerate(st.reads))
    cols += [
        f"DATE {lit(d)} AS _extract_date",
        f"CASE c._file_idx {source_file} END AS _source_file",
        "c._row_number::BIGINT AS _row_number",
    ]
    select = f"SELECT {', '.join(cols)} FROM {p}checked c WHERE c._reason = ''"
    write.copy_atomic(con, select, dest)
    result.raw_file = dest


def _record_sql(a: _Accepted) -> str:
    """JSON text of a record as it arrived: the JSONL line itself, else an object of the file's
    columns (original names, text values; a typed Parquet column rendered as text, as before it
    was kept typed)."""
    if a.fr.has_line:
        return f"f.{LINE}"
    args = ", ".join(
        f"{lit(c)}, " + (f"CAST(f.{ident(c)} AS VARCHAR)" if c in a.fr.typed else f"f.{ident(c)}") for c in a.fr.columns
    )
    return f"json_object({args})::VARCHAR" if args else "'{}'"


def _write_audit(
    con: duckdb.DuckDBPyConnection,
    paths: Paths,
    ent: Entity,
    d: str,
    accepted: list[_Accepted],
    result: PartitionResult,
    p: str,
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

    dest = write.quarantine_file(paths, ent, d)
    empty = write.audit_schema_file(paths, "quarantine")
    if result.rows_quarantined == 0 and empty.exists():
        # the usual case: the zero-row schema file, copied (one COPY statement fewer per partition)
        write.copy_file_atomic(empty, dest)
        return
    parts = []
    for a in accepted:
        parts.append(
            f"SELECT {a.idx} AS _file_idx, {ROW} AS _row_number, reason, record FROM {ident(a.fr.bad_table)}"
        )
        parts.append(
            f"SELECT q._file_idx, q._row_number, q._reason AS reason, {_record_sql(a)} AS record "
            f"FROM {p}checked q JOIN {ident(a.fr.table)} f ON f.{ROW} = q._row_number "
            f"WHERE q._file_idx = {a.idx} AND q._reason <> ''"
        )
    if parts:
        q_sql = (
            f"SELECT {head}, fl.rel AS file, u._row_number::BIGINT AS row_number, u.reason::VARCHAR AS reason, "
            f"u.record::VARCHAR AS record FROM ({' UNION ALL '.join(parts)}) u "
            f"JOIN {p}files fl USING (_file_idx) ORDER BY u._file_idx, u._row_number"
        )
    else:
        q_sql = write.empty_select(write.QUARANTINE_COLUMNS)
    write.copy_atomic(con, q_sql, dest)
