"""Command line: `python -m orchestration.cli run|generate|prepare|dbt|ui|docs`.

`run` is `make run`: demo extracts when the landing zone is empty, then the whole pipeline.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from orchestration.lib.core.environment import export_env
from orchestration.lib.core.log import log
from orchestration.lib.core.paths import DUCKDB, PROJECT_ROOT, current
from orchestration.lib.transform.manifest import dbt_command, prepare_dbt
from orchestration.run.instance import dagster_home
from orchestration.run.pipeline import refuse_shared_data_dir, run_pipeline


def _landing_is_empty(landing) -> bool:
    return not landing.exists() or not any(p.is_file() for p in landing.rglob("*"))


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.lib.demo import generate

    out = Path(current().landing if args.out is None else args.out)
    truth = Path(args.truth) if args.truth else out.resolve().parent / "truth" / f"{out.name}.csv"
    summary = generate(out, preset=args.preset, seed=args.seed, end_date=date.fromisoformat(args.end_date),
                       world=args.world, truth=truth)
    log(f"wrote {summary.files_written} files for {len(summary.extract_dates)} extract dates to {out}; "
        f"world {summary.world}: churn and expansion truth in {summary.truth_path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    paths = current()
    if _landing_is_empty(paths.landing):
        from orchestration.lib.demo import generate

        log(f"landing zone {paths.landing} is empty: writing demo extracts (preset {args.preset})")
        generate(paths.landing, preset=args.preset, seed=args.seed)
    result = run_pipeline(paths)
    _print_where(paths, result)
    if not result.success:
        _print_failure(result, paths)
    return 0 if result.success else 1


# DuckDB's words for a database file it cannot read back (truncated, damaged), not a lock or a full disk
UNREADABLE = re.compile(r"could not read enough bytes|corrupt|checksum|not a valid duckdb|serialization error|truncat", re.I)


def _warehouse_damage(paths, failures: list[str]) -> str | None:
    """DuckDB's error when the warehouse file itself cannot be read (truncated, damaged), else None.
    Opening it is not enough to know: a file cut after its catalog opens, and fails in the first
    model that reads a table past the cut; so a failure naming the file with such an error counts."""
    import duckdb

    if paths.engine != DUCKDB or not paths.warehouse.exists():  # Spark's tables are Parquet files
        return None
    for failure in failures:
        for line in failure.splitlines():
            if str(paths.warehouse) in line and UNREADABLE.search(line) and "lock" not in line.lower():
                return " ".join(line.split())
    try:
        duckdb.connect(str(paths.warehouse), read_only=True).close()
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())
        return message if UNREADABLE.search(message) or "lock" not in message.lower() else None
    return None


def _print_failure(result, paths) -> None:
    """Why the run failed, in a few lines, and what to do about the causes we know."""
    text = "\n".join(result.failures)
    lines = ["", "What failed:"]
    lines += [f"  {f.strip().splitlines()[0][:600]}" for f in result.failures[:8]] or ["  (see the Dagster UI: make ui)"]
    damage = _warehouse_damage(paths, result.failures)
    if damage:
        wal = paths.warehouse.with_name(paths.warehouse.name + ".wal")
        lines += [
            f"The warehouse file {paths.warehouse} cannot be read ({damage[:300]}): it is truncated or damaged "
            "(a full disk, a copy cut short?).",
            f"  Nothing is lost: every table in it is built from {paths.raw} and {paths.audit}. Delete it and run "
            f"again, which rebuilds it from raw:  rm -f {paths.warehouse} {wal}  and then the same command.",
        ]
    if re.search(r"out of memory", text, re.I):
        limit = os.environ.get("CHW_DUCKDB_MEMORY_LIMIT") or "3GB (the default)"
        lines += [
            f"DuckDB ran out of memory: the memory limit is {limit}, set by CHW_DUCKDB_MEMORY_LIMIT "
            "(dbt_project/profiles.yml).",
            "  Raise CHW_DUCKDB_MEMORY_LIMIT (e.g. `CHW_DUCKDB_MEMORY_LIMIT=8GB make run`) and run again. The models "
            "that failed kept their previous tables and the serving copy (serving/chw.duckdb) was not replaced.",
        ]
    if "scale_consistency" in text:
        lines += [
            "A survey-responses extract failed the blocking check scale_consistency (too many invalid rows): "
            "see audit.quarantine. That day's health scoring is withheld (no marts.account_health rows for it); "
            "other days were scored. Replace the extract and run again.",
        ]
    print("\n".join(lines), flush=True)


def _print_where(paths, result) -> None:
    import duckdb

    from orchestration.lib.core.warehouse import connect_read_only, location

    spark = paths.engine != DUCKDB
    lines = [
        "",
        f"Pipeline {'finished' if result.success else 'FAILED'} in {result.seconds:.0f} s "
        f"over {len(result.extract_dates)} extract dates.",
        f"  warehouse   {location(paths)}   (schemas marts, audit, staging, intermediate"
        + (f"; Spark tables as Parquet, engine {paths.engine})" if spark else ")"),
        f"  raw Parquet {paths.raw}",
    ]
    try:
        con = connect_read_only(paths)
        files, rows_in, loaded, quarantined, rejected = con.execute(
            "select count(*), sum(rows_in), sum(rows_loaded), sum(rows_quarantined), "
            "count(*) filter (where status = 'rejected') from audit.load_log"
        ).fetchone()
        lines.append(
            f"  audit       {files} files, {rows_in} rows in, {loaded} loaded, {quarantined} quarantined, "
            f"{rejected} files rejected (audit.load_log, audit.quarantine)"
        )
        lines += _rejected_and_stale(con)
        marts = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()]
        lines.append(f"  marts       {', '.join(marts)}")
        try:
            blocked = con.execute(
                "select source, entity, extract_date, quarantined_pct "
                "from intermediate.int_health__blocked_extract_dates order by 3, 1, 2"
            ).fetchall()
        except duckdb.Error:
            blocked = []
        if blocked:
            # every entity's extracts pass the quarantine gate (defs/ingest: quarantine_share)
            lines.append(
                "  BLOCKED     extracts over quarantine_block_pct invalid, not health-scored "
                "(see audit.quarantine; re-send a corrected extract): "
                + ", ".join(f"{s}/{e} {d} ({pct:.0f}% invalid)" for s, e, d, pct in blocked)
            )
        con.close()
    except duckdb.Error as exc:  # the warehouse may be absent after a failed run
        lines.append(f"  (could not read the warehouse: {exc})")
    # Spark: no DuckDB warehouse file to open; the serving copy holds the marts (lib/serve/publish.py)
    marts_file = paths.serving / "chw.duckdb" if spark else paths.warehouse
    lines += [
        "Open the Dagster UI over these runs:  make ui   (http://127.0.0.1:3000)",
        "Query the marts:  .venv/bin/python -c \"import duckdb; "
        f"print(duckdb.connect('{marts_file}', read_only=True).sql('from marts.metric_values limit 5'))\"",
    ]
    print("\n".join(lines), flush=True)


SHOW_REJECTED = 20  # the summary names this many rejected files; audit.load_log has them all


def _rejected_and_stale(con) -> list[str]:
    """Summary lines naming each rejected file with its reason, and each stale feed with its lag
    (orchestration/lib/ingest/feed_lag.py), from audit.load_log: whatever ingest rejects, with whatever
    reason it gives, shows here without this code knowing the reason."""
    from orchestration.lib.ingest.feed_lag import stale_feeds

    lines = []
    rejected = con.execute(
        "select cast(extract_date as varchar), file, error from audit.load_log "
        "where status = 'rejected' order by extract_date, file"
    ).fetchall()
    for day, file, error in rejected[:SHOW_REJECTED]:
        reason = " ".join((error or "no reason recorded").split())
        lines.append(f"  REJECTED    {file or f'(no file, extract date {day})'}: {reason}")
    if len(rejected) > SHOW_REJECTED:
        lines.append(f"  REJECTED    ... and {len(rejected) - SHOW_REJECTED} more files (audit.load_log where status = 'rejected')")
    newest = {
        (source, entity): day
        for source, entity, day in con.execute(
            "select source, entity, cast(max(extract_date) as varchar) from audit.load_log "
            "where status = 'loaded' group by source, entity"
        ).fetchall()
    }
    for feed in stale_feeds(newest):
        lines.append(
            f"  STALE       {feed.entity}: newest extract {feed.newest}, {feed.lag_days} days behind the landing "
            f"zone's newest ({feed.newest_any}; allowed {feed.max_lag_days}, vars.chw.freshness_max_lag_days)"
        )
    return lines


def cmd_prepare(args: argparse.Namespace) -> int:
    prepare_dbt(current())
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    export_env(current())
    return subprocess.call(dbt_command(*args.dbt_args))


def cmd_ui(args: argparse.Namespace) -> int:
    """`dg dev` (what Dagster documents in place of `dagster dev`): the webserver on 127.0.0.1
    only, the daemon, and the code location of pyproject.toml's [tool.dg.project]."""
    paths = current()
    refuse_shared_data_dir(paths)  # its sensors and schedule ingest and build into the data dir
    export_env(paths)
    dagster_home(paths)  # DAGSTER_HOME and its dagster.yaml (telemetry off, pools, event log)
    prepare_dbt(paths)
    # This environment, activated for `dg dev` and every process it starts, as `source
    # .venv/bin/activate` would: `make ui` runs from a plain shell, and what the code location
    # or dg looks up on PATH (dbt) or compares with the project's .venv must be this one.
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    env = {**os.environ, "VIRTUAL_ENV": os.path.dirname(bin_dir),
           "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    env.pop("PYTHONHOME", None)
    log(f"Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C stops it)")
    proc = subprocess.Popen(
        [os.path.join(bin_dir, "dg"), "dev", "--host", "127.0.0.1", "--port", str(args.port)],
        cwd=PROJECT_ROOT, env=env,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached `dg dev` too: let it stop its services, quietly
        return proc.wait()


def cmd_docs(args: argparse.Namespace) -> int:
    paths = current()
    export_env(paths)
    code = subprocess.call(dbt_command("docs", "generate", "--static"))
    if code == 0:
        log(f"dbt docs: {paths.dbt_target / 'static_index.html'}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="process every extract date (demo extracts if the landing zone is empty)")
    run.add_argument("--preset", default="demo")
    run.add_argument("--seed", type=int, default=42)
    run.set_defaults(func=cmd_run)
    gen = sub.add_parser("generate", help="write demo extracts")
    gen.add_argument("--preset", default="demo", help="tiny, small, demo, S, M, history, worlds or worlds_large")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--end-date", default="2026-10-31")
    gen.add_argument("--out", default=None, help="default: CHW_LANDING_DIR")
    gen.add_argument("--world", default="default",
                     help="latent process: default (every signal warns), usage_support, engagement or silent "
                          "(orchestration/lib/demo/config.py WORLDS)")
    gen.add_argument("--truth", default=None,
                     help="truth CSV (per renewal: the churn and expansion probability the process used); "
                          "default <out>/../truth/<out name>.csv, never inside the landing zone")
    gen.set_defaults(func=cmd_generate)
    sub.add_parser("prepare", help="parse the dbt project (manifest for Dagster)").set_defaults(func=cmd_prepare)
    dbt = sub.add_parser("dbt", help="run dbt with the project's paths, e.g. `dbt build -s marts`")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)
    ui = sub.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=int(os.environ.get("CHW_UI_PORT") or 3000),
                    help="the UI's port on 127.0.0.1 (default: CHW_UI_PORT, else 3000)")
    ui.set_defaults(func=cmd_ui)
    sub.add_parser("docs", help="dbt docs generate --static").set_defaults(func=cmd_docs)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
