"""Read one landing file into DuckDB, every value as text, by column name.

Why text: validation must see the value *as it arrived* to say precisely what was wrong with it
("unparseable timestamp in column responded_at: 'yesterday'"); typing happens afterwards, in one
set-based pass (`validate.py`). Why by name: extracts may reorder columns or add new ones; extra
columns are kept, never an error.

Each reader creates a temp table `<table>` holding the file's columns (original names, VARCHAR;
Parquet timestamps and dates keep their type, see `_read_parquet`)
plus `__chw_row`, the 1-based record number, and a temp table `<table>_bad` of records that could
not even be split into columns (malformed CSV lines, JSONL lines that are not objects), each with
a reason and the record as arrived; those become quarantine rows, they never abort the file.

A CSV file DuckDB's reader fails on whole (an unclosed quote makes its sniffer give up, a record
over its line-size limit stops the scan) is read again record by record in Python
(`_read_csv_by_record`): the broken record is quarantined with its line and the parser's reason,
the others load. Only such a file pays for the slow path; every other file never leaves DuckDB.
CSV and JSONL may be gzip-compressed (`.csv.gz`, `.jsonl.gz`: DuckDB decompresses by the name).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.core import contract
from orchestration.lib.ingest.discover import SUPPORTED, file_format, type_of
from orchestration.lib.ingest.sql import LINE, ROW, columns_of, ident, lit

_NESTED_PREFIXES = ("STRUCT", "MAP", "UNION", "JSON")
#: Parquet column types read as they are, not as text: `validate.checked_sql` checks a column of
#: its contract type (timestamps without a zone, dates) without parsing it
TYPED_AS_IS = frozenset({contract.TS, contract.DATE})
#: the longest CSV record (bytes of text) loaded: DuckDB's default `max_line_size`, the fast
#: reader's own limit. A longer record (a 50 MB comment) is quarantined, with a preview only
MAX_RECORD_BYTES = 2_097_152
RECORD_PREVIEW = 1000  # characters of an oversized or unparseable record kept in quarantine


@dataclass
class FileRead:
    """What reading one file produced (tables live in the caller's DuckDB session)."""

    path: Path
    rel: str  # path relative to the landing zone, as recorded in raw and audit
    fmt: str
    table: str
    columns: list[str] = field(default_factory=list)  # data columns, original names, file order
    typed: dict[str, str] = field(default_factory=dict)  # columns not held as text -> their type
    rows_good: int = 0  # records split into columns (in `table`)
    rows_bad: int = 0  # records that could not be split (in `<table>_bad`)
    error: str = ""  # set when the file could not be read at all

    @property
    def rows_in(self) -> int:
        return self.rows_good + self.rows_bad

    @property
    def bad_table(self) -> str:
        return f"{self.table}_bad"

    @property
    def has_line(self) -> bool:
        """JSONL keeps the original line, which is the quarantine record as it arrived."""
        return self.fmt == "jsonl"


def read_file(con: duckdb.DuckDBPyConnection, path: Path, landing: Path, table: str) -> FileRead:
    """Read `path` into temp table `table` (see module doc). Never raises for bad content: an
    unreadable file comes back with `error` set and zero rows."""
    fmt = file_format(path) or ""
    try:
        rel = path.resolve().relative_to(Path(landing).resolve()).as_posix()
    except ValueError:
        rel = path.as_posix()
    fr = FileRead(path=path, rel=rel, fmt=fmt, table=table)
    readers = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}
    if path.name.startswith("."):
        # an editor's or a copy tool's hidden file (`.~lock.x.csv#`, `.x.csv.part`) is not an extract
        fr.error = f"file {rel} rejected: hidden file (its name starts with '.'), not read as an extract"
        return fr
    if fmt not in readers:
        fr.error = f"file {rel} rejected: unsupported file type {type_of(path)!r} (supported: {SUPPORTED})"
        return fr
    try:
        readers[fmt](con, fr)
    except (duckdb.Error, ValueError, OSError, UnicodeError, EOFError, csv.Error) as exc:
        _drop(con, fr)
        fr.columns, fr.rows_good, fr.rows_bad = [], _count_lines(fr), 0
        fr.error = f"file {rel} could not be read: {' '.join(str(exc).split())[:500]}"
        return fr
    described = [(c, t) for c, t in columns_of(con, ident(table)) if c not in (ROW, LINE)]
    fr.columns = [c for c, _ in described]
    fr.typed = {c: t.upper() for c, t in described if t.upper() != contract.TEXT}
    fr.rows_good, fr.rows_bad = _counts(con, fr)
    return fr


