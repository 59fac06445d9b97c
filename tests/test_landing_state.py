"""Which extract dates a run ingests: new, re-sent, withdrawn or never finished ones, and every
date after the earliest of them; nothing when the landing zone is as it was ingested."""

from __future__ import annotations

import os

import pytest

from orchestration.lib.core import contract
from orchestration.lib.ingest import ingest_partition, landing_state, raw_partition_file
from orchestration.lib.ingest.landing_state import changed_extract_dates, dates_to_ingest
from tests.ingest_helpers import land, make_paths

ACTIVITIES = contract.entity("crm", "activities")
HEADER = "activity_id,account_id,activity_type,occurred_at,owner_id,contact_id\n"
DATES = ["2024-03-01", "2024-03-02", "2024-03-03"]


@pytest.fixture
def paths(tmp_path):
    paths = make_paths(tmp_path)
    for i, d in enumerate(DATES):
        land(paths, "crm", "activities", d, "a.csv", HEADER + f"a{i},acc,call,{d}T10:00:00Z,,\n")
        ingest_partition(paths, ACTIVITIES, d)
    return paths


def test_nothing_changed_nothing_to_ingest(paths):
    assert changed_extract_dates(paths, DATES) == []
    assert dates_to_ingest(paths, DATES) == []


def test_a_new_date_alone_is_ingested(paths):
    land(paths, "crm", "activities", "2024-03-04", "a.csv", HEADER + "a9,acc,call,2024-03-04T10:00:00Z,,\n")
    assert dates_to_ingest(paths, [*DATES, "2024-03-04"]) == ["2024-03-04"]


def test_a_resent_file_is_ingested_with_every_later_date(paths):
    f = paths.landing / "crm" / "activities" / DATES[1] / "a.csv"
    f.write_text(HEADER + "a1,acc,email,2024-03-02T10:00:00Z,,\n")  # same size, other content
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))
    assert changed_extract_dates(paths, DATES) == [DATES[1]]
    assert dates_to_ingest(paths, DATES) == DATES[1:]
    ingest_partition(paths, ACTIVITIES, DATES[1])
    assert dates_to_ingest(paths, DATES) == []


def test_an_added_or_withdrawn_file_counts(paths):
    extra = land(paths, "crm", "activities", DATES[0], "b.csv", HEADER)
    assert dates_to_ingest(paths, DATES) == DATES
    ingest_partition(paths, ACTIVITIES, DATES[0])
    assert dates_to_ingest(paths, DATES) == []
    extra.unlink()
    assert changed_extract_dates(paths, DATES) == [DATES[0]]
    (paths.landing / "crm" / "activities" / DATES[2] / "a.csv").unlink()  # the entity's only file
    assert changed_extract_dates(paths, DATES) == [DATES[0], DATES[2]]
    ingest_partition(paths, ACTIVITIES, DATES[2])  # removes its raw and audit files, and the record
    assert not landing_state.state_file(paths, ACTIVITIES, DATES[2]).exists()
    assert changed_extract_dates(paths, DATES) == [DATES[0]]


def test_a_date_folder_deleted_whole_is_withdrawn(paths):
    import shutil

    shutil.rmtree(paths.landing / "crm" / "activities" / DATES[1])
    remaining = [DATES[0], DATES[2]]  # what discover_extract_dates finds now
    assert dates_to_ingest(paths, remaining) == DATES[1:]
    raw = raw_partition_file(paths, ACTIVITIES, DATES[1])
    assert raw.exists()
    ingest_partition(paths, ACTIVITIES, DATES[1])  # no landing files: its raw files and record go
    assert not raw.exists()
    assert dates_to_ingest(paths, remaining) == []


def test_an_unfinished_partition_or_other_ingest_code_counts(paths, monkeypatch):
    landing_state.state_file(paths, ACTIVITIES, DATES[2]).unlink()  # as if killed before the end
    assert dates_to_ingest(paths, DATES) == [DATES[2]]
    ingest_partition(paths, ACTIVITIES, DATES[2])
    assert dates_to_ingest(paths, DATES) == []
    monkeypatch.setattr(landing_state, "ingest_code_digest", lambda: "another version")
    assert dates_to_ingest(paths, DATES) == DATES


def test_sensor_asks_for_new_and_resent_dates_once_and_waits_for_a_run_in_flight(paths, monkeypatch):
    import dagster as dg

    from orchestration.defs.automation import new_extracts_sensor
    from orchestration.defs.partitions import extract_date_partitions

    monkeypatch.setenv("CHW_LANDING_DIR", str(paths.landing))
    monkeypatch.setenv("CHW_WAREHOUSE", str(paths.warehouse))
    monkeypatch.setenv("CHW_DATA_DIR", str(paths.data))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(extract_date_partitions.name, DATES)

        def evaluate():
            return new_extracts_sensor(dg.build_sensor_context(instance=instance))

        assert isinstance(evaluate(), dg.SkipReason)
        land(paths, "crm", "activities", "2024-03-04", "a.csv", HEADER)
        f = paths.landing / "crm" / "activities" / DATES[2] / "a.csv"
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))  # re-sent
        first = evaluate()
        (request,) = first.run_requests
        assert request.tags["dagster/asset_partition_range_start"] == DATES[2]
        assert request.tags["dagster/asset_partition_range_end"] == "2024-03-04"
        (added,) = first.dynamic_partitions_requests
        assert list(added.partition_keys) == ["2024-03-04"]
        assert evaluate().run_requests[0].run_key == request.run_key  # asked once: Dagster dedupes run keys
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))  # re-sent again, same name
        assert evaluate().run_requests[0].run_key != request.run_key

        instance.create_run_for_job(dg.GraphDefinition(name="ingest_job").to_job())  # not started yet
        assert isinstance(evaluate(), dg.SkipReason)  # an ingest run in flight: wait for it
