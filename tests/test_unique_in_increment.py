"""The generic test unique_in_increment (dbt_project/tests/generic/unique_in_increment.sql),
compiled by dbt against a scratch warehouse and run: it reports the duplicates among what the
last build wrote (by its recorded cutoff), and every duplicate when no cutoff was recorded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from tests.dbt_inline import compile_inline


def _relation(schema: str, name: str) -> str:
    return f"api.Relation.create(database='warehouse', schema='{schema}', identifier='{name}')"


def test_duplicates_in_the_last_increment_are_reported_older_ones_only_by_a_full_check(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema staging; create schema intermediate")
    # keyed rows (scope none): the last build (cutoff 2026-10-24) wrote b twice, c once; the a
    # pair is older than the cutoff, so that build did not write it
    con.execute("""
        create table staging.events as select * from (values
            ('a', date '2026-10-01'), ('a', date '2026-10-02'),
            ('b', date '2026-10-30'), ('b', date '2026-10-30'), ('c', date '2026-10-30')
        ) as t(event_id, extract_date)""")
    con.execute("create table intermediate.events__increment_cutoff as select date '2026-10-24' as cutoff")
    # rows replaced by day (scope activity_date): the last build rewrote 10-20 (one of its rows is
    # new), where an old pair is duplicated; 10-05 was not rewritten
    con.execute("""
        create table intermediate.user_days as select * from (values
            ('x', 'u', date '2026-10-05', date '2026-10-05'), ('x', 'u', date '2026-10-05', date '2026-10-05'),
            ('x', 'u', date '2026-10-20', date '2026-10-20'), ('x', 'u', date '2026-10-20', date '2026-10-20'),
            ('x', 'v', date '2026-10-20', date '2026-10-30')
        ) as t(account_id, user_id, activity_date, last_extract_date)""")
    con.execute("create table intermediate.user_days__increment_cutoff as select date '2026-10-24' as cutoff")
    # the same keyed rows after a full build (cutoff null) and with no cutoff recorded at all
    con.execute("create table staging.events_full as select * from staging.events")
    con.execute("create table intermediate.events_full__increment_cutoff as select cast(null as date) as cutoff")
    con.execute("create table staging.events_unrecorded as select * from staging.events")
    con.close()

    calls = [
        f"test_unique_in_increment(model={_relation('staging', 'events')}, combination_of_columns=['event_id'], "
        "changed_column='extract_date')",
        f"test_unique_in_increment(model={_relation('intermediate', 'user_days')}, "
        "combination_of_columns=['account_id', 'user_id', 'activity_date'], changed_column='last_extract_date', "
        "scope_column='activity_date')",
        f"test_unique_in_increment(model={_relation('staging', 'events_full')}, combination_of_columns=['event_id'], "
        "changed_column='extract_date')",
        f"test_unique_in_increment(model={_relation('staging', 'events_unrecorded')}, "
        "combination_of_columns=['event_id'], changed_column='extract_date')",
    ]
    compiled = compile_inline(tmp_path, "\n-- next\n".join("{{ " + call + " }}" for call in calls))
    queries = compiled.split("-- next")
    assert len(queries) == 4, compiled

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    found = [sorted(con.execute(q).fetchall()) for q in queries]
    assert found[0] == [("b", 2)]
    assert found[1] == [("x", "u", date(2026, 10, 20), 2)]
    assert found[2] == [("a", 2), ("b", 2)]
    assert found[3] == [("a", 2), ("b", 2)]
