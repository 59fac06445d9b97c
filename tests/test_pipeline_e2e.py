"""End to end: generated extracts -> Dagster ingest -> dbt -> marts, run for real, twice.

One small generated landing zone (preset "small": 40 accounts, 100 days) goes through `python -m orchestration.cli run`
exactly as `make run` does it. Then we check that nothing was lost, that every injected kind of
bad input was quarantined with its reason, that the broken file was rejected by name, and that a
second run over the same extracts changes no row of any table.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.core import settings
from tests.conftest import run_cli, table_fingerprints

pytestmark = pytest.mark.e2e

# Which injected defects end in quarantine, and a word their reason must contain.
QUARANTINED_KINDS = {
    "duplicate_key": r"duplicate",
    "out_of_scale_score": r"scale|between|range",
    "non_integer_nps": r"integer",
    "unknown_survey": r"survey",
    "unparseable_timestamp": r"timestamp",
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from orchestration.lib.demo import generate

    root = tmp_path_factory.mktemp("e2e")
    landing, data = root / "landing", root / "data"
    summary = generate(landing, preset="small", seed=7, end_date=date(2026, 10, 31))
    first = run_cli("run", landing=landing, data=data)
    warehouse = data / "warehouse.duckdb"
    fingerprints = table_fingerprints(warehouse)
    serving = table_fingerprints(data / "serving" / "chw.duckdb")
    return {"summary": summary, "landing": landing, "data": data, "warehouse": warehouse,
            "first_output": first.stdout, "fingerprints": fingerprints, "serving_fingerprints": serving}


@pytest.fixture(scope="module")
def con(pipeline):
    c = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    yield c
    c.close()


def test_run_ends_by_saying_where_things_are(pipeline):
    out = pipeline["first_output"]
    assert "Pipeline finished" in out
    assert str(pipeline["warehouse"]) in out
    assert "make ui" in out


def test_ingest_ran_in_a_child_process_and_transform_in_the_pipeline_process(pipeline):
    """Ingest's libraries keep their memory until their process ends: it runs in a child, so the
    pipeline process beside dbt is small (orchestration/run/ingest_process.py). Both runs carry the
    pipeline process's owner tags; Dagster records which process wrote each event."""
    import dagster as dg

    from orchestration.run.pipeline import OWNER_TAG_PID

    with dg.DagsterInstance.from_config(str(pipeline["data"] / "dagster_home")) as instance:
        writers = {}
        for job in ("ingest_job", "transform_job"):
            (run,) = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
            step_events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.step_key and e.dagster_event]
            assert step_events, job
            writers[job] = ({event.pid for event in step_events} - {None}, int(run.tags[OWNER_TAG_PID]))
    ingest_pids, ingest_owner = writers["ingest_job"]
    transform_pids, transform_owner = writers["transform_job"]
    assert ingest_owner == transform_owner  # one pipeline process owns both runs
    assert transform_pids == {transform_owner}
    assert len(ingest_pids) == 1 and transform_owner not in ingest_pids


def test_the_first_runs_serving_copy_holds_every_mart_as_built(pipeline):
    """Published after the last dbt step: every marts and audit table of the warehouse, same rows
    (audit.quarantine without the records as they arrived, which hold personal data: same count)."""
    built = {name: fp for name, fp in pipeline["fingerprints"].items() if name.split(".")[0] in ("marts", "audit")}
    served = {name: fp for name, fp in pipeline["serving_fingerprints"].items() if name in built}
    assert "marts.health_score_evidence" in built
    assert served.keys() == built.keys()
    assert {k: v for k, v in served.items() if k != "audit.quarantine"} == \
        {k: v for k, v in built.items() if k != "audit.quarantine"}
    assert served["audit.quarantine"][0] == built["audit.quarantine"][0] > 0


def test_every_landing_file_is_in_the_load_log(pipeline, con):
    landing: Path = pipeline["landing"]
    files = {str(p.relative_to(landing)) for p in landing.rglob("*") if p.suffix in {".csv", ".jsonl", ".parquet"}}
    logged = {r[0] for r in con.execute("select file from audit.load_log").fetchall()}
    assert files == logged


