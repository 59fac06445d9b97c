"""The generic test not_null_columns (dbt_project/tests/generic/not_null_columns.sql), compiled by
dbt against a scratch warehouse and run: one row per listed column that holds nulls, with how
many; none when the columns are filled, whatever the unlisted columns hold."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.dbt_inline import compile_inline


def _call(columns: list[str]) -> str:
    model = "api.Relation.create(database='warehouse', schema='staging', identifier='contacts')"
    return "{{ test_not_null_columns(model=" + model + f", columns={columns!r}) " + "}}"


def test_each_column_with_nulls_is_reported_with_its_count(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema staging")
    con.execute("""
        create table staging.contacts as select * from (values
            ('c1', 'a1', 'x@example.com', null),
            ('c2', null, null, 'note'),
            ('c3', null, 'z@example.com', null)
        ) as t(contact_id, account_id, email, comment)""")
    con.close()

    calls = [_call(["contact_id", "account_id", "email"]), _call(["contact_id"]), _call(["email", "contact_id"])]
    queries = compile_inline(tmp_path, "\n-- next\n".join(calls)).split("-- next")
    assert len(queries) == 3

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    found = [sorted(con.execute(q).fetchall()) for q in queries]
    assert found[0] == [("account_id", 2), ("email", 1)]
    assert found[1] == []  # comment is null twice, but it is not listed
    assert found[2] == [("email", 1)]
