"""Child process of bench/incremental.py: one pipeline run in one mode, paths from CHW_* env.

    python bench/_driver.py full                 ingest every extract date in the landing zone, then transform
                                                 (what `python -m orchestration.cli run` does)
    python bench/_driver.py daily D [D ...]      ingest only these extract dates, then transform
                                                 (what the new-extract sensor + transform_after_ingest do)
    python bench/_driver.py transform            no new data: the transform job alone
                                                 (what the daily schedule does when nothing arrived)
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> int:
    mode, dates = argv[0], argv[1:]
    t0 = time.monotonic()
    if mode == "full":
        from orchestration.run.pipeline import run_pipeline

        ok = run_pipeline().success
    elif mode == "daily":
        from orchestration.run.pipeline import run_pipeline

        ok = run_pipeline(extract_dates=dates).success
    elif mode == "transform":
        import dagster as dg

        from orchestration.lib.core.environment import export_env
        from orchestration.lib.core.log import log
        from orchestration.lib.core.paths import current
        from orchestration.lib.transform.manifest import prepare_dbt
        from orchestration.run.instance import dagster_home

        paths = current()
        export_env(paths)
        dagster_home(paths)
        prepare_dbt(paths)
        from orchestration.definitions import defs

        instance = dg.DagsterInstance.get()
        result = defs.resolve_job_def("transform_job").execute_in_process(instance=instance, raise_on_error=False)
        log(f"transform run {result.run_id}: {'success' if result.success else 'FAILED'}")
        ok = result.success
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(f"[driver] {mode} {' '.join(dates)} {'ok' if ok else 'FAILED'} in {time.monotonic() - t0:.1f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
