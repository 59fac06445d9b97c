"""Benchmark suite (`make bench`): the pipeline against the engine floor, on one preset.

    .venv/bin/python bench/run.py --preset S [--skip-generate] [--workdir /tmp/chw_bench]
                                  [--steps generate,pipeline,dbt,floor,ingest_floor,pandas,check]

One invocation, one workdir (`<workdir>/<preset>/`):
  generate  the preset's landing zone (timed; skipped when present or with --skip-generate)
  pipeline  `python -m orchestration.cli run` (ingest every extract date, then transform)
  overhead  (on request only) `python -m orchestration.cli run` again, --repeat times, on the data
            the pipeline step built: runs with nothing new, the fixed cost of a run (target 30 s
            at `tiny`); the first may parse the dbt project again, the median is reported
  transform (on request only) the pipeline's transform job alone on the already ingested data
  dbt       `python -m orchestration.cli dbt build` on the pipeline's raw data, fresh warehouse file
  floor     bench/floor.py: plain DuckDB SQL computing the headline marts from the raw Parquet
  ingest_floor  bench/ingest_floor.py: every landing file copied to Parquet, no checks: the least
            the raw layer the floor starts from costs; floor + ingest floor bounds the pipeline
  pandas    bench/pandas_impl.py: the same headline marts in pandas
  check     row counts and checksums per headline mart: floor vs pandas vs the dbt marts

Every step runs in a child process measured for wall time, CPU time (user + sys), peak RSS and
DuckDB spill (bench/measure.py). Results accumulate in <workdir>/<preset>/results.json, so a
later invocation with --steps can add to them; a final table and the ratios are printed.
--repo runs the project code from a frozen copy (e.g. `git archive HEAD | tar -x -C DIR`):
other people's edits in the working checkout then cannot change the code under a running
benchmark (dbt's target folder is per data dir anyway). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from measure import Measurement, fmt_row, run_measured  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "PYTHONDONTWRITEBYTECODE": "1",
}
ALL_STEPS = ["generate", "pipeline", "dbt", "floor", "ingest_floor", "pandas", "check"]  # "transform", "overhead" on request


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", flush=True)


REPO = ROOT  # the code measured: --repo points it at a snapshot (e.g. `git archive HEAD`)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHW_") and k != "DAGSTER_HOME"}
    env.update(TELEMETRY_OFF)
    if REPO != ROOT:
        env["PYTHONPATH"] = str(REPO)  # before the editable install of /work/main
    return env


def pipeline_env(landing: Path, data: Path) -> dict[str, str]:
    env = base_env()
    env.update(CHW_LANDING_DIR=str(landing), CHW_WAREHOUSE=str(data / "warehouse.duckdb"), CHW_DATA_DIR=str(data))
    return env


class Results:
    def __init__(self, path: Path):
        self.path = path
        self.items: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}

    def put(self, m: Measurement | dict) -> None:
        d = m.to_dict() if isinstance(m, Measurement) else m
        self.items[d["name"]] = d
        self.path.write_text(json.dumps(self.items, indent=2))


def step_generate(args, wd: Path, res: Results) -> None:
    landing = wd / "landing"
    if args.skip_generate or (landing.exists() and any(landing.iterdir())):
        log(f"generate: landing zone {landing} present, not regenerated")
        return
    log(f"generate: preset {args.preset} -> {landing}")
    m = run_measured(
        f"generate_{args.preset}",
        [PY, "-m", "orchestration.lib.demo", "--preset", args.preset, "--seed", "42", "--out", str(landing)],
        env=base_env(), cwd=ROOT, log_path=wd / "generate.log",
    )
    res.put(m)
    log(fmt_row(m))


def step_pipeline(args, wd: Path, res: Results) -> None:
    data = wd / "pipeline"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    log(f"pipeline: python -m orchestration.cli run, data {data}")
    m = run_measured(
        "pipeline", [PY, "-m", "orchestration.cli", "run"],
        env=pipeline_env(wd / "landing", data), cwd=REPO,
        spill_dirs=[data / "warehouse.duckdb.tmp"], log_path=wd / "pipeline.log",
    )
    res.put(m)
    log(fmt_row(m))


def step_transform(args, wd: Path, res: Results) -> None:
    """The pipeline's transform run alone (dbt -> Python models -> dbt -> serve) on the ingested data."""
    data = wd / "pipeline"
    log("transform: the pipeline's transform job on the already ingested raw data")
    m = run_measured(
        "pipeline_transform", [PY, str(BENCH / "_driver.py"), "transform"],
        env=pipeline_env(wd / "landing", data), cwd=REPO,
        spill_dirs=[data / "warehouse.duckdb.tmp"], log_path=wd / "transform.log",
    )
    res.put(m)
    log(fmt_row(m))


