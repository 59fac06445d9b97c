"""Product events, generated in bulk with NumPy one day at a time (no per-row Python).

Per account-day: expected events = scale x seats^0.85 x intensity x usage(health) x weekday
x noise; active users and the share of core features also follow health, so a decline shows
first here. Events are written sorted by time, one Parquet file per extract date; a few
late events (a client that synced late) are appended to a later day's file.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import config as cf
from .world import World

WEEKDAY = np.array([1.05, 1.0, 1.0, 0.97, 0.88, 0.3, 0.25])
SCHEMA = pa.schema([("event_id", pa.string()), ("account_id", pa.string()), ("user_id", pa.string()),
                    ("event_name", pa.string()), ("occurred_at", pa.timestamp("us")),
                    ("properties", pa.string())])


def usage(h: np.ndarray) -> np.ndarray:
    return 0.12 + 1.1 * h ** 1.6


class Events:
    def __init__(self, w: World, seed: int):
        self.w = w
        self.g = np.random.default_rng([seed, 2])
        n = w.p.accounts
        self.acc_ids = pa.array([a.account_id for a in w.accounts])
        self.peak = np.array([(13 - cf.REGION_UTC_OFFSET[a.region]) % 24 for a in w.accounts], dtype=float)
        self.offset = self.g.integers(0, 100, n)
        self.intensity = np.array([a.intensity for a in w.accounts])
        self.adopt = np.array([a.adopt_offset for a in w.accounts])
        core = [f for f in cf.FEATURES if f[3]]
        other = [f for f in cf.FEATURES if not f[3]]
        self.core_names = pa.array([f[1] for f in core])
        self.n_core = len(core)
        names = [f[1] for f in other] + [e for e, _ in cf.GENERIC_EVENTS]
        wts = np.array([f[4] for f in other] + [wt for _, wt in cf.GENERIC_EVENTS], dtype=float)
        self.other_names = pa.array(names)
        self.other_cdf = np.cumsum(wts) / wts.sum()
        self.props = pa.array(cf.PROPERTIES)
        # scale so that the window holds events_per_account_day x accounts x days on average
        dow = np.array([(w.start + dt.timedelta(days=i)).weekday() for i in range(w.days)])
        raw = (w.seats.astype(float) ** 0.85) * self.intensity[:, None] * usage(w.Cw["usage"]) * WEEKDAY[dow][None, :]
        raw[~w.active] = 0.0
        total = raw.sum()
        self.scale = w.p.events_per_account_day * n * w.days / total if total > 0 else 0.0
        self.next_id = 1
        self.pending: dict[int, list[tuple[pa.Table, int]]] = {}  # day -> (late events, day they happened)

    def day(self, i: int) -> tuple[pa.Table, list[tuple[int, int]], list[tuple[int, int]]]:
        """The events file of day i, the (row_number, happened_day) of late rows it holds and
        the (row_number, original_row_number) of duplicated keys."""
        w, g = self.w, self.g
        d = w.start + dt.timedelta(days=i)
        wd = WEEKDAY[d.weekday()]
        act = np.nonzero(w.active[:, i])[0]
        h = w.Cw["usage"][act, i]  # volume and active users
        h_adopt = w.Cw["adoption"][act, i]  # core-feature share (the same values in the default world)
        seats = w.seats[act, i].astype(float)
        lam = self.scale * seats ** 0.85 * self.intensity[act] * usage(h) * wd * g.gamma(6.0, 1 / 6.0, act.size)
        cnt = g.poisson(lam)
        n = int(cnt.sum())
        acc = np.repeat(act, cnt)
        hh = np.repeat(h_adopt, cnt)
        # active users: share of seats grows with health; heavy users get most events
        share = 0.08 + 0.5 * h
        if not w.lp.is_default:  # some accounts use more of their seats than others (a reason to expand)
            share = share * w.seat_use[act]
        p_act = np.clip(share * wd ** 0.5, 0.01, 0.95)
        users = np.minimum(np.maximum(g.binomial(seats.astype(np.int64), p_act), 1), np.maximum(cnt, 1))
        uloc = np.floor(np.repeat(users, cnt) * g.random(n) ** 1.8).astype(np.int64) + 1
        # event names: generic / non-core features, or one of the account's adopted core features
        is_core = g.random(n) < 0.25 + 0.35 * hh
        k = np.clip(np.round(self.n_core * (0.2 + 0.85 * hh + self.adopt[acc])), 1, self.n_core)
        core_idx = (self.offset[acc] + np.floor(g.random(n) * k).astype(np.int64)) % self.n_core
        other_idx = np.minimum(np.searchsorted(self.other_cdf, g.random(n)), len(self.other_cdf) - 1)
        names = pc.if_else(pa.array(is_core), self.core_names.take(pa.array(core_idx)),
                           self.other_names.take(pa.array(other_idx)))
        # time of day around the region's early afternoon
        secs = (np.repeat(self.peak[act], cnt) * 3600 + g.normal(0, 3.2 * 3600, n)) % 86400
        t0 = (d - dt.date(1970, 1, 1)).days * 86400
        micros = (t0 + secs.astype(np.int64)) * 1_000_000 + g.integers(0, 1_000_000, n) // 1000 * 1000
        order = np.argsort(micros, kind="stable")
        acc, uloc, micros = acc[order], uloc[order], micros[order]
        names = names.take(pa.array(order))
        ids = pc.binary_join_element_wise("ev_", pc.cast(pa.array(np.arange(self.next_id, self.next_id + n)),
                                                         pa.string()), "")
        self.next_id += n
        acc_col = self.acc_ids.take(pa.array(acc))
        user_col = pc.binary_join_element_wise(acc_col, "-u", pc.cast(pa.array(uloc), pa.string()), "")
        props = self.props.take(pa.array(g.integers(0, len(self.props), n)))
        table = pa.Table.from_arrays([ids, acc_col, user_col, names, pa.array(micros, pa.timestamp("us")), props],
                                     schema=SCHEMA)
        # a few events sync late: held back and appended to a later file
        if n > 50 and g.random() < 0.3:
            m = int(g.integers(1, 6))
            late = np.sort(g.choice(n, m, replace=False))
            keep = np.ones(n, dtype=bool)
            keep[late] = False
            delay = int(g.integers(1, 4))
            self.pending.setdefault(i + delay, []).append((table.take(pa.array(late)), i))
            table = table.filter(pa.array(keep))
        dups: list[tuple[int, int]] = []
        if table.num_rows > 100 and g.random() < 0.08:  # duplicate keys within the file
            m = int(g.integers(1, 4))
            src = np.sort(g.choice(table.num_rows, m, replace=False))
            idx = np.arange(table.num_rows)
            for s in src[::-1]:
                pos = int(g.integers(s + 1, len(idx) + 1))
                idx = np.insert(idx, pos, s)
            table = table.take(pa.array(idx))
            seen: set[int] = set()
            for row, s in enumerate(idx):
                if s in seen:
                    dups.append((row + 1, int(np.nonzero(idx == s)[0][0]) + 1))
                seen.add(int(s))
        late_rows: list[tuple[int, int]] = []
        for t, happened in self.pending.pop(i, []):
            base = table.num_rows
            table = pa.concat_tables([table, t])
            late_rows += [(base + j + 1, happened) for j in range(t.num_rows)]
        return table, late_rows, dups
