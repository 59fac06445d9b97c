"""metric_values(..., 'median') against a brute-force median, on random observations.

Medians are not additive: per period they are grouped, but over rolling windows the macro uses a
window function whose range frame ends on a probe row per calendar day, instead of copying each
observation into its N window ends (that copy ran the service model out of memory at preset M).
The frame is exact only if its edges are: an observation exactly N - 1 days before the window's
end is in, one N days before is out, observations on the window's last day are all in (peers),
and a window with nothing in it has no row. This test draws such cases and compares every row.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import date, timedelta

import pytest

from tests.dbt_inline import compile_inline, metric_rows, period_start, replace_rows, warehouse_with_calendar

SEGMENTS = ["tier"]
GRAINS = ["day", "month", "rolling"]
WINDOWS = [1, 7, 30]
CAL_START, CAL_DAYS = date(2026, 1, 1), 120


def random_observations(seed: int) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for metric in ("frt", "resolution"):
        day = CAL_START + timedelta(days=rng.randrange(0, 5))
        while day < CAL_START + timedelta(days=80):
            for _ in range(rng.choice([1, 1, 2, 3, 6])):  # several on one day: peers in the frame
                value = rng.choice([rng.randrange(0, 50), round(rng.uniform(0, 500), 3)])
                rows.append((metric, day, value, rng.choice(["smb", "mid", None])))
            day += timedelta(days=rng.choice([1, 1, 2, 6, 7, 8, 29, 30, 31]))
    rows.append(("frt", CAL_START + timedelta(days=10), None, "smb"))  # null values are left out
    return rows


def brute_force(rows: list[tuple]) -> dict[tuple, tuple[float, int]]:
    values: dict[tuple, list] = defaultdict(list)
    calendar = [CAL_START + timedelta(days=i) for i in range(CAL_DAYS)]
    for metric, d, value, tier in rows:
        if value is None:
            continue
        for seg_type, seg_value in (("all", "all"), ("tier", tier)):
            if seg_value is None:
                continue
            for grain in GRAINS[:-1]:
                values[(metric, grain, period_start(grain, d), None, seg_type, seg_value)].append(value)
            for n in WINDOWS:
                for end in calendar:
                    if d <= end <= d + timedelta(days=n - 1):
                        values[(metric, "rolling", end, n, seg_type, seg_value)].append(value)
    return {k: (statistics.median(v), len(v)) for k, v in values.items()}


def test_rolling_medians_match_brute_force(tmp_path):
    inline = f"{{{{ metric_values('main.obs', 'median', {SEGMENTS}, grains={GRAINS}, windows={WINDOWS}) }}}}"
    sql = compile_inline(tmp_path, inline)
    con = warehouse_with_calendar(tmp_path, CAL_START, CAL_DAYS)
    con.execute("create table obs (metric varchar, obs_date date, val double, tier varchar)")
    for seed in (1, 2, 3):
        rows = random_observations(seed)
        replace_rows(con, "obs", rows)
        got = metric_rows(con, sql, "value", "sample_size")
        want = brute_force(rows)
        assert sum(1 for k in want if k[1] == "rolling") > 500, "too few windows drawn to test the frames"
        assert set(got) == set(want), f"seed {seed}: rows differ, e.g. {sorted(set(got) ^ set(want))[:5]}"
        wrong = {k: (got[k], v) for k, v in want.items() if got[k][1] != v[1] or got[k][0] != pytest.approx(v[0], abs=1e-9)}
        assert not wrong, f"seed {seed}: {len(wrong)} medians differ, e.g. {list(wrong.items())[:5]}"