def step_overhead(args, wd: Path, res: Results) -> None:
    """Runs with nothing new on the pipeline step's data: what a run costs whatever the data."""
    data = wd / "pipeline"
    if not (data / "warehouse.duckdb").exists():
        raise SystemExit(f"overhead: no pipeline data in {data}: run the pipeline step first")
    walls, cpus = [], []
    for i in range(1, args.repeat + 1):
        log(f"overhead: python -m orchestration.cli run with nothing new ({i} of {args.repeat}), data {data}")
        m = run_measured(
            f"nothing_new_{i}", [PY, "-m", "orchestration.cli", "run"],
            env=pipeline_env(wd / "landing", data), cwd=REPO,
            spill_dirs=[data / "warehouse.duckdb.tmp"], log_path=wd / f"nothing_new_{i}.log",
        )
        res.put(m)
        log(fmt_row(m))
        if m.returncode == 0:
            walls.append(m.wall_s)
            cpus.append(m.cpu_s)
    if walls:
        summary = {"name": "overhead", "runs": len(walls), "median_wall_s": statistics.median(walls),
                   "median_cpu_s": statistics.median(cpus), "min_wall_s": min(walls), "max_wall_s": max(walls)}
        res.put(summary)


def step_dbt(args, wd: Path, res: Results) -> None:
    data = wd / "pipeline"
    dbt_dir = wd / "dbt_only"
    if dbt_dir.exists():
        shutil.rmtree(dbt_dir)
    dbt_dir.mkdir(parents=True)
    env = pipeline_env(wd / "landing", data)
    env["CHW_WAREHOUSE"] = str(dbt_dir / "warehouse.duckdb")  # fresh file; raw/audit/models from the pipeline
    # dbt's target and logs go to <pipeline data>/dbt_target and dbt_logs (orchestration.lib.core.paths)
    log("dbt: python -m orchestration.cli dbt build (fresh warehouse, the pipeline's raw Parquet)")
    m = run_measured(
        "dbt_build", [PY, "-m", "orchestration.cli", "dbt", "build"],
        env=env, cwd=REPO, spill_dirs=[dbt_dir / "warehouse.duckdb.tmp"], log_path=wd / "dbt_build.log",
    )
    res.put(m)
    log(fmt_row(m))


def _floor_step(res: Results, wd: Path, name: str, script: str, source: list[str], keep_out: bool = True) -> None:
    """Run a floor script (bench/<script>) on a fresh output and spill folder, measured."""
    stem = script.removesuffix(".py")
    out, spill = wd / f"out_{stem}", wd / f"{stem}_spill"
    for d in (out, spill):
        shutil.rmtree(d, ignore_errors=True)
    m = run_measured(
        name, [PY, str(BENCH / script), *source, "--out", str(out), "--temp", str(spill)],
        env=base_env(), cwd=ROOT, spill_dirs=[spill], log_path=wd / f"{stem}.log",
    )
    res.put(m)
    log(fmt_row(m))
    if not keep_out:
        shutil.rmtree(out, ignore_errors=True)


def step_floor(args, wd: Path, res: Results) -> None:
    log("floor: plain DuckDB SQL over the raw Parquet (bench/floor.py)")
    _floor_step(res, wd, "sql_floor", "floor.py", ["--raw", str(wd / "pipeline" / "raw")])


def step_ingest_floor(args, wd: Path, res: Results) -> None:
    log("ingest floor: every landing file copied to Parquet, no checks (bench/ingest_floor.py)")
    # its output (2+ GB at M) is removed: only its cost matters
    _floor_step(res, wd, "ingest_floor", "ingest_floor.py", ["--landing", str(wd / "landing")], keep_out=False)


def step_pandas(args, wd: Path, res: Results) -> None:
    out = wd / "out_pandas"
    shutil.rmtree(out, ignore_errors=True)
    log("pandas: the headline marts in pandas (bench/pandas_impl.py)")
    m = run_measured(
        "pandas", [PY, str(BENCH / "pandas_impl.py"), "--raw", str(wd / "pipeline" / "raw"), "--out", str(out)],
        env=base_env(), cwd=ROOT, log_path=wd / "pandas.log",
    )
    res.put(m)
    log(fmt_row(m))


