"""The generic test table_checks (dbt_project/tests/generic/table_checks.sql), compiled by dbt
against a scratch warehouse and run: one row per broken rule (the rule, its column, key or
expression, how many rows break it), none for a rule that holds, and the same semantics as the
one-rule tests it replaced (dbt's unique, accepted_values and relationships; nulls pass every
rule but not_null and a combination's uniqueness)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.dbt_inline import compile_inline

TICKETS = "api.Relation.create(database='warehouse', schema='staging', identifier='tickets')"
ACCOUNTS = "api.Relation.create(database='warehouse', schema='staging', identifier='accounts')"
EMPTY = "api.Relation.create(database='warehouse', schema='staging', identifier='nothing')"


def _call(model: str = TICKETS, **rules) -> str:
    args = "".join(f", {name}={value}" for name, value in rules.items())
    return "{{ test_table_checks(model=" + model + args + ") }}"


def _scratch_warehouse(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema staging")
    con.execute("create table staging.accounts as select * from (values ('a1'), ('a2')) as t(account_id)")
    con.execute("create table staging.nothing (x integer)")
    con.execute("""
        create table staging.tickets as select * from (values
            ('t1', 'a1', 'open',   3,    1, 2),
            ('t2', 'a1', 'closed', 11,   1, 2),
            ('t2', 'a9', 'lost',   null, 1, 1),
            ('t4', null, null,     -1,   2, 3),
            ('t5', null, 'it''s',  5,    2, 3)
        ) as t(ticket_id, account_id, status, score, day, hour)""")
    con.close()


def test_each_broken_rule_is_one_row_with_its_count(tmp_path: Path):
    _scratch_warehouse(tmp_path)
    calls = {
        "not_null": _call(not_null="['ticket_id', 'account_id', 'status']"),
        # t2 twice; nulls of account_id ignored by a single column, counted by a combination
        "unique": _call(unique="['ticket_id', 'account_id', ['account_id', 'day'], ['day', 'hour']]"),
        "accepted_values": _call(accepted_values="{'status': ['open', 'closed', \"it's\"]}"),
        "ranges": _call(ranges="{'score': {'min_value': 0, 'max_value': 10}, 'day': {'min_value': 1, 'max_value': 2, 'inclusive': false}}"),
        "expressions": _call(expressions="['hour > day', 'score < 10 or status = \\'closed\\'', 'hour > 2']"),
        "relationships": _call(relationships="{'account_id': {'to': " + ACCOUNTS + ", 'field': 'account_id'}}"),
        "not_empty": _call(not_empty="true"),
        "empty": _call(model=EMPTY, not_empty="true", not_null="['x']", unique="['x']"),
        "nothing": _call(),
    }
    compiled = compile_inline(tmp_path, "\n-- next\n".join(calls.values())).split("-- next")
    assert len(compiled) == len(calls)

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    found = {name: sorted(con.execute(sql).fetchall()) for name, sql in zip(calls, compiled, strict=True)}
    assert found["not_null"] == [("not_null", "account_id", 2), ("not_null", "status", 1)]
    # t2 repeats; account a1 repeats; (null, 2) repeats in a combination; (1, 2) and (2, 3) repeat
    assert found["unique"] == [
        ("unique", "account_id", 1), ("unique", "account_id, day", 2), ("unique", "day, hour", 2), ("unique", "ticket_id", 1),
    ]
    assert found["accepted_values"] == [("accepted_values", "status", 1)]  # 'lost'; null passes
    # -1 and 11 are out; null passes; day 1 and 2 are the excluded bounds
    assert found["ranges"] == [("range", "day", 5), ("range", "score", 2)]
    assert found["expressions"] == [("expression", "hour > 2", 3), ("expression", "hour > day", 1)]  # (1, 1); a null passes
    assert found["relationships"] == [("relationships", "account_id -> accounts.account_id", 1)]  # a9
    assert found["not_empty"] == []
    assert found["empty"] == [("not_empty", "", 0)]
    assert found["nothing"] == []


def test_a_failed_run_names_the_broken_rules(tmp_path: Path):
    """The CLI's "What failed" line for a failed table_checks test: dbt's message says how many
    rows the test returned; the pipeline adds which rules, from the test's compiled SQL (the newest
    in the data dir's dbt target) run on the warehouse."""
    from orchestration.lib.core.paths import Paths
    from orchestration.run.failures import with_broken_rules

    _scratch_warehouse(tmp_path)
    sql = compile_inline(tmp_path, _call(not_null="['account_id']", unique="['ticket_id']", not_empty="true"))
    paths = Paths(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse.duckdb", data=tmp_path)
    yml = "models/staging/helpdesk/_helpdesk__models.yml"
    compiled = paths.dbt_target / "dbt_warehouse-1a2b3c-4d5e6f" / "compiled" / "customer_health_warehouse" / yml
    compiled.mkdir(parents=True)
    (compiled / "table_checks_stg_helpdesk__tickets.sql").write_text(sql)

    message = (f"Failure in test table_checks_stg_helpdesk__tickets ({yml}): "
               "Got 2 results, configured to fail if != 0")
    assert with_broken_rules(message, paths) == f"{message} -> not_null account_id: 2 rows; unique ticket_id: 1 row"
    # another test, or no compiled SQL for it: the message as dbt wrote it
    other = message.replace("table_checks_stg_helpdesk__tickets", "table_checks_stg_crm__accounts")
    assert with_broken_rules(other, paths) == other
    assert with_broken_rules("Failure in test unique_in_increment_x (models/a.yml): Got 1 result", paths).endswith("1 result")


def test_changed_column_scopes_row_rules_to_what_the_last_build_wrote(tmp_path: Path):
    """changed_column: the row rules and relationships read the rows the last build wrote (by the
    cutoff its pre-hook recorded); uniqueness and not_empty still read the whole table; after a
    full build (cutoff null) or with no cutoff recorded, every row is checked."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema staging; create schema intermediate")
    con.execute("create table staging.accounts as select * from (values ('a1'), ('a2')) as t(account_id)")
    # e1/e2 are older than the cutoff (2026-10-24): a null name, an orphan account, e1 twice;
    # the last build wrote e3 (null name) and e4 (orphan a8)
    con.execute("""
        create table staging.events as select * from (values
            ('e1', 'a1', null,    date '2026-10-01'),
            ('e1', 'a1', 'login', date '2026-10-01'),
            ('e2', 'a9', 'login', date '2026-10-02'),
            ('e3', 'a2', null,    date '2026-10-30'),
            ('e4', 'a8', 'login', date '2026-10-30')
        ) as t(event_id, account_id, event_name, extract_date)""")
    con.execute("create table intermediate.events__increment_cutoff as select date '2026-10-24' as cutoff")
    # nothing written after the cutoff: the table is still not empty
    con.execute("create table staging.quiet as select * from staging.events where extract_date < '2026-10-24'")
    con.execute("create table intermediate.quiet__increment_cutoff as select date '2026-10-24' as cutoff")
    con.execute("create table staging.events_full as select * from staging.events")
    con.execute("create table intermediate.events_full__increment_cutoff as select cast(null as date) as cutoff")
    con.execute("create table staging.events_unrecorded as select * from staging.events")
    con.close()

    def relation(name: str) -> str:
        return f"api.Relation.create(database='warehouse', schema='staging', identifier='{name}')"

    accounts = "{'account_id': {'to': " + relation("accounts") + ", 'field': 'account_id'}}"
    rules = dict(not_null="['event_name']", unique="['event_id']", relationships=accounts, not_empty="true",
                 changed_column="'extract_date'")
    calls = [_call(model=relation(name), **rules) for name in ("events", "quiet", "events_full", "events_unrecorded")]
    compiled = compile_inline(tmp_path, "\n-- next\n".join(calls)).split("-- next")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    found = [sorted(con.execute(sql).fetchall()) for sql in compiled]
    every_row = [("not_null", "event_name", 2), ("relationships", "account_id -> accounts.account_id", 2),
                 ("unique", "event_id", 1)]
    assert found[0] == [("not_null", "event_name", 1), ("relationships", "account_id -> accounts.account_id", 1),
                        ("unique", "event_id", 1)]
    assert found[1] == [("unique", "event_id", 1)]
    assert found[2] == every_row
    assert found[3] == every_row
