"""generate(): build the world, then walk the extract dates in order and write each day's files."""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core import contract
from . import config as cf
from .events import Events
from .signals import Signals
from .world import World
from .writer import Sink

# whole-file defects: (entity, required column left out of the file)
MISSING_COLUMN_CANDIDATES = (("helpdesk/calls", "offered_at"), ("crm/activities", "occurred_at"),
                             ("survey/invitations", "sent_at"), ("helpdesk/ticket_comments", "created_at"))


@dataclass
class GenerationSummary:
    extract_dates: list[dt.date]
    files_written: int
    rows_by_entity: dict[str, int]
    defects: dict[str, list[dict]]
    # beyond the API: full counts per defect kind (informational kinds are listed up to a cap),
    # and the ground truth of churn (account_id, churn_date, reason) for evaluating health scores
    defect_counts: dict[str, int] = field(default_factory=dict)
    churns: list[dict] = field(default_factory=list)
    preset: str = ""
    seed: int = 0
    world: str = "default"
    truth_path: Path | None = None  # the truth file written (generate(truth=...)), if any

    @property
    def total_rows(self) -> int:
        return sum(self.rows_by_entity.values())


TRUTH_COLUMNS = ("world", "account_id", "event", "date", "term", "known_days_before", "churn_probability",
                 "churned", "reason", "expansion_probability", "expanded")


def write_truth(path: Path, w: World) -> Path:
    """The latent process's decisions, one row per renewal (churn and expansion probability the
    process drew with, and what it drew) and per mid-term expansion look (non-default worlds).
    Written beside the landing zone, never inside it: it is not an extract."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the default process decides churn from health 60-30 days before a renewal; the others 45
    known = 30 if w.lp.is_default else w.KNOWN_DAYS
    rows = sorted(w.truth, key=lambda t: (t.date, t.account_id, t.event))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(TRUTH_COLUMNS)
        for t in rows:
            out.writerow([w.lp.name, t.account_id, t.event, t.date.isoformat(), t.term,
                          known if t.event == "renewal" else w.KNOWN_DAYS,
                          "" if t.churn_probability is None else t.churn_probability,
                          "" if t.churned is None else str(t.churned).lower(), t.reason or "",
                          "" if t.expansion_probability is None else t.expansion_probability,
                          "" if t.expanded is None else str(t.expanded).lower()])
    return path


def generate(out_dir: Path, preset: str = "demo", seed: int = 42, end_date: dt.date = dt.date(2026, 10, 31),
             progress: Callable[[str], None] | None = print, world: str = "default",
             truth: Path | None = None) -> GenerationSummary:
    """Write a deterministic landing zone into out_dir (existing files of the same names are
    overwritten, nothing is deleted). Same (preset, seed, end_date, world): byte-identical files.

    world: the latent process (config.WORLDS); truth: a CSV path outside out_dir for the
    process's churn and expansion probabilities (write_truth), not written when None."""
    t_start = time.perf_counter()  # for progress lines only, never written to a file
    p = cf.preset(preset)
    lp = cf.latent(world)
    start, days = cf.window(p, end_date)
    out = Path(out_dir)
    if truth is not None and Path(truth).resolve().is_relative_to(out.resolve()):
        raise ValueError(f"truth file {truth} is inside the landing zone {out}: ingest reads every file there")
    out.mkdir(parents=True, exist_ok=True)
    w = World(p, seed, start, days, lp)
    ev, sig, sink = Events(w, seed), Signals(w, seed), Sink(out, seed)
    rr = random.Random(f"{seed}-files")
    picked: set[int] = set()
    for k in range(p.missing_column_files):
        key, col = MISSING_COLUMN_CANDIDATES[k % len(MISSING_COLUMN_CANDIDATES)]
        day = rr.randrange(1, max(days - 1, 2))
        while day in picked and len(picked) < days - 2:
            day = rr.randrange(1, max(days - 1, 2))
        picked.add(day)
        sink.drop_column[(key, w.date(day))] = col
    delta_keys = [f"{e.source}/{e.name}" for e in contract.ENTITIES
                  if e.kind == contract.DELTA and (e.source, e.name) != ("product", "events")]
    step = max(1, days // 10)
    if progress:
        progress(f"[{p.name}] {p.accounts} accounts, {days} extract dates {start} .. {end_date}, seed {seed}"
                 + ("" if lp.is_default else f", world {lp.name}") + f" -> {out}")
    for i in range(days):
        d = w.date(i)
        sig.day(i)
        if i == 0 or d.weekday() == 0:
            for key, rows in w.snapshot(d).items():
                sink.emit(key, d, sorted(rows, key=lambda row, k=key: row[contract.entity(*k.split("/")).key]),
                          inject=False)
        table, late, dups = ev.day(i)
        rel = sink.emit_parquet("product/events", d, table)
        ids = table.column("event_id")
        for row, happened in late:
            sink.record("late_arrival", "product/events", d, rel, row, key=ids[row - 1].as_py(),
                        happened_on=w.date(happened))
        for row, orig in dups:
            sink.record("duplicate_key", "product/events", d, rel, row, key=ids[row - 1].as_py(),
                        duplicate_of_row=orig)
        today = sig.take(i)
        for key in delta_keys:
            rows = today.get(key, [])
            if key == "survey/responses":
                sink.emit(key, d, [r for r in rows if r["channel"] == "email"], name="responses", fmt="jsonl")
                sink.emit(key, d, [r for r in rows if r["channel"] != "email"], name="responses_in_app", fmt="csv")
            else:
                sink.emit(key, d, rows)
        if progress and ((i + 1) % step == 0 or i + 1 == days):
            progress(f"[{p.name}] {d} {i + 1}/{days} ({100 * (i + 1) // days}%) "
                     f"events {sink.rows_by_entity['product__events']:,} files {sink.files_written:,} "
                     f"{time.perf_counter() - t_start:.1f}s")
    rows_by_entity = {e.asset_name: sink.rows_by_entity.get(e.asset_name, 0) for e in contract.ENTITIES}
    return GenerationSummary(
        extract_dates=[w.date(i) for i in range(days)], files_written=sink.files_written,
        rows_by_entity=rows_by_entity, defects=sink.defects, defect_counts=dict(sink.defect_counts),
        churns=sorted(w.churns, key=lambda c: (c["churn_date"], c["account_id"])), preset=p.name, seed=seed,
        world=lp.name, truth_path=None if truth is None else write_truth(truth, w))
