"""Build the dbt project on Spark over a DuckDB run's files and compare every table of both.

    .venv/bin/python bench/compare_engines.py                         # the run of CHW_* (default data/)
    .venv/bin/python bench/compare_engines.py --landing L --workdir W  # run DuckDB on L first, in W/data
    .venv/bin/python bench/compare_engines.py --skip-build             # compare an existing Spark build

The Spark build goes to <data dir>/spark_compare (or --spark-dir): its own tables, metastore and
dbt target, so the DuckDB run's are untouched. Prints one line per table and exits 1 when any
differs. Needs Java and the Spark extra (`make setup WITH_SPARK=1`). How the tables are compared:
orchestration/lib/transform/engine_equality.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestration.lib.core.paths import Paths, current  # noqa: E402
from orchestration.lib.transform import engine_equality  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, help="run the DuckDB pipeline on this landing zone first")
    parser.add_argument("--workdir", type=Path, help="with --landing: where the DuckDB run writes (W/data)")
    parser.add_argument("--spark-dir", type=Path, help="default: <data dir>/spark_compare")
    parser.add_argument("--skip-build", action="store_true", help="compare the Spark build already in --spark-dir")
    args = parser.parse_args(argv)

    if args.landing:
        if not args.workdir:
            parser.error("--landing needs --workdir")
        data = args.workdir.resolve() / "data"
        paths = Paths(landing=args.landing.resolve(), warehouse=data / "warehouse.duckdb", data=data)
        env = {**os.environ, "CHW_LANDING_DIR": str(paths.landing), "CHW_WAREHOUSE": str(paths.warehouse),
               "CHW_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
        for key in ("CHW_RAW_DIR", "CHW_AUDIT_DIR", "CHW_MODELS_DIR"):
            env.pop(key, None)
        print(f"DuckDB pipeline on {paths.landing} ...", flush=True)
        if subprocess.call([sys.executable, "-m", "orchestration.cli", "run"], cwd=ROOT, env=env):
            return 2
    else:
        paths = current()
    spark_dir = (args.spark_dir or paths.data / "spark_compare").resolve()
    if not paths.warehouse.exists():
        print(f"no DuckDB warehouse at {paths.warehouse}: run the pipeline first (make run), "
              "or give --landing and --workdir", file=sys.stderr)
        return 2

    if not args.skip_build:
        print(f"dbt build --target spark over {paths.data} into {spark_dir} ...", flush=True)
        started = time.monotonic()
        build = engine_equality.build_on_spark(paths, spark_dir)
        print(f"Spark build: {time.monotonic() - started:.0f} s, dbt exit code {build.returncode}")
        if build.returncode:
            print(build.stdout[-3000:])
    results = engine_equality.compare(paths.warehouse, spark_dir / "warehouse",
                                      engine_equality.dbt_failures(spark_dir))
    print(engine_equality.report(results))
    return 0 if all(r.equal for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
