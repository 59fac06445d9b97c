"""The ingest assets under Dagster: two extract dates in one run (single-run backfill), checks,
metadata, and idempotency (materializing again writes byte-identical raw and audit files)."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from orchestration.defs.ingest import ingest_assets, ingest_checks
from orchestration.defs.partitions import extract_date_partitions
from orchestration.lib.core.paths import current
from tests.ingest_helpers import land, load_log, make_paths, quarantine, raw, tree_digest

D1, D2 = "2024-05-01", "2024-05-03"
SURVEYS = (
    "survey_id,metric,question,scale_min,scale_max,higher_is_better,trigger,channel,owner_team\n"
    "nps_rel,nps,How likely?,0,10,true,relationship,email,customer_success\n"
)
RESP = "response_id,invitation_id,survey_id,account_id,contact_id,score,comment,responded_at\n"
ACCOUNTS = "account_id,account_name,industry,tier,region,plan,csm_owner_id,created_at\n"
RANGE = {"dagster/asset_partition_range_start": D1, "dagster/asset_partition_range_end": D2}


@pytest.fixture
def paths(tmp_path, monkeypatch):
    p = make_paths(tmp_path)
    monkeypatch.setenv("CHW_LANDING_DIR", str(p.landing))
    monkeypatch.setenv("CHW_WAREHOUSE", str(p.warehouse))
    monkeypatch.setenv("CHW_DATA_DIR", str(p.data))
    for derived in ("CHW_SPARK_DIR", "CHW_ENGINE", "DBT_TARGET"):  # left by a module that ran export_env
        monkeypatch.delenv(derived, raising=False)
    assert current() == p
    return p


def landing_zone(paths) -> None:
    """Two extract dates; surveys and responses arrive on both, accounts on D1 only, and a
    tickets file of D2 lacks a required column."""
    land(paths, "survey", "surveys", D1, "surveys.csv", SURVEYS)
    land(paths, "survey", "surveys", D2, "surveys.csv", SURVEYS)
    land(paths, "survey", "responses", D1, "r.csv", RESP
         + "r1,,nps_rel,a1,c1,9,\"Fine, thanks\",2024-04-30T10:00:00+02:00\n"
         + "r2,,nps_rel,a1,c2,3,,2024-04-30T11:00:00Z\n")
    land(paths, "survey", "responses", D2, "r.csv", RESP
         + "r3,,nps_rel,a2,c3,10,,2024-05-02T10:00:00Z\n"
         + "r4,,nps_rel,a2,c4,7,,2024-05-02T10:00:00Z\n"
         + "r5,,nps_rel,a2,c5,8,,2024-05-02T10:00:00Z\n"
         + "r6,,nps_rel,a2,c6,8,,2024-05-02T10:00:00Z\n"
         + "r7,,nps_rel,a2,c7,12,,2024-05-02T10:00:00Z\n")  # 1 of 5 quarantined = 20%: not over
    land(paths, "crm", "accounts", D1, "accounts.csv", ACCOUNTS + "a1,Acme,saas,SMB,eu,pro,o1,2023-01-01\n")
    land(paths, "helpdesk", "tickets", D2, "t.csv", "ticket_id,account_id\nT1,a1\n")


def materialize(instance, **kw):
    return dg.materialize(ingest_assets, instance=instance, tags=RANGE, **kw)


def check_evals(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()
    }


def test_two_extract_dates_in_one_run_and_rerun_is_identical(paths):
    landing_zone(paths)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_date_partitions.name, [D1, D2])
    assert ingest_checks == []

    result = materialize(instance)
    assert result.success

    # one run covered both partitions of every asset
    mats = result.get_asset_materialization_events()
    by_key: dict[str, set[str]] = {}
    for ev in mats:
        m = ev.event_specific_data.materialization
        by_key.setdefault(m.asset_key.to_user_string(), set()).add(m.partition)
    assert len(by_key) == 16 and all(v == {D1, D2} for v in by_key.values())

    # what landed
    assert [r["response_id"] for r in raw(paths, "survey", "responses", D1)] == ["r1", "r2"]
    assert [r["response_id"] for r in raw(paths, "survey", "responses", D2)] == ["r3", "r4", "r5", "r6"]
    (q,) = quarantine(paths, "survey", "responses", D2)
    assert q["reason"] == "gx expect_column_values_to_be_between: score 12 outside 0-10 of survey nps_rel"
    assert raw(paths, "crm", "accounts", D1)[0]["tier"] == "smb"
    assert not (paths.raw / "crm" / "accounts" / f"extract_date={D2}").exists()
    (log,) = load_log(paths, "helpdesk", "tickets", D2)
    assert log["status"] == "rejected" and "t.csv" in log["error"] and "created_at" in log["error"]
    for ent in ("surveys", "responses"):
        assert (paths.raw / "survey" / ent / "_schema" / "empty.parquet").exists()
    assert (paths.raw / "product" / "events" / "_schema" / "empty.parquet").exists()

    # metadata of the responses materialization (the run's totals)
    resp = next(ev.event_specific_data.materialization for ev in mats
                if ev.event_specific_data.materialization.asset_key == dg.AssetKey(["raw", "survey", "responses"]))
    md = {k: v.value for k, v in resp.metadata.items()}
    assert (md["rows_in"], md["rows_loaded"], md["rows_quarantined"], md["files"], md["files_rejected"]) == (
        7, 6, 1, 2, 0)

    # checks: the blocking scale check passes at exactly 20%; rejected tickets file warns
    evals = check_evals(result)
    scale = evals[("raw/survey/responses", "scale_consistency")]
    assert scale.passed and scale.metadata["quarantined"].value == 1
    assert scale.metadata["failing_expectations"].value == {"expect_column_values_to_be_between": 1}
    warn = evals[("raw/helpdesk/tickets", "no_rejected_files")]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert evals[("raw/crm/accounts", "no_rejected_files")].passed

    first = tree_digest(paths.raw, paths.audit)
    again = materialize(instance)
    assert again.success
    assert tree_digest(paths.raw, paths.audit) == first


def test_blocking_check_fails_when_too_many_rows_are_quarantined(paths):
    land(paths, "survey", "surveys", D1, "surveys.csv", SURVEYS)
    land(paths, "survey", "responses", D1, "r.csv", RESP
         + "r1,,nps_rel,a1,c1,9,,2024-04-30T10:00:00Z\n"
         + "r2,,nps_rel,a1,c2,11,,2024-04-30T10:00:00Z\n")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_date_partitions.name, [D1])
    selection = [a for a in ingest_assets if a.key.path[1] == "survey"]
    result = dg.materialize(selection, instance=instance, partition_key=D1, raise_on_error=False)
    scale = check_evals(result)[("raw/survey/responses", "scale_consistency")]
    assert not scale.passed and scale.severity == dg.AssetCheckSeverity.ERROR
    assert scale.metadata["pct"].value == 50.0
    assert not result.success  # a failed blocking check fails the step: downstream does not run


def test_bulk_run_plans_once_per_asset_and_still_materializes_every_partition(paths):
    """run_pipeline's backfill logs one materialization-planned event per asset (not per asset x
    extract date); the run still materializes every partition of every asset."""
    from orchestration.defs.automation import PLANNED_EVENTS_AS_SUBSET, one_planned_event_per_asset

    landing_zone(paths)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(extract_date_partitions.name, [D1, D2])
    with one_planned_event_per_asset():
        result = materialize(instance)
    assert PLANNED_EVENTS_AS_SUBSET not in os.environ
    assert result.success
    planned = [e for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)]
    assert len(planned) == 16
    mats = {(ev.event_specific_data.materialization.asset_key.to_user_string(), ev.event_specific_data.materialization.partition)
            for ev in result.get_asset_materialization_events()}
    assert len(mats) == 16 * 2
