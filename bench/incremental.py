"""The incremental experiment: daily run time against history length and against daily volume.

    .venv/bin/python bench/incremental.py [--workdir /tmp/chw_bench] [--preset S]
        [--histories 30,90,180] [--volumes 1,3,7] [--volume-history 90]

Uses the preset's landing zone (<workdir>/<preset>/landing, written by bench/run.py) sliced by
extract date (hard links, no copies). The shortest history H is processed in full (`setup`);
each longer one is reached from the previous by a catch-up run over the dates between
(`catchup_H`, measured, not fitted), so every extract date is ingested once. At each H the state
is snapshotted, then:
  daily_H_k    k new extract dates are added and processed the way daily operation does it
               (the new-extract sensor's ingest of those dates, then the transform job);
               k = 1 for every H, and every k of --volumes at --volume-history (state restored
               from the snapshot before each k)
  nonew_H      a run with no new data (the transform job alone, as the daily schedule does)
Every run is a measured child process (bench/measure.py; bench/_driver.py does the run).
Then a least-squares fit  time = fixed + a * new_rows + b * history_rows  over the daily and
no-new-data runs (setup runs are a different operation: a full ingest of every date; with a
single history length the history term is not identifiable, run at least two) (rows = landing rows of the extract dates, from the raw Parquet metadata).
Results go to <workdir>/<preset>/incremental.json (a rerun replaces the points it measures again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402
from measure import fmt_row, run_measured  # noqa: E402
from run import PY, log, pipeline_env  # noqa: E402


def extract_dates(landing: Path) -> list[str]:
    dates = set()
    for source in landing.iterdir():
        for entity in source.iterdir():
            dates.update(d.name for d in entity.iterdir() if d.is_dir())
    return sorted(dates)


def link_dates(src: Path, dst: Path, dates: list[str]) -> None:
    """Hard-link the extract-date folders `dates` of landing zone src into dst."""
    for source in src.iterdir():
        for entity in source.iterdir():
            for d in dates:
                folder = entity / d
                if not folder.is_dir():
                    continue
                target = dst / source.name / entity.name / d
                target.mkdir(parents=True, exist_ok=True)
                for f in folder.iterdir():
                    if not (target / f.name).exists():
                        os.link(f, target / f.name)


def unlink_dates(dst: Path, dates: list[str]) -> None:
    for source in dst.iterdir():
        for entity in source.iterdir():
            for d in dates:
                shutil.rmtree(entity / d, ignore_errors=True)


def rows_by_date(raw: Path) -> dict[str, int]:
    """Rows per extract date over every entity, from the Parquet footers of a full run's raw data."""
    out: dict[str, int] = {}
    for f in raw.glob("*/*/extract_date=*/*.parquet"):
        d = f.parent.name.split("=", 1)[1]
        out[d] = out.get(d, 0) + pq.ParquetFile(f).metadata.num_rows
    return out


