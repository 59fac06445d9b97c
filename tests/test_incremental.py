"""Incremental daily runs give the same warehouse as one full build.

The large-history dbt models (stg_product__events, stg_survey__responses,
stg_helpdesk__tickets, stg_helpdesk__ticket_comments, the CRM snapshots stg_crm__subscriptions,
__contacts and __milestones, int_usage__user_days,
int_usage__account_feature_days, int_usage__account_days, int_usage__account_event_name_days) are incremental: a run reads only
the extracts after `incremental_cutoff()` (the newest extract already built minus
vars.chw.incremental_lookback_days) and replaces the keys / days they touch (delete+insert).

One generated landing zone (preset "tiny": 20 accounts, 20 days, to keep it quick) is split by extract date. The pipeline runs over
all but the last five dates, then catches up in two incremental runs: four dates at once
(a gap of several days) and then the last date alone (the daily case). A copy of that
warehouse is then rebuilt with `dbt run --full-refresh` over the same files. Every table of
every schema must be identical in both (row count and an order-independent hash of all rows):
nothing is excluded but the `<model>__increment_cutoff` tables, which record what the last build
wrote (a cutoff after an incremental build, none after a full one: tests/generic/unique_in_increment.sql).

The demo extracts hold what makes increments hard: late events (happened days ago, first
arriving today: they must land on their past day in the usage models), tickets re-sent with
a newer version in a later extract (the later version must replace the earlier one), and
first_extract_date, which must keep the first extract an id appeared in. The test adds an event
re-sent in the last extract with its occurred_at three days later: both its old day and its new
one are long before the cutoff, and the old day must stop counting it
(stg_product__event_day_moves, which is bookkeeping, empty after a full build, and not compared).
The last extract also re-sends the subscriptions snapshot without one subscription and with
another one's seats changed. A third run follows extracts withdrawn or re-sent with fewer rows
within the lookback (events, tickets, comments, responses, that snapshot): a withdrawn key falls back to its older version (the re-sent
event goes back to its first day) or leaves staging when it has none, as in a full build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, pipeline_env, run_cli, table_fingerprints

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DBT_PROJECT = ROOT / "dbt_project"


def extract_dates(landing: Path) -> list[str]:
    """Extract-date folders of a landing zone (<source>/<entity>/<YYYY-MM-DD>/)."""
    return sorted({p.name for p in landing.glob("*/*/*") if p.is_dir()})


def copy_dates(src: Path, dst: Path, dates: list[str]) -> None:
    """Copy the folders of `dates` from one landing zone into another (as new extracts arrive)."""
    wanted = set(dates)
    for folder in src.glob("*/*/*"):
        if folder.is_dir() and folder.name in wanted:
            shutil.copytree(folder, dst / folder.relative_to(src), dirs_exist_ok=True)


def dbt(*args: str, landing: Path, data: Path, warehouse: Path, target: Path) -> subprocess.CompletedProcess:
    """A dbt command on `warehouse`, reading the raw, audit and model files of `data`; own target path."""
    env = pipeline_env(landing, data)
    env.update(CHW_WAREHOUSE=str(warehouse), CHW_RAW_DIR=str(data / "raw"), CHW_AUDIT_DIR=str(data / "audit"),
               CHW_MODELS_DIR=str(data / "models"))
    exe = os.path.join(os.path.dirname(sys.executable), "dbt")
    proc = subprocess.run(
        [exe, *args, "--target-path", str(target), "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
    return proc


def resend_event_days_later(landing: Path, from_date: str, to_date: str, days: int) -> str:
    """Re-send an event of the extract of `from_date` in the extract of `to_date` (a CSV beside
    its events file) with its occurred_at `days` later; returns its event_id. The event is its
    user's only one that day, so that the day's active users change too (the metric models must
    recompute the day it left: their watermark on stg_product__event_day_moves)."""
    import duckdb

    (src,) = (landing / "product" / "events" / from_date).iterdir()
    dest = landing / "product" / "events" / to_date / "zz_resent.csv"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    event = (
        f"SELECT * FROM '{src}' WHERE user_id IS NOT NULL "
        "QUALIFY count(*) OVER (PARTITION BY account_id, user_id, CAST(occurred_at AS DATE)) = 1 "
        "ORDER BY event_id LIMIT 1"
    )
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(occurred_at AS TIMESTAMP) + INTERVAL {days} DAY AS occurred_at) FROM ({event})) "
        f"TO '{dest}' (HEADER, DELIMITER ',')"
    )
    return con.execute(f"SELECT event_id FROM ({event})").fetchone()[0]


def resend_subscriptions_snapshot(landing: Path, dates: list[str]) -> tuple[str, str]:
    """A subscriptions snapshot in the last extract (replacing the generator's, if that date had
    one): the latest earlier snapshot without its first subscription and with one more seat on
    its second. Returns (dropped, changed) subscription ids."""
    import duckdb

    folder = landing / "crm" / "subscriptions"
    previous = max(d for d in dates[:-1] if (folder / d).is_dir())
    (src,) = (folder / previous).iterdir()
    dest = folder / dates[-1] / "subscriptions.csv"
    dest.parent.mkdir(exist_ok=True)
    for old in dest.parent.iterdir():
        old.unlink()
    con = duckdb.connect()
    dropped, changed = (r[0] for r in con.execute(
        f"SELECT subscription_id FROM read_csv('{src}', all_varchar = true) ORDER BY 1 LIMIT 2").fetchall())
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN subscription_id = '{changed}' THEN CAST(CAST(seats AS INTEGER) + 1 AS VARCHAR) "
        f"ELSE seats END AS seats) FROM read_csv('{src}', all_varchar = true) WHERE subscription_id <> '{dropped}') "
        f"TO '{dest}' (HEADER, DELIMITER ',')"
    )
    return dropped, changed


def withdraw_within_lookback(landing: Path, dates: list[str]) -> None:
    """Extracts withdrawn or re-sent with fewer rows, all after the next run's cutoff: the event
    re-sent in the last extract (it has an older version), half the events of the one before,
    the tickets of the fifth-to-last (at seed 7: some re-sent with an older version, some first
    seen there and re-sent later, whose first extract becomes the later one), the comments and
    responses of the one before the last (mostly new rows: they leave staging), and the last
    subscriptions snapshot (its keys fall back to the one before, is_current with them)."""
    import duckdb

    (landing / "product" / "events" / dates[-1] / "zz_resent.csv").unlink()
    (events,) = (landing / "product" / "events" / dates[-2]).glob("*.parquet")
    fewer = events.with_name("fewer.parquet")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM '{events}' WHERE hash(event_id) % 2 = 0) TO '{fewer}' (FORMAT parquet)")
    fewer.replace(events)
    for entity, date in (("helpdesk/tickets", dates[-5]), ("helpdesk/ticket_comments", dates[-2]),
                         ("survey/responses", dates[-2]), ("crm/subscriptions", dates[-1])):
        shutil.rmtree(landing / entity / date)


def test_incremental_runs_equal_a_full_build(tmp_path):
    from orchestration.lib.demo import generate

    everything = tmp_path / "landing_all"
    generate(everything, preset="tiny", seed=7)
    dates = extract_dates(everything)
    assert len(dates) > 10
    moved = resend_event_days_later(everything, dates[1], dates[-1], days=3)
    dropped, changed = resend_subscriptions_snapshot(everything, dates)

    # All but the last five extract dates, then two incremental catch-up runs: four dates at
    # once (a gap of several days), then the last date alone (the daily case).
    landing, data = tmp_path / "landing", tmp_path / "data"
    landing.mkdir()
    copy_dates(everything, landing, dates[:-5])
    run_cli("run", landing=landing, data=data)
    for batch in (dates[-5:-1], dates[-1:]):
        copy_dates(everything, landing, batch)
        run_cli("run", landing=landing, data=data)
    warehouse = data / "warehouse.duckdb"
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        (recorded,) = con.execute(
            "select count(*) from staging.stg_product__event_day_moves where extract_date = ?", [dates[-1]]
        ).fetchone()
        (day,) = con.execute("select occurred_at from staging.stg_product__events where event_id = ?", [moved]).fetchone()
        subscriptions = dict(con.execute(
            "select subscription_id, (is_current, seats) from staging.stg_crm__subscriptions where subscription_id in (?, ?)",
            [dropped, changed]).fetchall())
    assert recorded == 1, "the re-sent event's old day was not recorded as a move"
    # the snapshot staging models are incremental too: a key left out of the new snapshot is no
    # longer current (no new version of it arrived), a changed one has its new version
    assert subscriptions[dropped][0] is False and subscriptions[changed][0] is True, subscriptions
    assert str(day.date()) > dates[1], day

    # Then extracts within the lookback are withdrawn or re-sent with fewer rows, and the
    # pipeline runs again with nothing new.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (tickets_before,) = con.execute(
            "select count(*) from staging.stg_helpdesk__tickets where extract_date = ?", [dates[-5]]).fetchone()
    withdraw_within_lookback(landing, dates)
    run_cli("run", landing=landing, data=data)
    incremental = table_fingerprints(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (day,) = con.execute("select occurred_at from staging.stg_product__events where event_id = ?", [moved]).fetchone()
        (tickets_after,) = con.execute(
            "select count(*) from staging.stg_helpdesk__tickets where extract_date = ?", [dates[-5]]).fetchone()
    assert str(day.date()) <= dates[1], f"the withdrawn re-send of {moved} still counts (occurred_at {day})"
    assert tickets_before > 0 and tickets_after == 0, (tickets_before, tickets_after)

    # Those runs were incremental: against that warehouse the events model compiles with the
    # cutoff predicate (is_incremental(); the pipeline never passes --full-refresh).
    target = tmp_path / "dbt_target"
    dbt("compile", "--select", "stg_product__events", "--quiet",
        landing=landing, data=data, warehouse=warehouse, target=target)
    assert "where _extract_date > cast(" in next(target.rglob("stg_product__events.sql")).read_text()

    # The same warehouse rebuilt from scratch: every model with --full-refresh, over the same
    # raw layer, audit files and Python model outputs (which the incremental runs wrote from
    # the same intermediate tables, so they are the full build's inputs too). A fresh pipeline
    # run over every date gives the same tables (checked by hand; it costs one more ingest).
    full_warehouse = tmp_path / "full" / "warehouse.duckdb"
    full_warehouse.parent.mkdir()
    shutil.copyfile(warehouse, full_warehouse)
    dbt("run", "--full-refresh", landing=landing, data=data, warehouse=full_warehouse, target=target)
    full = table_fingerprints(full_warehouse)

    for built in (incremental, full):
        for name in [n for n in built if n.endswith("__increment_cutoff") or n == "staging.stg_product__event_day_moves"]:
            del built[name]
    layers = ("staging.", "intermediate.", "marts.")
    assert sum(name.startswith(layers) for name in full) > 50
    assert sorted(incremental) == sorted(full), "the two warehouses hold different tables"
    differing = {name: (incremental[name], full[name]) for name in full if incremental[name] != full[name]}
    assert differing == {}, f"tables differ between incremental and full builds (rows, hash): {differing}"
