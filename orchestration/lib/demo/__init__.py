"""Deterministic demo extracts: a landing zone that honours docs/contract.md section 1.

    generate(out_dir, preset="demo", seed=42, end_date=date(2026, 10, 31)) -> GenerationSummary
    python -m orchestration.lib.demo --preset demo --seed 42 --out DIR [--end-date YYYY-MM-DD]

Presets: tiny (20 accounts, 20 days; for tests), demo (400 accounts, 365 days, ~1.3 M events),
S (1k accounts, 365 days, ~10 M events), M (10k accounts, 365 days, ~100 M events).
Same preset, seed and end_date give byte-identical files (no wall-clock time anywhere).

Layout: <out>/<source>/<entity>/<YYYY-MM-DD>/<name>.(csv|jsonl|parquet). Snapshot entities are
written on the first extract date and every Monday; delta entities daily (CSV always, a
JSONL file only when the day has rows). Survey responses arrive as two files per day:
responses.jsonl (email surveys) and responses_in_app.csv (in-app surveys).

What the data holds: each account follows a latent health path (random walk around its own
level, temporary dips that recover, lasting declines). A decline shows first in usage,
active users and core-feature adoption, then in milestones, tickets, escalations, CSAT/NPS/CES
and fewer QBRs, and 30-90 days later in churn at renewal (cancelled or expired subscription
without a successor). Budget-cut churns come without warning; some unhappy accounts renew.
`GenerationSummary.churns` is the ground truth. That is the `default` world; `world=` switches
the latent process (demo/config.py WORLDS: where the warning lives, how churn and expansion
follow), and `truth=` writes, outside the landing zone, the probability of churn and of expansion
the process drew each renewal with.

Defects (`GenerationSummary.defects[kind]`, each with source, entity, extract_date, file
relative to out_dir, 1-based row_number or None for a whole file, and the record's key):
  informational, loaded normally: late_arrival, resent_update
  quarantined: duplicate_key (the later occurrence), out_of_scale_score, non_integer_nps,
  unknown_survey, unparseable_timestamp, missing_required_column (whole file).
At most one bad row per 25 rows of a file. Informational kinds are listed up to
INFO_LIST_CAP entries each and counted in full in `defect_counts`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from .config import PRESETS
from .core import GenerationSummary, generate
from .writer import DEFECT_KINDS, INFO_KINDS, QUARANTINED_KINDS

__all__ = ["DEFECT_KINDS", "INFO_KINDS", "PRESETS", "QUARANTINED_KINDS", "GenerationSummary", "generate", "main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m orchestration.lib.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="demo", help="tiny | demo | S | M (default demo)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True, type=Path, help="landing zone to write into")
    ap.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31))
    ap.add_argument("--world", default="default", help="latent process (demo/config.py WORLDS)")
    ap.add_argument("--truth", type=Path, default=None, help="truth CSV, outside the landing zone (default: none)")
    args = ap.parse_args(argv)
    import time

    t0 = time.perf_counter()
    s = generate(args.out, preset=args.preset, seed=args.seed, end_date=args.end_date,
                 progress=lambda m: print(m, flush=True), world=args.world, truth=args.truth)
    secs = time.perf_counter() - t0
    bad = sum(s.defect_counts.get(k, 0) for k in QUARANTINED_KINDS)
    print(f"done: {len(s.extract_dates)} extract dates {s.extract_dates[0]} .. {s.extract_dates[-1]}, "
          f"{s.files_written:,} files, {s.total_rows:,} rows ({s.rows_by_entity['product__events']:,} events) "
          f"in {secs:.1f}s = {s.total_rows / max(secs, 1e-9):,.0f} rows/s; {len(s.churns)} churns; "
          f"defects: " + ", ".join(f"{k} {s.defect_counts.get(k, 0)}" for k in DEFECT_KINDS)
          + f" ({bad} to quarantine)", flush=True)
    return 0
