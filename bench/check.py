"""Do the implementations agree? Row counts and checksums per headline mart.

Sources: the SQL floor's and pandas' Parquet outputs, and the dbt marts of the pipeline's
warehouse (and of the dbt-only warehouse when present):
  h1_survey_monthly   marts.metric_values, grain month, segment all, metric in (nps, csat_pct, ces_avg)
  h2_mrr_monthly      marts.fct_mrr_monthly
  h3_usage_daily      intermediate.int_usage__account_days
  h4_service_monthly  marts.metric_values, grain month, segment all, metric in (ticket_count,
                      frt_median_minutes, fcr_pct)
Doubles are rounded to 6 decimals before hashing; the checksum is the sum of the row hashes
(order-independent). For each mismatching pair the rows on one side only are counted and a
few are shown.

    python bench/check.py --warehouse W --floor DIR --pandas DIR [--dbt-only W2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

MARTS = {
    "h1_survey_monthly": {
        "cols": ["metric", "period_start", "value", "sample_size"],
        "dbt": """select metric, period_start, value, sample_size from marts.metric_values
                  where grain = 'month' and segment_type = 'all' and window_days is null
                  and metric in ('nps', 'csat_pct', 'ces_avg')""",
    },
    "h2_mrr_monthly": {
        "cols": ["account_id", "month_start", "start_mrr", "end_mrr", "new_mrr", "expansion_mrr",
                 "contraction_mrr", "churned_mrr", "reactivation_mrr", "movement_type"],
        "dbt": """select account_id, month_start, start_mrr, end_mrr, new_mrr, expansion_mrr, contraction_mrr,
                  churned_mrr, reactivation_mrr, movement_type from marts.fct_mrr_monthly""",
    },
    "h3_usage_daily": {
        "cols": ["account_id", "activity_date", "event_count", "active_users"],
        "dbt": "select account_id, activity_date, event_count, active_users from intermediate.int_usage__account_days",
    },
    "h4_service_monthly": {
        "cols": ["metric", "period_start", "value", "sample_size"],
        "dbt": """select metric, period_start, value, sample_size from marts.metric_values
                  where grain = 'month' and segment_type = 'all' and window_days is null
                  and metric in ('ticket_count', 'frt_median_minutes', 'fcr_pct')""",
    },
}
DOUBLE_COLS = {"value", "start_mrr", "end_mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
               "reactivation_mrr"}


def normalized(cols: list[str], relation: str) -> str:
    exprs = []
    for c in cols:
        if c in DOUBLE_COLS:
            exprs.append(f"round(cast({c} as double), 6) + 0.0 as {c}")  # + 0.0: no -0.0
        elif c in ("period_start", "month_start", "activity_date"):
            exprs.append(f"cast({c} as date) as {c}")
        elif c in ("sample_size", "event_count", "active_users"):
            exprs.append(f"cast({c} as bigint) as {c}")
        else:
            exprs.append(f"cast({c} as varchar) as {c}")
    return f"select {', '.join(exprs)} from ({relation})"


def compare(warehouse: Path, floor: Path, pandas: Path, dbt_only: Path | None = None) -> dict:
    con = duckdb.connect()
    sides = {}
    if warehouse.exists():
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        sides["dbt_pipeline"] = "wh"
    if dbt_only and dbt_only.exists():
        con.execute(f"attach '{dbt_only}' as wd (read_only)")
        sides["dbt_only"] = "wd"
    lines, result, all_match = [], {}, True
    for mart, spec in MARTS.items():
        rels = {}
        for side, alias in sides.items():
            con.execute(f"use {alias}")
            try:
                con.execute(f"create or replace temp table {side}_{mart} as {normalized(spec['cols'], spec['dbt'])}")
                rels[side] = f"{side}_{mart}"
            except duckdb.Error as exc:
                lines.append(f"{mart}: {side} unreadable: {str(exc).splitlines()[0]}")
        con.execute("use memory")
        for side, d in (("sql_floor", floor), ("pandas", pandas)):
            f = d / f"{mart}.parquet"
            if f.exists():
                body = normalized(spec["cols"], f"select * from read_parquet('{f}')")
                con.execute(f"create or replace temp table {side}_{mart} as {body}")
                rels[side] = f"{side}_{mart}"
        stats = {}
        for side, rel in rels.items():
            n, h = con.execute(
                f"select count(*), coalesce(sum(cast(hash({', '.join(spec['cols'])}) as hugeint)), 0) from {rel}"
            ).fetchone()
            stats[side] = {"rows": n, "checksum": int(h) % 2**64}
        ref = "sql_floor" if "sql_floor" in rels else next(iter(rels), None)
        entry = {"stats": stats, "diffs": {}}
        for side, rel in rels.items():
            if side == ref:
                continue
            same = stats[side] == stats[ref]
            if not same:
                all_match = False
                only_a = con.execute(f"select count(*) from (from {rels[ref]} except all from {rel})").fetchone()[0]
                only_b = con.execute(f"select count(*) from (from {rel} except all from {rels[ref]})").fetchone()[0]
                sample_a = con.execute(f"from (from {rels[ref]} except all from {rel}) order by all limit 3").fetchall()
                sample_b = con.execute(f"from (from {rel} except all from {rels[ref]}) order by all limit 3").fetchall()
                entry["diffs"][side] = {"only_" + ref: only_a, "only_" + side: only_b,
                                        "sample_" + ref: [list(map(str, r)) for r in sample_a],
                                        "sample_" + side: [list(map(str, r)) for r in sample_b]}
        result[mart] = entry
        summary = "  ".join(f"{s}: {v['rows']} rows #{v['checksum']:016x}" for s, v in stats.items())
        lines.append(f"{mart}: {summary}")
        for side, d in entry["diffs"].items():
            lines.append(f"  MISMATCH {side} vs {ref}: {json.dumps(d)}")
        if not entry["diffs"] and len(rels) > 1:
            lines.append(f"  match ({', '.join(rels)})")
    return {"marts": result, "lines": lines, "all_match": all_match}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--floor", type=Path, required=True)
    ap.add_argument("--pandas", type=Path, required=True)
    ap.add_argument("--dbt-only", type=Path, default=None)
    args = ap.parse_args(argv)
    report = compare(args.warehouse, args.floor, args.pandas, args.dbt_only)
    print("\n".join(report["lines"]))
    return 0 if report["all_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
