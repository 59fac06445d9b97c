"""Writes landing files (CSV, JSONL, Parquet), injects the row-level defects and records every
injected defect with its file and 1-based row number.

Rows are dicts of Python values; keys starting with `_` are metadata, never written:
`_tz` (minutes: write this row's timestamps with that UTC offset), `_late` (the date the record
really happened, for late arrivals), `_resent` (the id was in an earlier extract), `_scale`
(survey scale (min, max, metric) for score defects).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..core import contract
from . import config as cf

# kinds of defects; the first group is not an error (nothing is quarantined for them)
INFO_KINDS = ("late_arrival", "resent_update")
QUARANTINED_KINDS = ("duplicate_key", "out_of_scale_score", "non_integer_nps", "unknown_survey",
                     "unparseable_timestamp", "missing_required_column")
DEFECT_KINDS = INFO_KINDS + QUARANTINED_KINDS
INFO_LIST_CAP = 20_000  # informational kinds are listed up to this many entries (counted in full)

FORMAT = {"survey/responses": "jsonl", "helpdesk/tickets": "jsonl", "reviews/reviews": "jsonl",
          "product/events": "parquet"}
EXTRA_COLUMNS = {"crm/accounts": ["website"], "helpdesk/tickets": ["subject"], "helpdesk/ticket_comments": ["body"],
                 "survey/responses": ["channel"], "helpdesk/calls": ["duration_seconds"]}
# the timestamp column made unparseable, per entity
TS_TARGET = {"survey/responses": "responded_at", "helpdesk/tickets": "created_at",
             "helpdesk/ticket_comments": "created_at", "helpdesk/calls": "offered_at",
             "crm/activities": "occurred_at"}
# (kind, probability per eligible file)
INJECT = {
    "survey/responses": (("out_of_scale_score", 0.35), ("non_integer_nps", 0.3), ("unknown_survey", 0.2),
                         ("unparseable_timestamp", 0.12), ("duplicate_key", 0.1)),
    "helpdesk/tickets": (("unparseable_timestamp", 0.06),),
    "helpdesk/ticket_comments": (("duplicate_key", 0.05), ("unparseable_timestamp", 0.03)),
    "helpdesk/calls": (("duplicate_key", 0.06), ("unparseable_timestamp", 0.04)),
    "crm/activities": (("duplicate_key", 0.05), ("unparseable_timestamp", 0.04)),
}
BAD_TIMESTAMPS = ("31/02/2026 25:61", "yesterday", "2026-13-45T10:00:00", "tomorrow 9am", "2026/02/30 24:00")
ROWS_PER_BAD_ROW = 25  # at most one bad row per 25 rows of a file (4 %)


def fmt_ts(v: dt.datetime, tz: int | None) -> str:
    if tz:
        local = v + dt.timedelta(minutes=tz)
        sign = "+" if tz > 0 else "-"
        return f"{local.isoformat(timespec='seconds')}{sign}{abs(tz) // 60:02d}:{abs(tz) % 60:02d}"
    return v.isoformat(timespec="seconds")


def _plain(v, tz, for_csv: bool):
    if isinstance(v, dt.datetime):
        return fmt_ts(v, tz)
    if isinstance(v, dt.date):
        return v.isoformat()
    if for_csv:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
    return v


class Sink:
    def __init__(self, out_dir: Path, seed: int):
        self.out = Path(out_dir)
        self.r = random.Random(f"{seed}-defects")
        self.files_written = 0
        self.rows_by_entity: Counter[str] = Counter()
        self.defects: dict[str, list[dict]] = {k: [] for k in DEFECT_KINDS}
        self.defect_counts: Counter[str] = Counter()
        self.drop_column: dict[tuple[str, dt.date], str] = {}  # (entity key, date) -> column left out

    # -- bookkeeping ---------------------------------------------------------------------------
    def record(self, kind: str, entity_key: str, d: dt.date, rel: str, row_number: int | None, /, **extra):
        self.defect_counts[kind] += 1
        if kind in INFO_KINDS and len(self.defects[kind]) >= INFO_LIST_CAP:
            return
        source, entity = entity_key.split("/")
        self.defects[kind].append({"kind": kind, "source": source, "entity": entity, "extract_date": d,
                                   "file": rel, "row_number": row_number, **extra})

    def path(self, key: str, d: dt.date, name: str) -> tuple[Path, str]:
        rel = f"{key}/{d.isoformat()}/{name}"
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p, rel

    # -- defects -------------------------------------------------------------------------------
    def _inject(self, key: str, rows: list[dict]) -> list[dict]:
        rules = INJECT.get(key)
        budget = len(rows) // ROWS_PER_BAD_ROW
        if rules and budget == 0 and len(rows) >= 6 and any(not self.defect_counts[k] for k, _ in rules):
            budget = 1  # small presets: each kind still shows up once (1 of >= 6 rows stays under quarantine_block_pct)
        if not rules or budget == 0:
            return rows
        r = self.r
        ent = contract.entity(*key.split("/"))
        rows = list(rows)
        for kind, prob in rules:
            if not self.defect_counts[kind]:  # make sure every kind shows up early
                prob = max(prob, 0.9)
            elif len(rows) < ROWS_PER_BAD_ROW:
                continue  # the forced budget above is for a kind's first showing only
            if budget == 0 or r.random() >= prob:
                continue
            clean = [i for i, row in enumerate(rows) if "_defect" not in row and "_late" not in row
                     and "_resent" not in row]
            if kind == "non_integer_nps":
                clean = [i for i in clean if rows[i].get("_scale", (0, 0, ""))[2] == "nps"]
            if kind == "out_of_scale_score":
                clean = [i for i in clean if "_scale" in rows[i]]
            if not clean:
                continue
            i = r.choice(clean)
            row = dict(rows[i])
            row["_defect"] = kind
            if kind == "duplicate_key":
                row["_dup_of"] = rows[i][ent.key]
                rows.insert(r.randint(i + 1, len(rows)), row)
            else:
                if kind == "out_of_scale_score":
                    lo, hi, _metric = row["_scale"]
                    row["score"] = hi + 1 if r.random() < 0.7 or lo == 0 else lo - 1
                elif kind == "non_integer_nps":
                    row["score"] = min(float(row["score"]), 9.0) + 0.5
                elif kind == "unknown_survey":
                    row["survey_id"] = r.choice(cf.UNKNOWN_SURVEY_IDS)
                    row["invitation_id"] = None
                elif kind == "unparseable_timestamp":
                    row[TS_TARGET[key]] = r.choice(BAD_TIMESTAMPS)
                rows[i] = row
            budget -= 1
        return rows

    # -- writing -------------------------------------------------------------------------------
    def emit(self, key: str, d: dt.date, rows: list[dict], name: str | None = None, fmt: str | None = None,
             inject: bool = True):
        """Write one landing file of entity `key` ("source/entity") for extract date d."""
        fmt = fmt or FORMAT.get(key, "csv")
        if fmt == "jsonl" and not rows:
            return  # an empty JSONL file says nothing; the day has no file for this entity
        ent = contract.entity(*key.split("/"))
        columns = ent.column_names + EXTRA_COLUMNS.get(key, [])
        dropped = self.drop_column.get((key, d))
        if dropped:
            columns = [c for c in columns if c != dropped]
        if inject:
            rows = self._inject(key, rows)
        path, rel = self.path(key, d, f"{name or ent.name}.{fmt}")
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\r\n")
            w.writerow(columns)
            for row in rows:
                tz = row.get("_tz")
                w.writerow([_plain(row.get(c), tz, True) for c in columns])
            path.write_bytes(buf.getvalue().encode("utf-8"))
        else:
            lines = []
            for row in rows:
                tz = row.get("_tz")
                lines.append(json.dumps({c: _plain(row.get(c), tz, False) for c in columns}, ensure_ascii=False))
            path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        self.files_written += 1
        self.rows_by_entity[ent.asset_name] += len(rows)
        if dropped:
            self.record("missing_required_column", key, d, rel, None, column=dropped)
        for n, row in enumerate(rows, start=1):
            if "_defect" in row:
                extra = {"key": row.get(ent.key)}
                if "_dup_of" in row:
                    extra["duplicate_of_key"] = row["_dup_of"]
                self.record(row["_defect"], key, d, rel, n, **extra)
            if "_late" in row:
                self.record("late_arrival", key, d, rel, n, key=row.get(ent.key), happened_on=row["_late"])
            if "_resent" in row:
                self.record("resent_update", key, d, rel, n, key=row.get(ent.key))

    def emit_parquet(self, key: str, d: dt.date, table: pa.Table, name: str | None = None) -> str:
        ent = contract.entity(*key.split("/"))
        path, rel = self.path(key, d, f"{name or ent.name}.parquet")
        pq.write_table(table, path, compression="zstd", row_group_size=1 << 20)
        self.files_written += 1
        self.rows_by_entity[ent.asset_name] += table.num_rows
        return rel
