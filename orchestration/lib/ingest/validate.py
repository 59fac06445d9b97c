"""Cast text to the contract types and say, per row, what is wrong with it -- in one SQL pass.

The events feed is tens of millions of rows a month, so nothing here loops over rows in Python:
`checked_sql` builds one SELECT that types every contract column and computes a `_reason`
('' when the row is good) listing every problem of the row, each naming the column and the value.
`dedupe_sql` then picks one winner per key inside an extract.
"""

from __future__ import annotations

from orchestration.lib.core import contract
from orchestration.lib.core.contract import Column, Entity
from orchestration.lib.ingest.sql import ident, lit

#: ISO-8601 date or date-time, optional fraction, optional offset (Z, +hh, +hhmm, +hh:mm).
#: The regex gate matters: DuckDB would also accept 'infinity' or 'epoch' as timestamps.
TS_REGEX = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)? ?([Zz]|[+-]\d{2}(:?\d{2})?)?"
#: the same without an offset: such text is UTC wall-clock time already (see `_typed`)
TS_NO_OFFSET_REGEX = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
DATE_REGEX = r"\d{4}-\d{2}-\d{2}"
TRUE_WORDS = ("true", "t", "1", "yes")
FALSE_WORDS = ("false", "f", "0", "no")
INT_MAX = 2_147_483_647
VALUE_PREVIEW = 200  # longest value quoted in a reason


