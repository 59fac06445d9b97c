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
    from orchestration.lib.paths import Paths
    from orchestration.pipeline import with_broken_rules

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
