"""latest_version (the staging rule: one row per key, the version from the latest extract, then the
last file and the last record in it) against a brute-force Python choice, on random versions.

The macro sends only the keys seen more than once through its row_number window, and finds them
by counting rows per bucket of the key (on DuckDB a 64-bit hash). A bucket shared by two keys
must only cost a sort, never a wrong winner: the second case makes buckets collide on purpose by
narrowing the compiled bucket expression to three values.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import duckdb
import pytest

from tests.dbt_inline import compile_inline

INLINE = "{{ latest_version('(select * from versions)', 'k', ['k', 'payload']) }}"


def random_versions(seed: int) -> list[tuple]:
    """(k, payload, _extract_date, _source_file, _row_number): most keys once, some re-sent in
    later extracts, some twice in one extract (two files, or two records of one file), null keys."""
    rng = random.Random(seed)
    rows = []
    for i in range(300):
        key = f"e{i}"
        for _ in range(1 if rng.random() < 0.7 else rng.randrange(2, 5)):
            day = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 6))
            # (extract, file, record) is unique in raw, as a record has one place in one file
            rows.append((key, f"p{len(rows)}", day, rng.choice(["a.csv", "b.csv"]), rng.randrange(1, 4) * 1000 + len(rows)))
    for _ in range(3):
        rows.append((None, f"p{len(rows)}", date(2026, 1, 2), "a.csv", len(rows)))
    rng.shuffle(rows)
    return rows


def brute_force(rows: list[tuple]) -> set[tuple]:
    by_key: dict = {}
    for row in rows:
        by_key.setdefault(row[0], []).append(row)
    out = set()
    for key, versions in by_key.items():
        winner = max(versions, key=lambda r: (r[2], r[3], r[4]))
        out.add((key, winner[1], winner[2], min(r[2] for r in versions)))
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> str:
    return compile_inline(tmp_path_factory.mktemp("latest_version"), INLINE)


def run(sql: str, rows: list[tuple]) -> set[tuple]:
    con = duckdb.connect()
    con.execute("create table versions (k text, payload text, _extract_date date, _source_file text, _row_number bigint)")
    con.executemany("insert into versions values (?, ?, ?, ?, ?)", rows)
    result = con.execute(f"select k, payload, extract_date, first_extract_date from ({sql})").fetchall()
    assert len(result) == len(set(result)), "a key came out twice"
    return set(result)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_winner_is_the_latest_extract_then_file_then_record(compiled, seed):
    assert "hash(keyed.k)" in compiled, "DuckDB counts keys by their hash"
    rows = random_versions(seed)
    assert run(compiled, rows) == brute_force(rows)


def test_keys_sharing_a_bucket_still_get_their_own_winner(compiled):
    """Three buckets for 300 keys: every bucket repeats, so every key goes through the window."""
    narrowed = re.sub(r"hash\((\w+\.k)\)", r"(hash(\1) % 3)", compiled)
    assert narrowed.count("% 3") == 5, "the bucket: counted, selected, grouped by, and joined on in each branch"
    rows = random_versions(4)
    assert run(narrowed, rows) == brute_force(rows)


@pytest.mark.parametrize("null_key", [False, True])
def test_keys_seen_once_pass_straight_through(compiled, null_key):
    """No bucket repeats (the usual first build): the grouping is skipped and every row comes out
    once; a single null key is still ranked (and kept) by the window."""
    rows = [(f"e{i}", f"p{i}", date(2026, 1, 1 + i % 5), "a.csv", i) for i in range(200)]
    if null_key:
        rows.append((None, "p-null", date(2026, 1, 2), "a.csv", 999))
    assert run(compiled, rows) == brute_force(rows)
