"""metric_distinct_counts (the count_distinct of metric_values: active users, contacts per window)
against a brute-force count, on random observations whose segments change over time.

The macro does not unpivot key-days into segments; it counts keys per segment tuple, merges runs
of days per key, and merges runs again where a key's segment changed. Those shortcuts are exact
only if every edge is right (a key in two tiers in one month, a tier change inside a rolling
window, a null segment value, a gap of exactly N days), so this test draws many such cases and
compares every row with a plain Python count. The SQL is compiled by dbt itself
(`dbt compile --inline`) and run on DuckDB.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import duckdb
import pytest

from tests.dbt_inline import compile_inline, metric_rows, period_start, replace_rows, warehouse_with_calendar

SEGMENTS = ["tier", "region"]
GRAINS = ["day", "week", "month", "quarter", "rolling"]
WINDOWS = [3, 7, 30]
CAL_START, CAL_DAYS = date(2026, 1, 1), 150


def random_observations(seed: int) -> list[tuple]:
    """Keys seen on random days; each key's tier/region changes now and then (or is null)."""
    rng = random.Random(seed)
    rows = []
    for k in range(60):
        tier, region = rng.choice(["smb", "mid"]), rng.choice(["eu", "us", None])
        day = CAL_START + timedelta(days=rng.randrange(0, 40))
        for _ in range(rng.randrange(1, 25)):
            if rng.random() < 0.15:
                tier = rng.choice(["smb", "mid", "ent"])
            if rng.random() < 0.1:
                region = rng.choice(["eu", "us", None])
            metric = "m1" if k % 5 else "m2"
            rows.append((metric, day, f"k{k}", tier, region))
            if rng.random() < 0.2:  # the same observation twice (counted once)
                rows.append((metric, day, f"k{k}", tier, region))
            if rng.random() < 0.2:  # the same key twice on a day, once in another tier
                rows.append((metric, day, f"k{k}", rng.choice(["smb", "mid"]), region))
            day += timedelta(days=rng.choice([1, 1, 2, 3, 4, 7, 8, 29, 30, 31, 45]))
    rows.append(("m1", CAL_START, None, "smb", "eu"))  # null keys are not counted
    return rows


def brute_force(rows: list[tuple], grains: list[str]) -> dict[tuple, int]:
    keys: dict[tuple, set] = defaultdict(set)
    calendar = [CAL_START + timedelta(days=i) for i in range(CAL_DAYS)]
    for metric, d, key, tier, region in rows:
        if key is None:
            continue
        segments = [("all", "all"), ("tier", tier), ("region", region)]
        for seg_type, seg_value in segments:
            if seg_value is None:
                continue
            for grain in (g for g in grains if g != "rolling"):
                keys[(metric, grain, period_start(grain, d), None, seg_type, seg_value)].add(key)
            for n in WINDOWS:
                for end in calendar:
                    if d <= end <= d + timedelta(days=n - 1):
                        keys[(metric, "rolling", end, n, seg_type, seg_value)].add(key)
    return {k: len(v) for k, v in keys.items()}


# every grain (a quarter's counts then come from its months'), and a quarter without months
@pytest.mark.parametrize("grains", [GRAINS, ["week", "quarter", "rolling"]], ids=["all_grains", "quarter_without_month"])
def test_distinct_counts_match_brute_force(tmp_path, grains):
    inline = f"{{{{ metric_distinct_counts('main.obs', {SEGMENTS}, grains={grains}, windows={WINDOWS}) }}}}"
    sql = compile_inline(tmp_path, inline)
    con = warehouse_with_calendar(tmp_path, CAL_START, CAL_DAYS)
    con.execute("create table obs (metric varchar, obs_date date, obs_key varchar, tier varchar, region varchar)")
    for seed in (1, 2, 3):
        rows = random_observations(seed)
        replace_rows(con, "obs", rows)
        got = {key: n for key, (n,) in metric_rows(con, sql, "n_obs").items()}
        want = brute_force(rows, grains)
        assert len(got) == len(want), f"seed {seed}: {len(got)} rows, expected {len(want)}"
        wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        assert not wrong, f"seed {seed}: {len(wrong)} counts differ, e.g. {list(wrong.items())[:5]}"


def test_a_shared_hash_id_stops_the_query(tmp_path):
    """metric_distinct_counts counts by hash ids (metric_hash_id); metric_hash_collisions is what
    makes that exact: two values with one id must fail the build, never merge their counts."""
    sql = compile_inline(tmp_path, "select {{ metric_hash_collisions('main.ids', 'id', 'keys') }} as n from main.ids")
    con = duckdb.connect()
    con.execute("create table ids (value varchar, id ubigint)")
    con.execute("insert into ids values ('a', 1), ('b', 2), ('c', 3)")
    assert con.execute(sql).fetchall() == [(0,)]
    con.execute("insert into ids values ('d', 2)")  # 'b' and 'd' share id 2
    with pytest.raises(duckdb.InvalidInputException, match="two different keys share an integer id in main.ids"):
        con.execute(sql).fetchall()