def test_counts_reconcile_per_file(con):
    bad = con.execute(
        "select file, rows_in, rows_loaded, rows_quarantined from audit.load_log "
        "where status = 'loaded' and rows_in <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert bad == []
    per_file = con.execute(
        "select l.file, l.rows_quarantined, count(q.row_number) from audit.load_log l "
        "left join audit.quarantine q on q.file = l.file group by all "
        "having l.rows_quarantined <> count(q.row_number)"
    ).fetchall()
    assert per_file == []


def test_loaded_rows_reach_raw_and_staging(pipeline, con):
    raw = pipeline["data"] / "raw"
    for (entity, loaded) in con.execute(
        "select source || '/' || entity, sum(rows_loaded) from audit.load_log group by 1"
    ).fetchall():
        n = con.execute(f"select count(*) from read_parquet('{raw}/{entity}/*/*.parquet')").fetchone()[0]
        assert n == loaded, entity
    assert con.execute("select count(*) from staging.stg_crm__accounts").fetchone()[0] > 0


@pytest.mark.parametrize("kind", sorted(QUARANTINED_KINDS))
def test_each_injected_bad_row_is_quarantined_with_its_reason(pipeline, con, kind):
    injected = pipeline["summary"].defects.get(kind, [])
    assert injected, f"the generator injected no {kind}"
    for defect in injected:
        rows = con.execute(
            "select row_number, reason from audit.quarantine where file = ?", [defect["file"]]
        ).fetchall()
        reasons = [reason for row_number, reason in rows
                   if kind == "duplicate_key" or row_number == defect["row_number"]]
        assert any(re.search(QUARANTINED_KINDS[kind], r, re.I) for r in reasons), (defect, rows)


def test_broken_file_is_rejected_by_name(pipeline, con):
    broken = pipeline["summary"].defects.get("missing_required_column", [])
    assert broken, "the generator injected no file missing a required column"
    for defect in broken:
        status, error, rows_in = con.execute(
            "select status, error, rows_in from audit.load_log where file = ?", [defect["file"]]
        ).fetchone()
        assert status == "rejected"
        assert defect["file"] in error and rows_in > 0
        # the other files of that partition still loaded
        others = con.execute(
            "select count(*) from audit.load_log where extract_date = ? and status = 'loaded'",
            [defect["extract_date"]],
        ).fetchone()[0]
        assert others > 0


def test_marts_are_built(con):
    marts = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()}
    assert {"metric_values", "dim_accounts"} <= marts
    assert con.execute("select count(*) from marts.metric_values").fetchone()[0] > 0


def test_every_metric_computed_has_a_catalog_row_and_reviews(pipeline, con):
    """The program covers what the run computes: every metric of metric_values has a catalog row
    with its definition, unit, owner and cadence, and is reviewed; the headline set leads in the
    configured order; both program marts are in the serving copy."""
    uncovered = con.execute("""
        select distinct metric from marts.metric_values
        except
        select metric from marts.metric_catalog
        where definition is not null and unit is not null and owner_team is not null and cadence is not null
    """).fetchall()
    assert uncovered == []
    unreviewed = con.execute("""
        select distinct metric from marts.metric_values
        except
        select distinct metric from marts.metric_reviews
    """).fetchall()
    assert unreviewed == []
    headline = [m for (m,) in con.execute(
        "select metric from marts.metric_catalog where is_headline order by headline_rank").fetchall()]
    assert headline == settings.load()["program"]["headline"]
    assert {"marts.metric_catalog", "marts.metric_reviews"} <= pipeline["serving_fingerprints"].keys()


