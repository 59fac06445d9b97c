"""The serving copy: published atomically, never half-built, readers of the old copy undisturbed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.lib.serve.publish import PublishError, connect_serving, publish, serving_file

ROOT = Path(__file__).resolve().parents[1]


def make_warehouse(path: Path, version: int, accounts: int = 50) -> Path:
    """A small warehouse with the contract's mart columns; `version` changes every value."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts; create schema if not exists audit; create schema if not exists staging")
        con.execute(
            f"""
            create or replace table marts.metric_values as
            select 'nps' as metric, 'rolling' as grain, date '2026-10-31' - cast(i as integer) as period_start,
                   90 as window_days, 'all' as segment_type, 'all' as segment_value,
                   cast({version} * 10 + i % 7 as double) as value, cast(null as double) as numerator,
                   cast(null as double) as denominator, cast(100 + i as bigint) as sample_size,
                   cast({version} * 10 - 5 as double) as ci_low, cast({version} * 10 + 15 as double) as ci_high,
                   false as is_low_sample
            from range({100 * version}) as t(i)
            """
        )
        con.execute(
            f"""
            create or replace table marts.account_health as
            select 'acc_' || i as account_id, date '2026-10-31' as as_of_date, cast(40 + i % 50 as double) as health_score,
                   case when 40 + i % 50 >= 70 then 'green' when 40 + i % 50 >= 40 then 'yellow' else 'red' end as health_band,
                   cast(null as double) as score_30d_ago, cast(null as double) as change_30d_pct,
                   i % {version + 2} = 0 as is_at_risk, date '2027-01-01' as renewal_date, 62 as days_to_renewal,
                   'own_1' as csm_owner_id, 'smb' as tier
            from range({accounts}) as t(i)
            """
        )
        con.execute(
            f"""
            create or replace table marts.alerts as
            select 'al_' || i as alert_id, 'nps_detractor' as alert_type, 'acc_' || i as account_id,
                   'survey_response' as signal_type, 'r_' || i as signal_id, timestamp '2026-10-30 10:00:00' as triggered_at,
                   'customer_success' as owner_team, 'own_1' as owner_id, timestamp '2026-11-01 10:00:00' as due_at,
                   cast(null as timestamp) as followed_up_at, 'open' as status, cast(null as boolean) as within_sla
            from range({version * 3}) as t(i)
            """
        )
        # a view in marts (dbt may materialize some marts as views): published as a table
        con.execute("create or replace view marts.v_at_risk as select account_id from marts.account_health where is_at_risk")
        con.execute(
            f"create or replace table audit.load_log as select 'crm' as source, 'accounts' as entity, "
            f"date '2026-10-31' as extract_date, 'f.csv' as file, {version}::bigint as rows_in, {version}::bigint as rows_loaded, "
            "0::bigint as rows_quarantined, 'loaded' as status, '' as error"
        )
        con.execute("create or replace table staging.not_published as select 1 as x")
    finally:
        con.close()
    return path