def copy_state(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


def identifiable(points: list[dict]) -> bool:
    """The history term needs history lengths at least 1.5x apart."""
    h = [p["history_rows"] for p in points if p["history_rows"] > 0]
    return len(points) >= 3 and bool(h) and max(h) >= 1.5 * min(h)


def fit(points: list[dict]) -> dict:
    x = np.array([[1.0, p["new_rows"], p["history_rows"]] for p in points])
    y = np.array([p["wall_s"] for p in points])
    coef, _res, rank, _sv = np.linalg.lstsq(x, y, rcond=None)
    pred = x @ coef
    ss_res = float(((y - pred) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {"fixed_s": coef[0], "a_s_per_new_row": coef[1], "b_s_per_history_row": coef[2],
            "r2": 1 - ss_res / ss_tot, "rank": int(rank), "n": len(points)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/chw_bench", type=Path)
    ap.add_argument("--preset", default="S")
    ap.add_argument("--histories", default="30,90,180,365")
    ap.add_argument("--volumes", default="1,3,7")
    ap.add_argument("--volume-history", type=int, default=90)
    ap.add_argument("--timeout", type=float, default=1800, help="per run, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the per-history data folders")
    ap.add_argument("--repo", type=Path, default=ROOT, help="code to measure (default: this checkout)")
    args = ap.parse_args(argv)
    run.REPO = args.repo.resolve()
    wd = args.workdir / args.preset
    src = wd / "landing"
    full_raw = wd / "pipeline" / "raw"
    dates = extract_dates(src)
    rows = rows_by_date(full_raw) if full_raw.exists() else {}
    data = wd / "inc" / "data"
    results_path = wd / "incremental.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}

    def record(key: str, m, **extra) -> None:
        d = m.to_dict()
        d.update(extra)
        results[key] = d
        results_path.write_text(json.dumps(results, indent=2))
        log(fmt_row(m) + "  " + " ".join(f"{k}={v}" for k, v in extra.items()))

    def nrows(ds: list[str]) -> int:
        if any(d not in rows for d in ds) and (data / "raw").exists():
            rows.update(rows_by_date(data / "raw"))  # the experiment's own raw data, as it grows
        return sum(rows.get(d, 0) for d in ds)

    histories = sorted(int(h) for h in args.histories.split(","))
    volumes = [int(k) for k in args.volumes.split(",")]
    # one landing zone and one data folder that grow from history to history: the first history
    # is a full run (setup), each later one is reached by a catch-up run over the dates between
    # (recorded, not fitted), so the whole experiment ingests every extract date once
    base = wd / "inc"
    landing, data, snap = base / "landing", base / "data", base / "snapshot"
    shutil.rmtree(base, ignore_errors=True)
    landing.mkdir(parents=True)
    env = pipeline_env(landing, data)
    spill = [data / "warehouse.duckdb.tmp"]
    prev = 0
    for h in histories:
        if h + max(volumes) > len(dates):
            log(f"history {h}: not enough extract dates ({len(dates)}), skipped")
            continue
        ks = volumes if h == args.volume_history else [1]
        link_dates(src, landing, dates[prev:h])
        if prev == 0:
            log(f"history {h}: setup, full run over {h} extract dates {dates[0]} .. {dates[h - 1]}")
            cmd, name, extra = ["full"], f"setup_{h}", dict(history_days=0, new_days=h)
        else:
            log(f"history {h}: catch-up run over extract dates {dates[prev]} .. {dates[h - 1]}")
            cmd, name, extra = ["daily", *dates[prev:h]], f"catchup_{h}", dict(history_days=prev, new_days=h - prev)
        m = run_measured(name, [PY, str(BENCH / "_driver.py"), *cmd], env=env, cwd=run.REPO,
                         spill_dirs=spill, log_path=base / f"{name}.log", timeout_s=args.timeout)
        extra.update(history_rows=nrows(dates[:prev]), new_rows=nrows(dates[prev:h]))
        record(name, m, **extra)
        if m.returncode != 0:
            log(f"history {h}: {name} failed, see {base / (name + '.log')}; stopping")
            break
        prev = h
        copy_state(data, snap)
        for k in ks:
            new = dates[h:h + k]
            link_dates(src, landing, new)
            log(f"history {h}: daily run with {k} new extract date(s) {new[0]} .. {new[-1]}")
            m = run_measured(f"daily_{h}_{k}", [PY, str(BENCH / "_driver.py"), "daily", *new], env=env, cwd=run.REPO,
                             spill_dirs=spill, log_path=base / f"daily_{h}_{k}.log", timeout_s=args.timeout)
            record(f"daily_{h}_{k}", m, history_days=h, new_days=k, history_rows=nrows(dates[:h]),
                   new_rows=nrows(new))
            if k == 1:
                log(f"history {h}: run with no new data (transform job alone)")
                m = run_measured(f"nonew_{h}", [PY, str(BENCH / "_driver.py"), "transform"], env=env, cwd=run.REPO,
                                 spill_dirs=spill, log_path=base / f"nonew_{h}.log", timeout_s=args.timeout)
                record(f"nonew_{h}", m, history_days=h + 1, new_days=0, history_rows=nrows(dates[:h + 1]),
                       new_rows=0)
            # back to the state after history h, for the next volume or the next catch-up
            unlink_dates(landing, dates[h:h + max(volumes)])
            copy_state(snap, data)
    if not args.keep:
        shutil.rmtree(snap, ignore_errors=True)

    summarize(results, rows_known=bool(rows))
    return 0


def summarize(results: dict, rows_known: bool = True) -> None:
    print("\n" + "=" * 110)
    print(f"{'run':<14} {'hist days':>9} {'new days':>8} {'hist rows':>11} {'new rows':>9} {'wall s':>8} {'cpu s':>8} "
          f"{'tree MiB':>9} {'load':>11}")
    for key, d in results.items():
        print(f"{key:<14} {d['history_days']:>9} {d['new_days']:>8} {d['history_rows']:>11} {d['new_rows']:>9} "
              f"{d['wall_s']:>8.1f} {d['cpu_s']:>8.1f} {d['tree_peak_rss_mib']:>9.0f} "
              f"{d['load_before']:.2f}->{d['load_after']:.2f}")
    for key, d in results.items():
        if key.startswith("daily_") and key.endswith("_1"):
            h = key.split("_")[1]
            nn = results.get(f"nonew_{h}")
            if nn:
                print(f"history {h}: daily / no-new-data = {d['wall_s']:.1f} / {nn['wall_s']:.1f} s = "
                      f"{d['wall_s'] / nn['wall_s']:.2f}x (target <= 2x)")
    pts = [d for k, d in results.items() if k.startswith(("daily_", "nonew_")) and d["returncode"] == 0]
    if rows_known and not identifiable(pts):
        print("fit skipped: the history term needs at least two history lengths 1.5x apart (--histories)")
    elif rows_known:
        f = fit(pts)
        print(f"fit over {f['n']} runs (wall s): time = {f['fixed_s']:.1f} s + {f['a_s_per_new_row'] * 1e6:.2f} s per M new rows "
              f"+ {f['b_s_per_history_row'] * 1e6:.2f} s per M history rows   (R^2 {f['r2']:.3f}, rank {f['rank']})")
        results_fit = Path(os.environ.get("BENCH_FIT_OUT", "")) if os.environ.get("BENCH_FIT_OUT") else None
        if results_fit:
            results_fit.write_text(json.dumps(f, indent=2))
    print("=" * 110, flush=True)


if __name__ == "__main__":
    sys.exit(main())