def test_threshold_alerts_are_breaches_of_the_metric_values(con):
    """Every alert of a metric threshold (nps_below_20, csat_below_70) stands on a rolling value of
    metric_values on its day, segment and window that is past the threshold on enough
    observations, and its owner is the configured one."""
    alerts = con.execute("""
        with thresholds as (
            select * from marts.metric_catalog where alert_type is not null
        ),
        raised as (
            select
                thresholds.*,
                alerts.alert_id,
                alerts.owner_team as alert_owner_team,
                cast(alerts.triggered_at as date) as day,
                case when alerts.signal_type = 'touchpoint' then 'touchpoint'
                     else split_part(alerts.signal_id, ':', 1) end as segment_type,
                case when alerts.signal_type = 'touchpoint' then split_part(alerts.signal_id, ':', 1)
                     else split_part(alerts.signal_id, ':', 2) end as segment_value
            from marts.alerts
            inner join thresholds on alerts.alert_type = thresholds.alert_type
        )
        select raised.alert_type, raised.alert_owner, raised.alert_owner_team, metric_values.value,
               metric_values.sample_size, raised.threshold, raised.threshold_min_sample, raised.direction
        from raised
        left join marts.metric_values
            on metric_values.metric = raised.metric
            and metric_values.grain = 'rolling'
            and metric_values.window_days = raised.threshold_window_days
            and metric_values.period_start = raised.day
            and metric_values.segment_type = raised.segment_type
            and metric_values.segment_value = raised.segment_value
    """).fetchall()
    assert alerts, "the small preset breaches a threshold"
    for alert_type, owner, owner_team, value, n, threshold, min_sample, direction in alerts:
        assert value is not None and n >= min_sample, (alert_type, value, n)
        assert value < threshold if direction == "higher_is_better" else value > threshold
        if owner != "survey_owner_team":
            assert owner_team == owner


def test_behaviour_before_each_answer_matches_a_brute_force_count(con):
    """fct_survey_responses' events_7d / active_users_7d against the window written the plain way
    (a range join: user-days from N days before the answer's day up to the day before)."""
    window = settings.load()["metrics"]["behaviour_window_days"]
    mismatched = con.execute(
        f"""
        with brute as (
            select r.response_id,
                   coalesce(sum(u.event_count), 0) as events,
                   count(distinct u.user_id) as users
            from marts.fct_survey_responses r
            left join intermediate.int_usage__user_days u
              on u.account_id = r.account_id
             and u.activity_date >= r.response_date - interval {window} day
             and u.activity_date < r.response_date
            group by r.response_id
        )
        select count(*), count(*) filter (where b.events > 0)
        from marts.fct_survey_responses f join brute b using (response_id)
        where f.events_7d <> b.events or f.active_users_7d <> b.users
        """
    ).fetchone()
    with_events = con.execute("select count(*) from marts.fct_survey_responses where events_7d > 0").fetchone()[0]
    assert with_events > 0
    assert mismatched[0] == 0, mismatched


def test_rerun_changes_no_row_of_any_table(pipeline, con):
    """A re-run after one day's extracts were re-sent unchanged (new modification times):
    that day and every later one are ingested again, the earlier ones are not, no row changes."""
    con.close()  # one writer: release the file for the second run
    from orchestration.lib.ingest.discover import discover_extract_dates

    dates = discover_extract_dates(pipeline["landing"])
    resent = dates[-5]
    for f in pipeline["landing"].glob(f"*/*/{resent}/*"):
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))
    out = run_cli("run", landing=pipeline["landing"], data=pipeline["data"]).stdout
    assert f"ingesting 5 extract dates, {resent} .. {dates[-1]}, in one run ({len(dates) - 5} earlier" in out, out
    again = table_fingerprints(pipeline["warehouse"])
    before = pipeline["fingerprints"]
    assert again.keys() == before.keys()
    # <model>__increment_cutoff records which rows the last build wrote (for unique_in_increment):
    # none after the first, full build, the lookback's cutoff after this one. Bookkeeping, not data
    bookkeeping = {name for name in before if name.endswith("__increment_cutoff")}
    assert bookkeeping, "the incremental models record their cutoff"
    changed = {name for name in before if before[name] != again[name]} - bookkeeping
    assert changed == set(), f"tables changed by a re-run: {sorted(changed)}"


def test_health_models_evidence_is_in_the_dagster_ui(pipeline):
    """The churn and expansion models' held-out evidence is the metadata of their Dagster asset
    (models/health_model_heldout), as in marts.health_score_evidence."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(pipeline["data"] / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["models", "health_model_heldout"]))
    assert event is not None
    meta = event.asset_materialization.metadata
    con = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    try:
        (kind,) = con.execute("select value_text from marts.health_score_evidence where measure = 'model_kind'").fetchone()
    finally:
        con.close()
    assert meta["model_model_kind"].value == kind
    assert "model_in_force" in meta and "model_evidence" in meta and "model_reliability" in meta