def match_columns(ent: Entity, columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map contract column -> the file's column, by name.

    An exact name wins; otherwise a unique case-/whitespace-insensitive match is accepted
    (`Account_ID` for `account_id`), because upstream exports often capitalise headers and the
    meaning is not in doubt. Returns (mapping, missing contract columns). An optional contract
    column the file leaves out is neither mapped nor missing: it loads as empty.
    """
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for col in ent.columns:
        name = col.name
        if name in columns:
            mapping[name] = name
            continue
        loose = [c for c in columns if c.strip().lower() == name and c not in mapping.values()]
        if len(loose) == 1:
            mapping[name] = loose[0]
        elif not col.optional:
            missing.append(name)
    return mapping, missing


def extra_names(ent: Entity, columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Extra (non-contract) columns of a file -> the raw column name they are kept under.

    DuckDB identifiers are case-insensitive, so an extra whose name clashes (ignoring case) with a
    contract or lineage column is kept under a suffixed name (`Tier` -> `Tier_1` when `tier` is
    also present) rather than dropped. The rule only depends on the names, so the same extra
    column gets the same raw name in every file and partition.
    """
    reserved = {c.lower() for c in ent.column_names} | {c.lower() for c in contract.LINEAGE_COLUMNS}
    used: set[str] = set()
    out: dict[str, str] = {}
    for col in columns:
        if col in mapping.values():
            continue
        name, k = col, 1
        while name.lower() in reserved or name.lower() in used:
            name, k = f"{col}_{k}", k + 1
        used.add(name.lower())
        out[col] = name
    return out


def _blank_to_null(col: Column, typed: bool = False) -> str:
    """Text of a column with blank values as NULL (empty string = NULL, per the contract).
    Free text keeps its spacing; values that must parse are trimmed first. A column that arrived
    typed (`typed`) has no blanks."""
    c = ident(col.name)
    if typed:
        return c
    if col.type == contract.TEXT and not col.allowed:
        # A value whose first character is printable ASCII is not blank: only the rest go through
        # trim(), which copies the string (4-5x the cost, per free-text column of every row)
        return f"CASE WHEN ascii({c}) BETWEEN 33 AND 126 THEN {c} WHEN trim({c}) = '' THEN NULL ELSE {c} END"
    return f"nullif(trim({c}), '')"


def _typed(col: Column, typed: bool = False) -> str:
    """Typed value of a blank-to-null text column; NULL where the text does not parse. A column
    that arrived in its type (a Parquet timestamp or date) is NULL where its text would not have
    parsed: infinity, before year 1 or after 9999 (what the date patterns below exclude)."""
    c = ident(col.name)
    if typed:
        return f"CASE WHEN isfinite({c}) AND year({c}) BETWEEN 1 AND 9999 THEN {c} END"
    if col.allowed:
        return f"lower({c})"
    if col.type == contract.TS:
        # Text without an offset casts straight to TIMESTAMP (the session is UTC, so it is the
        # same value); only text with one goes through TIMESTAMPTZ, whose ICU conversion made
        # the expression 2.6x as costly on the events feed. DuckDB's TIMESTAMP cast would
        # *ignore* an offset, hence the two patterns.
        return (
            f"CASE WHEN regexp_full_match({c}, {lit(TS_NO_OFFSET_REGEX)}) THEN try_cast({c} AS TIMESTAMP) "
            f"WHEN regexp_full_match({c}, {lit(TS_REGEX)}) "
            f"THEN CAST(try_cast({c} AS TIMESTAMPTZ) AS TIMESTAMP) END"
        )
    if col.type == contract.DATE:
        return f"CASE WHEN regexp_full_match({c}, {lit(DATE_REGEX)}) THEN try_cast({c} AS DATE) END"
    if col.type == contract.DOUBLE:
        return f"CASE WHEN isfinite(try_cast({c} AS DOUBLE)) THEN try_cast({c} AS DOUBLE) END"
    if col.type == contract.INT:
        # via DOUBLE: DuckDB would round '3.5' to 4 when casting text to INTEGER directly
        d = f"try_cast({c} AS DOUBLE)"
        return f"CASE WHEN {d} = trunc({d}) AND abs({d}) <= {INT_MAX} THEN CAST({d} AS INTEGER) END"
    if col.type == contract.BOOL:
        words = ", ".join(lit(w) for w in TRUE_WORDS)
        nwords = ", ".join(lit(w) for w in FALSE_WORDS)
        return f"CASE WHEN lower({c}) IN ({words}) THEN true WHEN lower({c}) IN ({nwords}) THEN false END"
    return c


_KIND = {contract.TS: "timestamp", contract.DATE: "date", contract.DOUBLE: "number", contract.INT: "integer", contract.BOOL: "boolean"}


def _quoted(c: str) -> str:
    return f"'''' || left(CAST({c} AS VARCHAR), {VALUE_PREVIEW}) || ''''"


def _reasons(col: Column) -> list[str]:
    """SQL expressions, each NULL or one reason naming the column and the value."""
    c, v = ident(col.name), ident(col.name + "#typed")
    out = []
    if col.required:
        out.append(f"CASE WHEN {c} IS NULL THEN {lit('missing required value in column ' + col.name)} END")
    if col.allowed:
        allowed = ", ".join(lit(a) for a in col.allowed)
        msg = f"value not allowed in column {col.name}: "
        tail = f" (allowed: {', '.join(col.allowed)})"
        out.append(
            f"CASE WHEN {c} IS NOT NULL AND lower({c}) NOT IN ({allowed}) "
            f"THEN {lit(msg)} || {_quoted(c)} || {lit(tail)} END"
        )
    elif col.type in _KIND:
        msg = f"unparseable {_KIND[col.type]} in column {col.name}: "
        out.append(f"CASE WHEN {c} IS NOT NULL AND {v} IS NULL THEN {lit(msg)} || {_quoted(c)} END")
    return out


def checked_sql(ent: Entity, source_relation: str, extras: list[str], typed: frozenset[str] = frozenset()) -> str:
    """SELECT over `source_relation` (columns: _file_idx, _row_number, every contract column as
    text -- or in its contract type, for the columns named in `typed` --, `extras` as text)
    returning _file_idx, _row_number, the contract columns typed, the extras unchanged, and
    `_reason`: '' for a good row, else every problem joined by '; '.

    Rows come out in the order they go in (raw is written in record order without a sort): the
    SELECT is projections over one relation, which DuckDB documents as order-preserving, and the
    ingest session keeps `v IN (<list>)` a plain expression (`sql.connect`)."""
    l0 = ", ".join(f"{_blank_to_null(col, col.name in typed)} AS {ident(col.name)}" for col in ent.columns)
    l1 = ", ".join(f"{_typed(col, col.name in typed)} AS {ident(col.name + '#typed')}" for col in ent.columns)
    final = ", ".join(f"CAST({ident(col.name + '#typed')} AS {col.type}) AS {ident(col.name)}" for col in ent.columns)
    extra_sel = "".join(f", {ident(e)}" for e in extras)
    reasons = [r for col in ent.columns for r in _reasons(col)]
    return f"""
        WITH l0 AS (
            SELECT _file_idx, _row_number, {l0}{extra_sel} FROM {source_relation}
        ),
        l1 AS (
            SELECT *, {l1} FROM l0
        )
        SELECT _file_idx, _row_number, {final}{extra_sel},
               concat_ws('; ', {', '.join(reasons)}) AS _reason
        FROM l1
    """


def dup_keys_sql(ent: Entity, checked: str) -> str:
    """Keys that occur more than once among the good rows of an extract (usually none: the
    expensive ranking below then runs on nothing)."""
    k = ident(ent.key)
    return f"SELECT {k} FROM {checked} WHERE _reason = '' GROUP BY {k} HAVING count(*) > 1"


#: how the reason of an exact duplicate row starts: such rows are quarantined but are not invalid
#: (the quarantine gate leaves them out of the invalid share; dbt's int_health__blocked_extract_dates
#: recognises them by this text)
EXACT_DUPLICATE = "exact duplicate"
#: likewise for an earlier version of a key in the same extract, superseded by a version with a later
#: `updated_at`: the contract's own rule for delta feeds (a ticket opened and updated on one day),
#: not invalid data
SUPERSEDED = "superseded version"


def dedupe_losers_sql(
    ent: Entity, checked: str, dupkeys: str, files: str, extract_date: str, extras: list[str] = ()
) -> str:
    """(_file_idx, _row_number, reason, exact) of every duplicate that loses to its key's winner.

    Winner: the greatest `updated_at` where the entity has one (the contract's rule for delta
    feeds), else -- and to break ties -- the last record (later file by name, later row).
    `benign`: the loser equals the winner in every column (the same record sent twice, e.g. a file
    re-sent under another name), or it is an earlier version the winner's later `updated_at`
    supersedes: its reason says so, and it is not invalid data. Any other loser (a key twice with
    no `updated_at` to tell the versions apart, or a tie) is.
    """
    k = ident(ent.key)
    order = ["updated_at DESC NULLS LAST"] if ent.has_updated_at else []
    order += ["_file_idx DESC", "_row_number DESC"]
    prefix = f"duplicate key {ent.key}="
    superseded = "c.updated_at < first_value(c.updated_at) OVER w" if ent.has_updated_at else "false"
    values = "struct_pack(" + ", ".join(f"{ident(c)} := c.{ident(c)}" for c in [*ent.column_names, *extras]) + ")"
    return f"""
        WITH ranked AS (
            SELECT c._file_idx, c._row_number, c.{k} AS k,
                   row_number() OVER w AS rk,
                   first_value(c._file_idx) OVER w AS kept_file,
                   first_value(c._row_number) OVER w AS kept_row,
                   {values} IS NOT DISTINCT FROM first_value({values}) OVER w AS exact,
                   {superseded} AS superseded
            FROM {checked} c
            WHERE c._reason = '' AND c.{k} IN (SELECT {k} FROM {dupkeys})
            WINDOW w AS (PARTITION BY c.{k} ORDER BY {', '.join(order)})
        )
        SELECT r._file_idx, r._row_number,
               CASE WHEN r.exact
                    THEN {lit(EXACT_DUPLICATE + ' of ')} || f.rel || ':' || r.kept_row::VARCHAR
                         || {lit(f' ({ent.key}=')} || r.k || {lit(f', every value equal) in extract {extract_date}: ')}
                         || {lit('loaded once, not counted as invalid; if a file was sent twice, remove the copy')}
                    WHEN r.superseded
                    THEN {lit(SUPERSEDED + ' of ')} || f.rel || ':' || r.kept_row::VARCHAR
                         || {lit(f' ({ent.key}=')} || r.k
                         || {lit(f', an earlier updated_at) in extract {extract_date}: the latest version is loaded, not counted as invalid')}
                    ELSE {lit(prefix)} || r.k || {lit(f' in extract {extract_date} (kept ')}
                         || f.rel || ':' || r.kept_row::VARCHAR || ')'
               END AS reason,
               r.exact OR r.superseded AS benign
        FROM ranked r JOIN {files} f ON f._file_idx = r.kept_file
        WHERE r.rk > 1
    """
