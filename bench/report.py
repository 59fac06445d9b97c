"""Markdown tables from bench/run.py's results.json and bench/incremental.py's incremental.json.

    python bench/report.py [--workdir /tmp/chw_bench] [--preset S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def steps_table(items: dict) -> list[str]:
    out = ["| step | rc | wall s | CPU s (user+sys) | peak RSS largest process MiB | peak RSS process tree MiB | "
           "DuckDB spill peak MiB | load 1m before -> after | started |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, d in items.items():
        if "wall_s" not in d:
            continue
        out.append(f"| {name} | {d['returncode']} | {d['wall_s']:.1f} | {d['cpu_s']:.1f} | {d['maxrss_mib']:.0f} | "
                   f"{d['tree_peak_rss_mib']:.0f} | {d['spill_peak_mib']:.0f} | "
                   f"{d['load_before']:.2f} -> {d['load_after']:.2f} | {d['started']} |")
    floor = items.get("sql_floor")
    if floor and floor.get("returncode") == 0:
        out += ["", "| ratio to the SQL floor | wall | CPU |", "|---|---|---|"]
        for name in ("pipeline", "dbt_build", "pandas"):
            d = items.get(name)
            if d:
                out.append(f"| {name} / sql_floor | {d['wall_s'] / floor['wall_s']:.1f}x | "
                           f"{d['cpu_s'] / floor['cpu_s']:.1f}x |")
        from run import bound_lines

        out += ["", *(f"- {line}" for line in bound_lines(items))]
    return out


def inc_table(results: dict) -> list[str]:
    out = ["| run | history days | new days | history rows | new rows | wall s | CPU s | peak RSS tree MiB | "
           "load before -> after |", "|---|---|---|---|---|---|---|---|---|"]
    for key, d in results.items():
        out.append(f"| {key} | {d['history_days']} | {d['new_days']} | {d['history_rows']:,} | {d['new_rows']:,} | "
                   f"{d['wall_s']:.1f} | {d['cpu_s']:.1f} | {d['tree_peak_rss_mib']:.0f} | "
                   f"{d['load_before']:.2f} -> {d['load_after']:.2f} |")
    pts = [d for k, d in results.items() if k.startswith(("daily_", "nonew_")) and d["returncode"] == 0]
    from incremental import fit, identifiable

    if not identifiable(pts):
        out += ["", "No fit: the history term needs at least two history lengths 1.5x apart."]
    else:

        f = fit(pts)
        out += ["", f"Least-squares fit over {f['n']} daily and no-new-data runs (wall time): "
                    f"time = **{f['fixed_s']:.1f} s** + **{f['a_s_per_new_row'] * 1e6:.2f} s per million new rows** "
                    f"+ **{f['b_s_per_history_row'] * 1e6:.2f} s per million history rows** (R^2 {f['r2']:.3f})."]
        cpts = [dict(p, wall_s=p["cpu_s"]) for p in pts]
        c = fit(cpts)
        out.append(f"Same fit on CPU time: {c['fixed_s']:.1f} s + {c['a_s_per_new_row'] * 1e6:.2f} s/M new rows + "
                   f"{c['b_s_per_history_row'] * 1e6:.2f} s/M history rows (R^2 {c['r2']:.3f}).")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/chw_bench", type=Path)
    ap.add_argument("--preset", default="S")
    args = ap.parse_args()
    wd = args.workdir / args.preset
    if (wd / "results.json").exists():
        items = json.loads((wd / "results.json").read_text())
        print("\n".join(steps_table(items)))
        if "check" in items:
            print("\n```\n" + "\n".join(items["check"]["lines"]) + "\n```")
    if (wd / "incremental.json").exists():
        print()
        print("\n".join(inc_table(json.loads((wd / "incremental.json").read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