def read_in_subprocess(serving: Path, sql: str) -> list:
    """A new reader in another process, as a BI tool would be."""
    code = (
        "import json, sys; from orchestration.lib.serve.publish import connect_serving; "
        f"con = connect_serving({str(serving)!r}); print(json.dumps(con.execute({sql!r}).fetchall(), default=str))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def leftovers(serving: Path) -> list[Path]:
    return [p for p in serving.rglob("*") if ".tmp-" in p.name or p.name.endswith(".wal")]


def test_publish_copies_marts_and_audit_only(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    result = publish(wh, tmp_path / "serving")
    names = {t.qualified for t in result.tables}
    assert names == {"marts.metric_values", "marts.account_health", "marts.alerts", "marts.v_at_risk", "audit.load_log"}
    assert result.rows_of("marts.metric_values") == 100
    assert result.rows == sum(t.rows for t in result.tables)
    assert result.seconds > 0
    con = connect_serving(tmp_path / "serving")
    try:
        assert con.execute("select count(*) from marts.account_health").fetchone() == (50,)
        kinds = dict(con.execute(
            "select table_name, table_type from information_schema.tables where table_schema = 'marts'"
        ).fetchall())
        assert kinds["v_at_risk"] == "BASE TABLE"  # views are materialized: the copy stands alone
        assert con.execute("select count(*) from publish_log").fetchone() == (5,)
        assert not con.execute(
            "select count(*) from information_schema.tables where table_schema = 'staging'"
        ).fetchone()[0]
    finally:
        con.close()
    # Parquet: one file per mart, same rows, no audit
    parquet = sorted(p.name for p in (tmp_path / "serving" / "parquet").glob("*.parquet"))
    assert parquet == ["account_health.parquet", "alerts.parquet", "metric_values.parquet", "v_at_risk.parquet"]
    n = duckdb.execute(f"select count(*) from '{tmp_path / 'serving' / 'parquet' / 'metric_values.parquet'}'").fetchone()
    assert n == (100,)
    assert leftovers(tmp_path / "serving") == []


def test_open_reader_keeps_the_old_copy_while_a_new_one_is_published(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    old_inode = serving_file(serving).stat().st_ino

    reader = connect_serving(serving)  # a BI session, left open across the next publish
    try:
        before = reader.execute("select count(*), sum(value) from marts.metric_values").fetchone()
        assert before[0] == 100

        # the pipeline runs again: the warehouse changes (dbt is its only writer) and is published
        make_warehouse(wh, version=2)
        result = publish(wh, serving)
        assert result.rows_of("marts.metric_values") == 200
        assert serving_file(serving).stat().st_ino != old_inode  # swapped, not rewritten in place

        # the open session still reads the old copy, consistently, table after table
        assert reader.execute("select count(*), sum(value) from marts.metric_values").fetchone() == before
        assert reader.execute("select count(*) from marts.alerts").fetchone() == (3,)
        assert reader.execute("select max(rows_in) from audit.load_log").fetchone() == (1,)

        # a new reader (another process, and another session in this one) sees the new copy, whole
        assert read_in_subprocess(serving, "select count(*) from marts.metric_values") == [[200]]
        assert read_in_subprocess(serving, "select count(*) from marts.alerts") == [[6]]
        fresh = connect_serving(serving)
        try:
            assert fresh.execute("select max(rows_in) from audit.load_log").fetchone() == (2,)
        finally:
            fresh.close()
    finally:
        reader.close()
    assert leftovers(serving) == []
    assert duckdb.execute(f"select count(*) from '{serving / 'parquet' / 'metric_values.parquet'}'").fetchone() == (200,)


def test_publish_does_not_wait_for_readers(tmp_path):
    """Readers hold the serving file open (even in another process); publishing still completes."""
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    code = (
        "import sys, time; from orchestration.lib.serve.publish import connect_serving; "
        f"con = connect_serving({str(serving)!r}); con.execute('select count(*) from marts.metric_values').fetchone(); "
        "print('open', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        make_warehouse(wh, version=3)
        result = publish(wh, serving, lock_attempts=1)
        assert result.rows_of("marts.metric_values") == 300
        assert result.seconds < 30
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_failed_publish_keeps_the_previous_copy(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    with pytest.raises(PublishError, match="no warehouse"):
        publish(tmp_path / "absent.duckdb", serving)
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(PublishError):
        publish(broken, serving)
    con = connect_serving(serving)
    try:
        assert con.execute("select count(*) from marts.metric_values").fetchone() == (100,)
    finally:
        con.close()
    assert leftovers(serving) == []


def test_dropped_mart_leaves_no_stale_parquet(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    con = duckdb.connect(str(wh))
    con.execute("drop view marts.v_at_risk")
    con.close()
    publish(wh, serving)
    assert not (serving / "parquet" / "v_at_risk.parquet").exists()


def test_serve_assets_materialize(tmp_path, monkeypatch):
    """The Dagster assets, alone (the marts they depend on are not part of this run)."""
    from orchestration.defs.resources import Warehouse
    from orchestration.defs.serve import DASHBOARD, MARTS_DUCKDB, build_marts_duckdb, dashboard

    marts = [dg.AssetKey(["marts", name]) for name in ("metric_values", "account_health", "alerts")]
    serve_assets = [build_marts_duckdb(marts), dashboard]

    data = tmp_path / "data"
    data.mkdir()
    make_warehouse(data / "warehouse.duckdb", version=2)
    monkeypatch.setenv("CHW_WAREHOUSE", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("CHW_DATA_DIR", str(data))
    defs = dg.Definitions(assets=serve_assets, resources={"warehouse": Warehouse()})
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    node = graph.get(MARTS_DUCKDB)
    assert node.group_name == "serve" and node.owners and node.kinds == {"duckdb", "parquet"}
    assert dg.AssetKey(["marts", "metric_values"]) in node.parent_keys
    assert graph.get(DASHBOARD).kinds == {"html"} and MARTS_DUCKDB in graph.get(DASHBOARD).parent_keys
    assert "atomically" in (node.description or "")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(serve_assets, instance=instance, selection=[MARTS_DUCKDB, DASHBOARD],
                            resources={"warehouse": Warehouse()})  # paths from the environment above
    assert result.success
    def metadata(key):
        (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
        return event.materialization.metadata

    publish_md = metadata(MARTS_DUCKDB)
    assert publish_md["rows"].value > 0 and publish_md["tables"].value == 5
    assert isinstance(publish_md["seconds"].value, float)
    dash_md = metadata(DASHBOARD)
    assert Path(dash_md["dashboard_path"].value) == data / "serving" / "dashboard" / "index.html"
    assert (data / "serving" / "dashboard" / "index.html").exists()
    assert isinstance(dash_md["latest_nps"].value, float)
    assert dash_md["at_risk_accounts"].value == 13  # every 4th of 50 accounts (version 2)
    assert dash_md["views_failed"].value == 0


def test_busy_writer_is_a_clear_error_and_the_old_copy_stays(tmp_path):
    """While another process writes the warehouse, publishing waits (bounded), then fails clearly."""
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    code = (
        "import duckdb, time; "
        f"con = duckdb.connect({str(wh)!r}); con.execute('create or replace table marts.busy as select 1 as x'); "
        "print('writing', flush=True); time.sleep(60)"
    )
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        with pytest.raises(PublishError, match="read-only"):
            publish(wh, serving, lock_attempts=2, lock_wait_seconds=0.1)
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert read_in_subprocess(serving, "select count(*) from marts.metric_values") == [[100]]
    assert leftovers(serving) == []


PERSONAL = ("jürgen.müller@beispiel.de", "020 7946 0958", "Jürgen Müller")


def test_serving_copy_holds_no_personal_data(tmp_path):
    """A quarantined survey comment and contact (record as it arrived, with e-mail, phone and
    name) stay in the warehouse's audit schema; nothing in the serving copy or its Parquet
    files holds them, while BI still sees which record was rejected and why."""
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            "create table audit.quarantine (source varchar, entity varchar, extract_date date, file varchar, "
            "row_number bigint, reason varchar, record varchar)"
        )
        con.executemany("insert into audit.quarantine values (?, ?, date '2026-10-31', ?, ?, ?, ?)", [
            ("survey", "responses", "survey/responses/2026-10-31/r.csv", 3, "out of scale: score '99'",
             json.dumps({"response_id": "r3", "score": "99",
                         "comment": f"call {PERSONAL[1]} or mail {PERSONAL[0]}"}, ensure_ascii=False)),
            ("crm", "contacts", "crm/contacts/2026-10-31/c.csv", 7, "missing required value: account_id",
             json.dumps({"contact_id": "c7", "email": PERSONAL[0], "full_name": PERSONAL[2]}, ensure_ascii=False)),
        ])
    finally:
        con.close()

    result = publish(wh, tmp_path / "serving")
    assert result.rows_of("audit.quarantine") == 2
    serving = connect_serving(tmp_path / "serving")
    try:
        assert serving.execute(
            "select entity, row_number, reason from audit.quarantine order by 1"
        ).fetchall() == [("contacts", 7, "missing required value: account_id"),
                         ("responses", 3, "out of scale: score '99'")]
        # every text column of every published table, searched for the personal data
        found = []
        for schema, table, column in serving.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = 'serving' and data_type = 'VARCHAR'"
        ).fetchall():
            for value in PERSONAL:
                (n,) = serving.execute(
                    f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)', [value]
                ).fetchone()
                if n:
                    found.append(f"{schema}.{table}.{column}: {value}")
        assert found == []
    finally:
        serving.close()
    for parquet in result.parquet_files:
        text = duckdb.execute(f"select string_agg(cast(t as varchar), ' ') from '{parquet}' as t").fetchone()[0] or ""
        assert not any(value in text for value in PERSONAL), parquet
    # the full record stays where it came from
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("select count(*) from audit.quarantine where contains(record, ?)",
                           [PERSONAL[0]]).fetchone() == (2,)
    finally:
        con.close()


POOLED_READER = """
import json, sys, duckdb
from orchestration.lib.serve.publish import connect_serving
path = sys.argv[1]
held = duckdb.connect(path, read_only=True)  # a pooled connection (duckdb-engine, a BI server)
out = {"held_before": held.execute("select count(*) from marts.metric_values").fetchone()[0]}
print(json.dumps(out), flush=True)
sys.stdin.readline()  # the pipeline publishes a new copy meanwhile
# another plain connect while one is open: DuckDB hands out the database this process has open
again = duckdb.connect(path, read_only=True)
out["plain_connect_while_held"] = again.execute("select count(*) from marts.metric_values").fetchone()[0]
fresh = connect_serving(path)  # what the README tells a long-lived process to use
out["connect_serving_while_held"] = fresh.execute("select count(*) from marts.metric_values").fetchone()[0]
fresh.close()
again.close()
held.close()  # every plain connection closed: the next connect opens the file anew
reopened = duckdb.connect(path, read_only=True)
out["plain_connect_after_closing_all"] = reopened.execute("select count(*) from marts.metric_values").fetchone()[0]
print(json.dumps(out), flush=True)
"""


def test_a_process_holding_an_old_connection_reads_the_new_copy_as_documented(tmp_path):
    """DuckDB caches the databases a process has open: a plain `duckdb.connect(path)` in a process
    that still holds a connection to the serving file returns the old copy after a swap. A fresh
    `connect_serving` in that same process sees the new copy (it attaches the file anew), and so
    does a plain connect once every connection was closed. The README's BI section says so."""
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=1)
    serving = tmp_path / "serving"
    publish(wh, serving)
    proc = subprocess.Popen(
        [sys.executable, "-c", POOLED_READER, str(serving_file(serving))], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert json.loads(proc.stdout.readline()) == {"held_before": 100}
        make_warehouse(wh, version=2)
        publish(wh, serving)
        out, err = proc.communicate("go\n", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == {
        "held_before": 100,
        "plain_connect_while_held": 100,  # DuckDB's per-process cache: the old copy
        "connect_serving_while_held": 200,
        "plain_connect_after_closing_all": 200,
    }
    readme = (ROOT / "README.md").read_text()
    bi = readme[readme.index("## Serving BI tools"):]
    bi = bi[: bi.index("\n## ", 1)]
    assert "connect_serving" in bi and "pool" in bi.lower() and "reconnect" in bi.lower(), \
        "README's BI section does not tell a long-lived reader how to see the new copy"