def step_check(args, wd: Path, res: Results) -> None:
    from check import compare

    log("check: row counts and checksums per headline mart")
    report = compare(
        warehouse=wd / "pipeline" / "warehouse.duckdb",
        dbt_only=wd / "dbt_only" / "warehouse.duckdb",
        floor=wd / "out_floor",
        pandas=wd / "out_pandas",
    )
    res.put({"name": "check", **report})
    for line in report["lines"]:
        print("  " + line, flush=True)


def bound_lines(items: dict) -> list[str]:
    """The least pipeline / floor ratio any pipeline with docs/ARCHITECTURE.md's raw layer can reach: it
    writes that layer (at least the ingest floor) and computes at least the floor's marts from it."""
    floor, ingest = items.get("sql_floor"), items.get("ingest_floor")
    if not (floor and ingest and floor.get("returncode") == 0 and ingest.get("returncode") == 0):
        return []
    wall, cpu = floor["wall_s"] + ingest["wall_s"], floor["cpu_s"] + ingest["cpu_s"]
    out = [f"lower bound (sql_floor + ingest_floor) / sql_floor: wall {wall / floor['wall_s']:6.2f}x   "
           f"cpu {cpu / max(floor['cpu_s'], 1e-9):6.2f}x"]
    d = items.get("pipeline")
    if d:
        out.append(f"ratio   pipeline / (sql_floor + ingest_floor): wall {d['wall_s'] / wall:6.1f}x   cpu {d['cpu_s'] / cpu:6.1f}x")
    return out


def table(res: Results) -> None:
    items = res.items
    print("\n" + "=" * 120)
    for name, d in items.items():
        if "wall_s" in d:
            print(
                f"{name:<22} rc={d['returncode']:<3} wall {d['wall_s']:8.1f} s  cpu {d['cpu_s']:8.1f} s  "
                f"maxrss {d['maxrss_mib']:7.0f} MiB  tree {d['tree_peak_rss_mib']:7.0f} MiB  "
                f"spill {d['spill_peak_mib']:6.0f} MiB  load {d['load_before']:.2f}->{d['load_after']:.2f}"
            )
    floor = items.get("sql_floor")
    if floor and floor.get("returncode") == 0:
        for name in ("pipeline", "dbt_build", "pandas"):
            d = items.get(name)
            if d:
                print(
                    f"ratio {name:>10} / sql_floor: wall {d['wall_s'] / floor['wall_s']:6.1f}x   "
                    f"cpu {d['cpu_s'] / max(floor['cpu_s'], 1e-9):6.1f}x"
                )
    for line in bound_lines(items):
        print(line)
    overhead = items.get("overhead")
    if overhead:
        print(
            f"fixed overhead (median of {overhead['runs']} runs with nothing new): wall {overhead['median_wall_s']:.1f} s "
            f"(range {overhead['min_wall_s']:.1f}-{overhead['max_wall_s']:.1f}), cpu {overhead['median_cpu_s']:.1f} s; target 30 s"
        )
    if "check" in items:
        print("check: " + ("all headline marts match" if items["check"].get("all_match") else "MISMATCHES (see above)"))
    print("=" * 120, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="S", choices=["tiny", "small", "demo", "S", "M", "history"])
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--workdir", default="/tmp/chw_bench", type=Path)
    ap.add_argument("--steps", default=",".join(ALL_STEPS))
    ap.add_argument("--repo", type=Path, default=ROOT, help="code to measure (default: this checkout)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the overhead step")
    args = ap.parse_args(argv)
    global REPO
    REPO = args.repo.resolve()
    wd = args.workdir / args.preset
    wd.mkdir(parents=True, exist_ok=True)
    res = Results(wd / "results.json")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    log(f"preset {args.preset}, workdir {wd}, steps {steps}, code {REPO}, nproc {os.cpu_count()}")
    funcs = {
        "generate": step_generate, "pipeline": step_pipeline, "transform": step_transform, "dbt": step_dbt,
        "floor": step_floor, "ingest_floor": step_ingest_floor, "pandas": step_pandas, "check": step_check,
        "overhead": step_overhead,
    }
    for s in steps:
        funcs[s](args, wd, res)
    table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