def _drop(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    for t in (fr.table, fr.bad_table, f"{fr.table}_rej", f"{fr.table}_scan"):
        con.execute(f"DROP TABLE IF EXISTS {ident(t)}")


def _open_text(path: Path) -> io.TextIOBase:
    """A landing file as text (UTF-8, undecodable bytes replaced), decompressed when gzipped;
    lines split on CR, LF or CRLF with the line ends kept (as the csv module wants them)."""
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def _count_lines(fr: FileRead) -> int:
    """rows_in of a CSV or JSONL file that cannot be parsed at all: its non-blank lines (less a
    CSV's header line); 0 when not even that can be read."""
    try:
        with _open_text(fr.path) as f:
            n = sum(1 for line in f if line.strip())
    except (OSError, EOFError, UnicodeError):
        return 0
    return max(0, n - 1) if fr.fmt == "csv" else n


def _counts(con: duckdb.DuckDBPyConnection, fr: FileRead) -> tuple[int, int]:
    """(rows in `table`, rows in `<table>_bad`), in one statement: a partition's fixed cost is
    mostly its number of statements (~0.4 ms each, hundreds of extract dates x 16 entities)."""
    good, bad = con.execute(
        f"SELECT (SELECT count(*) FROM {ident(fr.table)}), (SELECT count(*) FROM {ident(fr.bad_table)})"
    ).fetchone()
    return int(good), int(bad)


def _empty_bad(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    con.execute(
        f"CREATE TEMP TABLE {ident(fr.bad_table)} ({ROW} BIGINT, reason VARCHAR, record VARCHAR)"
    )


def _read_csv(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    """RFC-4180 CSV via DuckDB's parallel reader. Lines DuckDB cannot split (too many or too few
    fields, invalid UTF-8, ...) are captured with `store_rejects` instead of failing the file;
    their `line` is the record index counting the header as 1, so record number = line - 1 even
    when quoted fields span several physical lines."""
    rej, scan = f"{fr.table}_rej", f"{fr.table}_scan"
    try:
        _read_csv_fast(con, fr)
    except duckdb.Error as exc:
        # the whole file failed (not one record: those are in the rejects table): read it again
        # record by record, so one broken record costs that record, not the file
        _drop(con, fr)
        _read_csv_by_record(con, fr, " ".join(str(exc).split()))
    con.execute(f"DROP TABLE IF EXISTS {ident(rej)}")
    con.execute(f"DROP TABLE IF EXISTS {ident(scan)}")


def _read_csv_fast(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    t, rej, scan = fr.table, f"{fr.table}_rej", f"{fr.table}_scan"
    con.execute(
        f"""
        CREATE TEMP TABLE {ident(t)} AS
        SELECT *, row_number() OVER () AS {ROW}
        FROM read_csv({lit(str(fr.path))}, header = true, all_varchar = true, delim = ',',
                      quote = '"', escape = '"', encoding = 'utf-8', normalize_names = false,
                      null_padding = false, store_rejects = true,
                      rejects_table = {lit(rej)}, rejects_scan = {lit(scan)})
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE {ident(fr.bad_table)} AS
        SELECT (line - 1)::BIGINT AS {ROW},
               'malformed CSV record: ' || string_agg(DISTINCT error_type, ', ' ORDER BY error_type)
                 || ' (' || arg_min(error_message, coalesce(column_idx, 0)) || ')' AS reason,
               json_object('_raw_line', min(csv_line)) AS record
        FROM {ident(rej)}
        GROUP BY line
        """
    )
    n_good, n_bad = _counts(con, fr)
    if n_bad:
        # Good rows were numbered 1..G in file order; give them the record numbers that the
        # rejected records do not occupy, so that every record keeps its place in the file.
        con.execute(
            f"""
            UPDATE {ident(t)} SET {ROW} = m.rec
            FROM (
                SELECT row_number() OVER (ORDER BY n) AS g, n AS rec
                FROM range(1, {n_good + n_bad + 1}) r(n)
                WHERE n NOT IN (SELECT {ROW} FROM {ident(fr.bad_table)})
            ) m
            WHERE {ident(t)}.{ROW} = m.g AND m.g <> m.rec
            """
        )


class _Lines:
    """The physical lines of a file for `csv.reader`, with the index of the next line to read
    (the reader pulls lines one at a time and stops at a record's end, so `pos` says exactly
    where each record starts and ends, and setting it restarts parsing at any line)."""

    def __init__(self, lines: list[str]):
        self.lines, self.pos = lines, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _preview(text: str) -> dict:
    if len(text) <= RECORD_PREVIEW:
        return {"_raw_line": text}
    return {"_raw_line": text[:RECORD_PREVIEW], "_truncated_chars": len(text)}


def _read_csv_by_record(con: duckdb.DuckDBPyConnection, fr: FileRead, fast_error: str) -> None:
    """The slow path of a CSV file DuckDB failed on whole (module doc): Python's csv module, one
    record at a time. A record that does not parse (an unclosed quote runs to the end of the
    file), does not have the header's number of fields, or is longer than MAX_RECORD_BYTES is
    quarantined with its line and the reason, and parsing resumes at the line after the one it
    started on (so an unclosed quote costs its own record, not every record after it). Record
    numbers count every record, good or bad, as the fast path does. Raises ValueError when the
    header itself cannot be parsed (the file is then rejected, its lines counted)."""
    with _open_text(fr.path) as f:
        lines = list(f)
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    csv.field_size_limit(sys.maxsize)
    src = _Lines(lines)
    reader = csv.reader(src, strict=True)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise ValueError(f"the CSV header on line 1 cannot be parsed ({exc or 'empty file'}); DuckDB: {fast_error}") from None
    names = _column_names(header)
    good: list[list[str | None]] = []
    bad: list[tuple[int, str, str]] = []
    rec = 0
    while True:
        start = src.pos
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            why = f"{exc} (an unclosed quote?)" if "end of data" in str(exc) else str(exc)
            rec += 1
            bad.append((rec, f"malformed CSV record on line {start + 1}: {why}", json.dumps(_preview(lines[start]))))
            src.pos, reader = start + 1, csv.reader(src, strict=True)
            continue
        if not fields:
            continue  # a blank line is not a record
        rec += 1
        text = "".join(lines[start : src.pos])
        size = len(text.encode("utf-8"))
        if len(fields) != len(names):
            bad.append((rec, f"malformed CSV record on line {start + 1}: expected {len(names)} fields, found "
                             f"{len(fields)}", json.dumps(_preview(lines[start]))))
            if src.pos - start > 1:  # it ran over several lines: maybe a stray quote, resume after its first
                src.pos, reader = start + 1, csv.reader(src, strict=True)
            continue
        if size > MAX_RECORD_BYTES:
            bad.append((rec, f"CSV record on line {start + 1} is {size} bytes, over the {MAX_RECORD_BYTES}-byte "
                             "limit of one record (kept here truncated)", json.dumps(_preview(text))))
            continue
        if "\ufffd" in text:
            bad.append((rec, f"malformed CSV record on line {start + 1}: invalid UTF-8", json.dumps(_preview(text))))
            continue
        good.append([rec, *(v if v != "" else None for v in fields)])
    # into DuckDB as one DataFrame each (not a statement per row)
    df = pd.DataFrame(good, columns=[ROW, *names], dtype=object)
    view = f"{fr.table}_df"
    con.register(view, df)
    cols = ", ".join(f"CAST({ident(n)} AS VARCHAR) AS {ident(n)}" for n in names)
    con.execute(f"CREATE TEMP TABLE {ident(fr.table)} AS SELECT {cols}, CAST({ROW} AS BIGINT) AS {ROW} FROM {ident(view)}")
    con.unregister(view)
    bad_df = pd.DataFrame(bad, columns=[ROW, "reason", "record"], dtype=object)
    con.register(view, bad_df)
    con.execute(
        f"CREATE TEMP TABLE {ident(fr.bad_table)} AS SELECT CAST({ROW} AS BIGINT) AS {ROW}, "
        f"CAST(reason AS VARCHAR) AS reason, CAST(record AS VARCHAR) AS record FROM {ident(view)}"
    )
    con.unregister(view)


def _column_names(header: list[str]) -> list[str]:
    """Header names as DuckDB's reader gives them: a blank name becomes `column<i>`, a repeated
    one gets `_<n>` appended."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(header):
        name = name or f"column{i}"
        base, n = name, 0
        while name.lower() in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name.lower())
        out.append(name)
    return out


def _read_jsonl(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    """Newline-delimited JSON, read as lines first so that one broken line is a quarantine row
    (not a failed file) and keeps its line number; then each valid object is parsed once with
    `json_transform` into one VARCHAR per key seen anywhere in the file (numbers, booleans and
    nested objects arrive as their JSON text). Blank lines are not records."""
    lines = f"{fr.table}_lines"
    oversized: list[tuple[int, str, str]] = []
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE {ident(lines)} AS
            SELECT row_number() OVER () AS {ROW}, line AS {LINE}
            FROM read_csv({lit(str(fr.path))}, columns = {{'line': 'VARCHAR'}}, header = false,
                          delim = {lit(chr(1))}, quote = '', escape = '', auto_detect = false,
                          strict_mode = false, null_padding = true, encoding = 'utf-8')
            """
        )
    except duckdb.Error:
        # a line over DuckDB's line-size limit fails the whole scan: split the lines in Python
        # instead (this file only), and quarantine the oversized ones
        con.execute(f"DROP TABLE IF EXISTS {ident(lines)}")
        oversized = _jsonl_lines_by_python(con, fr, lines)
    con.execute(f"DELETE FROM {ident(lines)} WHERE {LINE} IS NULL OR trim({LINE}) = ''")
    is_obj = f"(CASE WHEN json_valid({LINE}) THEN json_type({LINE}) = 'OBJECT' ELSE false END)"
    con.execute(
        f"""
        CREATE TEMP TABLE {ident(fr.bad_table)} AS
        SELECT {ROW}::BIGINT AS {ROW},
               CASE WHEN json_valid({LINE}) THEN 'malformed JSONL record: not a JSON object'
                    ELSE 'malformed JSONL record: invalid JSON' END AS reason,
               json_object('_raw_line', {LINE}) AS record
        FROM {ident(lines)} WHERE NOT {is_obj}
        """
    )
    if oversized:
        con.executemany(f"INSERT INTO {ident(fr.bad_table)} VALUES (?, ?, ?)", oversized)
    keys = [
        r[0]
        for r in con.execute(
            f"""
            SELECT k FROM (
                SELECT {ROW} AS r, unnest(json_keys({LINE})) AS k,
                       unnest(range(len(json_keys({LINE})))) AS pos
                FROM {ident(lines)} WHERE {is_obj}
            ) GROUP BY k ORDER BY min(r), min(pos), k
            """
        ).fetchall()
    ]
    if not keys:
        con.execute(
            f"CREATE TEMP TABLE {ident(fr.table)} AS SELECT {ROW}, {LINE} FROM {ident(lines)} WHERE false"
        )
    else:
        shape = lit(json.dumps({k: "VARCHAR" for k in keys}))
        con.execute(
            f"""
            CREATE TEMP TABLE {ident(fr.table)} AS
            SELECT unnest(json_transform({LINE}, {shape})), {ROW}, {LINE}
            FROM {ident(lines)} WHERE {is_obj}
            """
        )
    con.execute(f"DROP TABLE {ident(lines)}")


def _jsonl_lines_by_python(con: duckdb.DuckDBPyConnection, fr: FileRead, lines: str) -> list[tuple[int, str, str]]:
    """The slow path of `_read_jsonl`: its lines table from Python; returns the quarantine rows
    (line number, reason, record preview) of the lines over MAX_RECORD_BYTES, left out of it."""
    kept: list[tuple[int, str]] = []
    oversized: list[tuple[int, str, str]] = []
    with _open_text(fr.path) as f:
        text = f.read()
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        size = len(line.encode("utf-8"))
        if size > MAX_RECORD_BYTES:
            why = f"JSONL record on line {n} is {size} bytes, over the {MAX_RECORD_BYTES}-byte limit of one record (kept here truncated)"
            oversized.append((n, why, json.dumps(_preview(line))))
        else:
            kept.append((n, line))
    if text.endswith("\n"):
        kept = kept[:-1]  # the final line end does not start a line
    view = f"{lines}_df"
    con.register(view, pd.DataFrame(kept, columns=[ROW, LINE], dtype=object))
    con.execute(
        f"CREATE TEMP TABLE {ident(lines)} AS SELECT CAST({ROW} AS BIGINT) AS {ROW}, CAST({LINE} AS VARCHAR) AS {LINE} "
        f"FROM {ident(view)}"
    )
    con.unregister(view)
    return oversized


def _read_parquet(con: duckdb.DuckDBPyConnection, fr: FileRead) -> None:
    """Parquet is typed; every column is rendered as text (nested values as JSON) so that it goes
    through the same validation as CSV and JSONL -- except TIMESTAMP and DATE columns, which are
    kept as they are (`TYPED_AS_IS`). Rendering a timestamp as text only for validation to parse
    it back cost a third of the events feed's ingest (typing 83 -> 47 ms, reading 79 -> 62 ms per
    300 k events); `validate.checked_sql` applies the same rules to the typed value. Parquet has
    no malformed records."""
    src = f"read_parquet({lit(str(fr.path))}, file_row_number = true)"
    cols = [(c, t) for c, t in columns_of(con, f"SELECT * FROM {src}") if c != "file_row_number"]
    exprs = []
    for c, t in cols:
        nested = t.upper().startswith(_NESTED_PREFIXES) or t.endswith("]")
        if t.upper() in TYPED_AS_IS:
            expr = ident(c)
        elif nested:
            expr = f"to_json({ident(c)})::VARCHAR"
        else:
            expr = f"CAST({ident(c)} AS VARCHAR)"
        exprs.append(f"{expr} AS {ident(c)}")
    select = ", ".join([*exprs, f"(file_row_number + 1)::BIGINT AS {ROW}"])
    con.execute(f"CREATE TEMP TABLE {ident(fr.table)} AS SELECT {select} FROM {src}")
    _empty_bad(con, fr)
