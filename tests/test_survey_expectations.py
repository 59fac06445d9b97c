"""great-expectations survey suite: every failure kind is quarantined with its expectation."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.lib.core import contract
from orchestration.lib.ingest import ingest_partition, ingest_partitions
from orchestration.lib.ingest.sql import connect
from orchestration.lib.ingest.survey_expectations import (
    batch_validator_for,
    first_declarations,
    revalidate_raw_responses,
    validate_responses,
    validate_surveys,
    validator_for,
)
from tests.ingest_helpers import land, make_paths, quarantine, raw, tree_digest

D1, D2 = "2024-04-01", "2024-04-08"
SURVEY_HEADER = "survey_id,metric,question,scale_min,scale_max,higher_is_better,trigger,channel,owner_team\n"
SURVEYS = (
    SURVEY_HEADER
    + "nps_rel,nps,How likely...,0,10,true,relationship,email,customer_success\n"
    + "csat_t,csat,How satisfied...,1,5,true,ticket_solved,email,support\n"
)
RESP_HEADER = "response_id,invitation_id,survey_id,account_id,contact_id,score,comment,responded_at\n"

SURVEYS_DF = pd.DataFrame(
    {"survey_id": ["nps_rel", "csat_t"], "metric": ["nps", "csat"], "scale_min": [0, 1], "scale_max": [10, 5],
     "higher_is_better": [True, True]}
)


@pytest.fixture
def paths(tmp_path):
    return make_paths(tmp_path)


def run(paths, entity, date):
    ent = contract.entity("survey", entity)
    return ingest_partition(paths, ent, date, validator=validator_for(ent, paths, date))


def test_suite_each_failure_kind_names_its_expectation():
    df = pd.DataFrame({
        "_gx_row": range(6),
        "survey_id": ["nps_rel", "nps_rel", "nps_rel", "csat_t", "ghost", "csat_t"],
        "score": [11.0, 7.5, 9.0, 0.0, 3.0, 4.0],
    })
    out = validate_responses(df, SURVEYS_DF, D1)
    got = dict(zip(out["_gx_row"], out["reason"], strict=True))
    assert got == {
        0: "gx expect_column_values_to_be_between: score 11 outside 0-10 of survey nps_rel",
        1: "gx expect_column_values_to_be_in_set: score 7.5 is not an integer of NPS survey nps_rel",
        3: "gx expect_column_values_to_be_between: score 0 outside 1-5 of survey csat_t",
        4: f"gx expect_column_values_to_be_in_set: survey_id 'ghost' is not a known survey as of extract {D1}",
    }


def test_suite_changed_scale_is_a_failure_and_new_surveys_are_not():
    first = SURVEYS_DF.assign(first_extract_date=D1)
    cur = pd.DataFrame({
        "_gx_row": range(3), "survey_id": ["nps_rel", "csat_t", "ces_new"], "metric": ["nps", "csat", "ces"],
        "scale_min": [0, 1, 1], "scale_max": [10, 7, 7], "higher_is_better": [True, True, False],
    })
    out = validate_surveys(cur, first)
    assert list(out["_gx_row"]) == [1]
    assert out["reason"].iloc[0] == (
        "gx expect_column_pair_values_to_be_equal: scale_max of survey csat_t changed from 5 to 7 "
        f"(first declared in extract {D1}; the first declaration stays in force)"
    )


def test_responses_quarantined_with_gx_reason_through_ingestion(paths):
    land(paths, "survey", "surveys", D1, "s.csv", SURVEYS)
    run(paths, "surveys", D1)
    land(paths, "survey", "responses", D1, "r.csv", RESP_HEADER
         + "r1,,nps_rel,a,c,9,,2024-03-30T10:00:00Z\n"
         + "r2,,nps_rel,a,c,11,,2024-03-30T10:00:00Z\n"
         + "r3,,nps_rel,a,c,6.5,,2024-03-30T10:00:00Z\n"
         + "r4,,csat_t,a,c,5,,2024-03-30T10:00:00Z\n"
         + "r5,,csat_t,a,c,6,,2024-03-30T10:00:00Z\n"
         + "r6,,later_survey,a,c,3,,2024-03-30T10:00:00Z\n"
         + "r7,,csat_t,a,c,,,2024-03-30T10:00:00Z\n")
    r = run(paths, "responses", D1)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (7, 2, 5)
    assert r.expectation_failures == {"expect_column_values_to_be_between": 2, "expect_column_values_to_be_in_set": 2}
    assert [x["response_id"] for x in raw(paths, "survey", "responses", D1)] == ["r1", "r4"]
    q = {x["row_number"]: x["reason"] for x in quarantine(paths, "survey", "responses", D1)}
    assert q == {
        2: "gx expect_column_values_to_be_between: score 11 outside 0-10 of survey nps_rel",
        3: "gx expect_column_values_to_be_in_set: score 6.5 is not an integer of NPS survey nps_rel",
        5: "gx expect_column_values_to_be_between: score 6 outside 1-5 of survey csat_t",
        6: f"gx expect_column_values_to_be_in_set: survey_id 'later_survey' is not a known survey as of extract {D1}",
        7: "missing required value in column score",
    }
    assert revalidate_raw_responses(paths, D1).empty


def test_changed_scale_is_quarantined_and_the_first_declaration_stays_in_force(paths):
    land(paths, "survey", "surveys", D1, "s.csv", SURVEYS)
    run(paths, "surveys", D1)
    changed = SURVEYS.replace("csat_t,csat,How satisfied...,1,5", "csat_t,csat,How satisfied...,1,7") + (
        "later_survey,ces,Effort?,1,7,false,release,in_app,product\n"
    )
    land(paths, "survey", "surveys", D2, "s.csv", changed)
    r = run(paths, "surveys", D2)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 1)
    (q,) = quarantine(paths, "survey", "surveys", D2)
    assert q["reason"].startswith(
        "gx expect_column_pair_values_to_be_equal: scale_max of survey csat_t changed from 5 to 7"
    )
    first = first_declarations(paths, D2, inclusive=True).set_index("survey_id")
    assert first.loc["csat_t", "scale_max"] == 5 and first.loc["csat_t", "first_extract_date"] == D1
    assert first.loc["later_survey", "first_extract_date"] == D2

    # responses of D2 are judged by the first declaration (1-5) and know the new survey
    land(paths, "survey", "responses", D2, "r.jsonl",
         '{"response_id":"r1","survey_id":"csat_t","score":7,"responded_at":"2024-04-07T10:00:00Z",'
         '"invitation_id":null,"account_id":"a","contact_id":"c","comment":"ok"}\n'
         '{"response_id":"r2","survey_id":"later_survey","score":2,"responded_at":"2024-04-07T10:00:00Z",'
         '"invitation_id":null,"account_id":"a","contact_id":"c","comment":"ok"}\n')
    r = run(paths, "responses", D2)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    (q,) = quarantine(paths, "survey", "responses", D2)
    assert q["reason"] == "gx expect_column_values_to_be_between: score 7 outside 1-5 of survey csat_t"


def test_surveys_not_yet_declared_are_unknown(paths):
    land(paths, "survey", "surveys", D2, "s.csv", SURVEYS)
    run(paths, "surveys", D2)
    land(paths, "survey", "responses", D1, "r.csv", RESP_HEADER + "r1,,nps_rel,a,c,9,,2024-03-30T10:00:00Z\n")
    r = run(paths, "responses", D1)
    assert r.rows_quarantined == 1
    (q,) = quarantine(paths, "survey", "responses", D1)
    assert "is not a known survey as of extract 2024-04-01" in q["reason"]


def _ingest_dates_one_by_one(paths, entity, dates):
    ent = contract.entity("survey", entity)
    return [ingest_partition(paths, ent, d, validator=validator_for(ent, paths, d)) for d in dates]


def _ingest_dates_in_one_batch(paths, entity, dates):
    ent = contract.entity("survey", entity)
    con = connect()  # a caller's session, as the ingest asset passes one: left with no table
    results = ingest_partitions(paths, ent, dates, batch_validator_for(ent, paths), con=con)
    assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == []
    assert con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall() == []
    con.close()
    return results


@pytest.mark.parametrize("history", [False, True], ids=["all-dates-in-the-batch", "first-date-ingested-before"])
def test_one_batch_validation_over_many_dates_equals_date_by_date(tmp_path, history):
    """Ingestion validates all extract dates of a run in ONE great-expectations batch: raw,
    quarantine (reasons included), load log and the results must be what validating date by date
    gives: surveys known only from their first extract, a changed scale judged against the first
    declaration (also when the declaring date has duplicate rows), responses per known scale."""
    d1, d2, d3 = "2024-04-01", "2024-04-08", "2024-04-15"
    landing = tmp_path / "landing"
    one = make_paths(tmp_path / "one")
    one = type(one)(landing=landing, warehouse=one.warehouse, data=one.data)
    batch = type(one)(landing=landing, warehouse=tmp_path / "b" / "w.duckdb", data=tmp_path / "b")
    land(one, "survey", "surveys", d1, "s.csv", SURVEYS)
    land(one, "survey", "surveys", d2, "a.csv", SURVEYS.replace(",1,5,", ",1,7,")
         + "later_survey,ces,Effort?,1,7,false,release,in_app,product\n")
    land(one, "survey", "surveys", d2, "b.csv", SURVEY_HEADER + "later_survey,ces,Effort?,1,5,false,release,in_app,product\n")
    land(one, "survey", "surveys", d3, "s.csv", SURVEYS + "later_survey,ces,Effort?,2,7,false,release,in_app,product\n")
    responses = {
        d1: ["r1,,nps_rel,a,c,9,,2024-03-30T10:00:00Z", "r2,,later_survey,a,c,3,,2024-03-30T10:00:00Z",
             "r3,,csat_t,a,c,6,,2024-03-30T10:00:00Z", "r4,,nps_rel,a,c,7.5,,2024-03-30T10:00:00Z"],
        d2: ["r5,,later_survey,a,c,6,,2024-04-07T10:00:00Z", "r6,,csat_t,a,c,7,,2024-04-07T10:00:00Z",
             "r7,,ghost,a,c,1,,2024-04-07T10:00:00Z", "r8,,nps_rel,a,c,11,,2024-04-07T10:00:00Z"],
        d3: ["r9,,later_survey,a,c,5,,2024-04-14T10:00:00Z", "r10,,nps_rel,a,c,10,,2024-04-14T10:00:00Z"],
    }
    for d, lines in responses.items():
        land(one, "survey", "responses", d, "r.csv", RESP_HEADER + "\n".join(lines) + "\n")
    dates = [d1, d2, d3]

    expected = {e: _ingest_dates_one_by_one(one, e, dates) for e in ("surveys", "responses")}
    got = {}
    for e in ("surveys", "responses"):
        if history:
            _ingest_dates_one_by_one(batch, e, [d1])
        got[e] = _ingest_dates_in_one_batch(batch, e, [d2, d3] if history else dates)

    assert tree_digest(one.raw, one.audit) == tree_digest(batch.raw, batch.audit)
    for e in got:
        exp = expected[e][-len(got[e]):]
        assert [(r.extract_date, r.files, r.expectation_failures) for r in got[e]] == [
            (r.extract_date, r.files, r.expectation_failures) for r in exp]
        assert all(r.validated and not r.loaded_failing_validation for r in got[e])
    # the cases above did occur
    reasons = [q["reason"] for d in dates for q in quarantine(batch, "survey", "surveys", d)]
    assert any("scale_max of survey csat_t changed from 5 to 7" in r for r in reasons)
    assert any("scale_min of survey later_survey changed from 1 to 2" in r for r in reasons)
    assert any(r.startswith("duplicate key survey_id=later_survey") for r in reasons)
    reasons = [q["reason"] for d in dates for q in quarantine(batch, "survey", "responses", d)]
    assert f"gx expect_column_values_to_be_in_set: survey_id 'later_survey' is not a known survey as of extract {d1}" in reasons
    assert "gx expect_column_values_to_be_between: score 6 outside 1-5 of survey later_survey" in reasons


ACSI_SURVEYS = (
    SURVEY_HEADER.rstrip("\n") + ",index_item\n"
    + "nps_rel,nps,How likely...,0,10,true,relationship,email,customer_success,\n"
    + "acsi_sat,acsi,Overall satisfaction?,1,10,true,relationship,email,customer_success,Satisfaction\n"
    + "acsi_exp,acsi,Expectations met?,1,10,true,relationship,email,customer_success,\n"
    + "acsi_ideal,acsi,Close to ideal?,0,10,true,relationship,email,customer_success,ideal\n"
    + "acsi_odd,acsi,Loyal?,1,10,true,relationship,email,customer_success,loyalty\n"
)


def test_acsi_surveys_need_an_index_item_and_the_1_to_10_scale(paths):
    """An acsi survey without its index_item or off 1-10 is a scale-consistency failure (GX, named);
    an index_item outside the item list is a contract enumeration failure; a survey file without
    the optional index_item column loads (the other tests' files have none)."""
    land(paths, "survey", "surveys", D1, "s.csv", ACSI_SURVEYS)
    r = run(paths, "surveys", D1)
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (5, 2, 3)
    loaded = {x["survey_id"]: x["index_item"] for x in raw(paths, "survey", "surveys", D1)}
    assert loaded == {"nps_rel": None, "acsi_sat": "satisfaction"}  # enumerations are lower-cased
    q = {x["row_number"]: x["reason"] for x in quarantine(paths, "survey", "surveys", D1)}
    assert q == {
        3: "gx expect_column_values_to_not_be_null: acsi survey acsi_exp has no index_item "
           "(satisfaction, expectations, ideal)",
        4: "gx expect_column_values_to_be_in_set: acsi survey acsi_ideal is declared on 0-10, not 1-10",
        5: "value not allowed in column index_item: 'loyalty' (allowed: satisfaction, expectations, ideal)",
    }

    # answers to an acsi item: whole points on 1-10
    land(paths, "survey", "responses", D1, "r.csv", RESP_HEADER
         + "r1,i1,acsi_sat,a,c,7,,2024-03-30T10:00:00Z\n"
         + "r2,i1,acsi_sat,a,c,7.5,,2024-03-30T10:00:00Z\n"
         + "r3,i1,acsi_sat,a,c,0,,2024-03-30T10:00:00Z\n")
    r = run(paths, "responses", D1)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 2)
    q = {x["row_number"]: x["reason"] for x in quarantine(paths, "survey", "responses", D1)}
    assert q == {
        2: "gx expect_column_values_to_be_in_set: score 7.5 is not an integer of ACSI survey acsi_sat",
        3: "gx expect_column_values_to_be_between: score 0 outside 1-10 of survey acsi_sat",
    }
