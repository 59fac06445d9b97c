"""The demo extract generator: determinism, contract layout, located defects, a churn signal."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.lib.core import contract
from orchestration.lib.demo import DEFECT_KINDS, QUARANTINED_KINDS, generate, main
from orchestration.lib.demo.writer import INFO_LIST_CAP

END = dt.date(2026, 10, 31)
TS_OF = {("survey", "responses"): "responded_at", ("helpdesk", "tickets"): "created_at",
         ("crm", "activities"): "occurred_at", ("product", "events"): "occurred_at",
         ("reviews", "reviews"): "reviewed_at"}
PATH_RE = re.compile(r"^(\w+)/(\w+)/(\d{4}-\d{2}-\d{2})/[\w.-]+\.(csv|jsonl|parquet)$")


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing_demo")
    return out, generate(out, preset="demo", seed=42, end_date=END, progress=None)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _header(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh))
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            return list(json.loads(fh.readline()))
    return pq.read_schema(path).names


def _row(con, path: Path, n: int) -> dict:
    """Record n (1-based) of a landing file, read back with DuckDB, every value as text."""
    cols = _header(path)
    if path.suffix == ".parquet":
        rel = con.execute(f"select * exclude (file_row_number) from read_parquet('{path}', file_row_number=true) "
                          f"where file_row_number = {n - 1}")
    elif path.suffix == ".csv":
        rel = con.execute(f"select * from read_csv('{path}', header=true, all_varchar=true, parallel=false) "
                          f"limit 1 offset {n - 1}")
    else:
        spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
        rel = con.execute(f"select * from read_json('{path}', format='newline_delimited', columns={spec}) "
                          f"limit 1 offset {n - 1}")
    names = [d[0] for d in rel.description]
    return dict(zip(names, rel.fetchone(), strict=True))


def _utc(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    t = dt.datetime.fromisoformat(value)
    return t if t.tzinfo is None else t.astimezone(dt.UTC).replace(tzinfo=None)


def _parses(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
        return True
    except ValueError:
        return False


# -- determinism -------------------------------------------------------------------------------
def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(root)}


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate(tmp_path / "a", preset="tiny", seed=7, end_date=END, progress=None)
    b = generate(tmp_path / "b", preset="tiny", seed=7, end_date=END, progress=None)
    c = generate(tmp_path / "c", preset="tiny", seed=8, end_date=END, progress=None)
    da, db, dc = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert da == db and len(da) == a.files_written
    assert a.rows_by_entity == b.rows_by_entity and a.defects == b.defects
    assert da != dc and c.files_written > 0


# -- layout ------------------------------------------------------------------------------------
def test_layout_matches_contract(demo):
    out, s = demo
    start = s.extract_dates[0]
    assert s.extract_dates == [start + dt.timedelta(days=i) for i in range(len(s.extract_dates))]
    assert s.extract_dates[-1] == END and len(s.extract_dates) == 365
    missing = {d["file"] for d in s.defects["missing_required_column"]}
    seen_dates: dict[tuple[str, str], set[str]] = defaultdict(set)
    files = _files(out)
    assert len(files) == s.files_written
    for p in files:
        rel = p.relative_to(out).as_posix()
        m = PATH_RE.match(rel)
        assert m, rel
        src, ent, day, _ = m.groups()
        e = contract.entity(src, ent)
        seen_dates[(src, ent)].add(day)
        header = _header(p)
        lacking = [c for c in e.column_names if c not in header]
        if rel in missing:
            assert len(lacking) == 1, rel
        else:
            assert not lacking, f"{rel} lacks {lacking}"
    all_days = {d.isoformat() for d in s.extract_dates}
    snap_days = {d.isoformat() for d in s.extract_dates if d == start or d.weekday() == 0}
    for e in contract.ENTITIES:
        days = seen_dates[(e.source, e.name)]
        assert days, f"no files for {e.asset_name}"
        if e.kind == contract.SNAPSHOT:
            assert days == snap_days, e.asset_name
        elif e.name not in ("reviews", "tickets", "responses"):  # CSV/Parquet deltas: a file every day
            assert days == all_days, e.asset_name
    assert all(s.rows_by_entity[e.asset_name] > 0 for e in contract.ENTITIES)
    assert 800_000 <= s.rows_by_entity["product__events"] <= 2_000_000


def test_files_read_back_with_duckdb(demo, con):
    out, s = demo
    # row counts as written, for one entity per format
    n_csv = con.execute(f"select count(*) from read_csv('{out}/helpdesk/ticket_comments/*/*.csv', header=true, "
                        "all_varchar=true, union_by_name=true)").fetchone()[0]
    n_json = con.execute(f"select count(*) from read_json('{out}/helpdesk/tickets/*/*.jsonl', "
                         "format='newline_delimited', columns={'ticket_id': 'VARCHAR'})").fetchone()[0]
    n_pq = con.execute(f"select count(*) from read_parquet('{out}/product/events/*/*.parquet')").fetchone()[0]
    assert (n_csv, n_json, n_pq) == (s.rows_by_entity["helpdesk__ticket_comments"],
                                     s.rows_by_entity["helpdesk__tickets"], s.rows_by_entity["product__events"])
    types = {r[0]: r[1] for r in con.execute(
        f"describe select * from read_parquet('{out}/product/events/{END}/*.parquet')").fetchall()}
    assert types["occurred_at"] == "TIMESTAMP" and types["event_id"] == "VARCHAR"


def test_csv_quoting_offsets_enums_and_pii(demo):
    out, _ = demo
    fields = []
    for p in list(out.glob("helpdesk/ticket_comments/*/*.csv"))[:60] + list(out.glob("survey/surveys/*/*.csv"))[:1]:
        with open(p, newline="", encoding="utf-8") as fh:
            fields += [v for row in csv.reader(fh) for v in row]
    assert any("," in v for v in fields) and any('"' in v for v in fields) and any("\n" in v for v in fields)
    stamps = [v for v in fields if re.match(r"^\d{4}-\d{2}-\d{2}T", v)]
    with_offset = [v for v in stamps if re.search(r"[+-]\d{2}:\d{2}$", v)]
    assert 0 < len(with_offset) < 0.2 * len(stamps)
    assert any(re.search(r"[\w.]+@[\w-]+\.\w+|\+\d{1,2} \d", v) for v in fields), "some comments hold PII"
    # enumerations are lower-case and within the contract
    for e in contract.ENTITIES:
        enum_cols = [c for c in e.columns if c.allowed]
        files = sorted(out.glob(f"{e.source}/{e.name}/*/*.csv"))[:10]
        for p in files:
            with open(p, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    for c in enum_cols:
                        if row.get(c.name):
                            assert row[c.name] in c.allowed, (p, c.name, row[c.name])


# -- defects -----------------------------------------------------------------------------------
def _survey_scales(out: Path) -> dict[str, tuple[float, float, str]]:
    p = sorted(out.glob("survey/surveys/*/*.csv"))[-1]
    with open(p, newline="", encoding="utf-8") as fh:
        return {r["survey_id"]: (float(r["scale_min"]), float(r["scale_max"]), r["metric"]) for r in csv.DictReader(fh)}


def test_every_defect_kind_present_and_located(demo, con):
    out, s = demo
    scales = _survey_scales(out)
    first_seen: dict[str, dict[str, str]] = {}
    for kind in DEFECT_KINDS:
        assert s.defects[kind], f"no {kind} in demo"
        # every defect is counted; the informational kinds (re-sent updates) are listed up to a cap
        assert len(s.defects[kind]) == min(s.defect_counts[kind], INFO_LIST_CAP)
    for kind in DEFECT_KINDS:
        for d in s.defects[kind][:40]:
            path = out / d["file"]
            assert path.exists() and d["file"].startswith(f"{d['source']}/{d['entity']}/{d['extract_date']}/")
            if kind == "missing_required_column":
                assert d["row_number"] is None and d["column"] not in _header(path)
                continue
            e = contract.entity(d["source"], d["entity"])
            row = _row(con, path, d["row_number"])
            assert row[e.key] == d["key"], (kind, d)
            if kind == "duplicate_key":
                n = con.execute(f"select count(*) from (select 1 from read_{'parquet' if path.suffix == '.parquet' else 'csv' if path.suffix == '.csv' else 'json'}"
                                f"('{path}'{', all_varchar=true' if path.suffix == '.csv' else ''}) "
                                f"where {e.key} = ?)", [d["key"]]).fetchone()[0]
                assert n >= 2
            elif kind == "out_of_scale_score":
                lo, hi, _ = scales[row["survey_id"]]
                assert not lo <= float(row["score"]) <= hi
            elif kind == "non_integer_nps":
                assert scales[row["survey_id"]][2] == "nps" and float(row["score"]) % 1 != 0
            elif kind == "unknown_survey":
                assert row["survey_id"] not in scales
            elif kind == "unparseable_timestamp":
                ts_cols = {c.name for c in e.columns if c.type == contract.TS}
                assert [v for c, v in row.items() if c in ts_cols and v and not _parses(v)], row
            elif kind == "late_arrival":
                happened = _utc(row[TS_OF[(d["source"], d["entity"])]]).date()
                assert 1 <= (d["extract_date"] - happened).days <= 3, (d, row)
            elif kind == "resent_update":
                if e.asset_name not in first_seen:
                    glob = f"{out}/{d['source']}/{d['entity']}/*/*"
                    reader = f"read_json('{glob}.jsonl', format='newline_delimited', columns={{'{e.key}': 'VARCHAR'}}, " \
                        "filename=true)" if d["entity"] == "tickets" else \
                        f"read_csv('{glob}.csv', all_varchar=true, filename=true)"
                    first_seen[e.asset_name] = dict(con.execute(
                        f"select {e.key}, min(filename) from {reader} group by 1").fetchall())
                assert first_seen[e.asset_name][d["key"]].split("/")[-2] < d["extract_date"].isoformat()


def test_bad_rows_stay_well_under_five_percent(demo):
    out, s = demo
    per_file = Counter(d["file"] for k in QUARANTINED_KINDS for d in s.defects[k] if d["row_number"] is not None)
    for rel, n_bad in per_file.items():
        p = out / rel
        if p.suffix == ".parquet":
            rows = pq.read_metadata(p).num_rows
        elif p.suffix == ".jsonl":
            rows = sum(1 for _ in open(p, encoding="utf-8"))
        else:
            with open(p, newline="", encoding="utf-8") as fh:
                rows = sum(1 for _ in csv.reader(fh)) - 1
        # at most one bad row per 25 rows; a file of a few rows may carry a kind's first showing
        assert n_bad <= max(1, rows // 25), (rel, n_bad, rows)
    assert 1 <= len(s.defects["missing_required_column"]) <= 2


# -- realism -----------------------------------------------------------------------------------
def test_churn_follows_declining_usage_and_sentiment(demo, con):
    out, s = demo
    start = s.extract_dates[0]
    last = sorted(out.glob("crm/subscriptions/*/*.csv"))[-1]
    con.execute(f"create or replace temp view ev as select account_id, cast(occurred_at as date) d "
                f"from read_parquet('{out}/product/events/*/*.parquet')")
    con.execute(f"""create or replace temp table cov as
        select account_id, max(cast(end_date as date)) last_end
        from read_csv('{last}', all_varchar=true) where product = 'platform' group by 1""")
    con.execute("create or replace temp table daily as select account_id, d, count(*) n from ev group by 1, 2")
    ratio = con.execute(f"""
        with base as (select account_id, sum(n) / 30.0 b from daily where d < date '{start}' + 30 group by 1),
        churned as (select account_id, last_end as t from cov
                    where last_end between date '{start}' + 75 and date '{END}'),
        retained as (select account_id, date '{END}' + 1 as t from cov where last_end > date '{END}'),
        both_ as (select *, true as churned from churned union all select *, false from retained)
        select churned, count(*), median(coalesce((select sum(n) from daily x where x.account_id = b.account_id
                                                   and x.d >= t - 60 and x.d < t), 0) / 60.0 / base.b)
        from both_ b join base using (account_id) group by 1 order by 1""").fetchall()
    (_, n_ret, r_ret), (_, n_churn, r_churn) = ratio
    assert n_churn >= 5 and n_ret >= 100
    assert r_churn < 0.9 * r_ret, ratio
    # sentiment: NPS from accounts that churn is lower
    churned_ids = {c["account_id"] for c in s.churns if start <= c["churn_date"] <= END}
    nps = con.execute(f"""select account_id, try_cast(score as double) from read_json('{out}/survey/responses/*/*.jsonl',
        format='newline_delimited', columns={{'account_id': 'VARCHAR', 'survey_id': 'VARCHAR', 'score': 'VARCHAR'}})
        where survey_id = 'srv_nps_relationship'""").fetchall()
    ch = [v for a, v in nps if a in churned_ids and v is not None and v <= 10]
    rt = [v for a, v in nps if a not in churned_ids and v is not None and v <= 10]
    assert ch and sum(ch) / len(ch) < sum(rt) / len(rt) - 0.5
    # ACSI (relationship satisfaction index) answers follow the same latent health
    acsi = con.execute(f"""select account_id, try_cast(score as double) from read_json('{out}/survey/responses/*/*.jsonl',
        format='newline_delimited', columns={{'account_id': 'VARCHAR', 'survey_id': 'VARCHAR', 'score': 'VARCHAR'}})
        where survey_id like 'srv_acsi_%'""").fetchall()
    ch = [v for a, v in acsi if a in churned_ids and v is not None and 1 <= v <= 10]
    rt = [v for a, v in acsi if a not in churned_ids and v is not None and 1 <= v <= 10]
    assert ch and sum(ch) / len(ch) < sum(rt) / len(rt) - 0.5
    # churn is neither absent nor extreme, and some of it comes without warning somewhere in the truth
    active = con.execute(f"select count(*) from cov where last_end > date '{start}'").fetchone()[0]
    annual = len(churned_ids) / active * 365 / len(s.extract_dates)
    assert 0.05 <= annual <= 0.3, annual
    assert {c["reason"] for c in s.churns} >= {"health"}


def test_acsi_wave_three_items_per_invitation(demo, con):
    """A quarterly relationship ACSI wave: one invitation to a share of contacts, answered with the
    three index items (each its own acsi survey declaring its index_item, on 1-10), now and then
    with one item left out."""
    out, _ = demo
    surveys = {r["survey_id"]: r for r in csv.DictReader(open(sorted(out.glob("survey/surveys/*/*.csv"))[-1],
                                                                 newline="", encoding="utf-8"))}
    items = {sid: r["index_item"] for sid, r in surveys.items() if r["metric"] == "acsi"}
    assert sorted(items.values()) == ["expectations", "ideal", "satisfaction"]
    assert all((surveys[sid]["scale_min"], surveys[sid]["scale_max"]) == ("1", "10") for sid in items)
    assert all(not r["index_item"] for r in surveys.values() if r["metric"] != "acsi")
    invited = con.execute(f"""select count(*), count(distinct contact_id)
        from read_csv('{out}/survey/invitations/*/*.csv', all_varchar=true, union_by_name=true)
        where survey_id in ({", ".join(f"'{sid}'" for sid in items)})""").fetchone()
    contacts = con.execute(f"""select count(distinct contact_id)
        from read_csv('{sorted(out.glob("crm/contacts/*/*.csv"))[-1]}', all_varchar=true)""").fetchone()[0]
    assert invited[0] > 0 and 0.1 * contacts < invited[1] < 0.9 * contacts, (invited, contacts)
    per_invitation = con.execute(f"""select n_items, count(*) from (
            select invitation_id, count(distinct survey_id) n_items, count(*) n
            from read_json('{out}/survey/responses/*/*.jsonl', format='newline_delimited',
                           columns={{'invitation_id': 'VARCHAR', 'survey_id': 'VARCHAR', 'score': 'VARCHAR'}})
            where survey_id like 'srv_acsi_%' group by 1
        ) group by 1 order by 1""").fetchall()
    counts = dict(per_invitation)
    assert set(counts) <= {1, 2, 3} and counts[3] > 10 * counts.get(2, 0) > 0, counts


def test_cli_prints_progress_and_summary(tmp_path, capsys):
    assert main(["--preset", "tiny", "--seed", "3", "--out", str(tmp_path / "cli"), "--end-date", "2026-03-31"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any("(50%)" in ln for ln in lines) and lines[-1].startswith("done: 20 extract dates 2026-03-12 .. 2026-03-31")
    assert (tmp_path / "cli" / "product" / "events" / "2026-03-31" / "events.parquet").exists()
