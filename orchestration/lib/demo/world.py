"""The CRM world: owners, accounts, contacts, each account's latent health path, its subscription
history (renewals, expansions, contractions, churn, reactivation) and onboarding milestones.

Day indices are relative to the first extract date (day 0); the health matrix also covers
`PRE` days before it, so that renewals early in the window can look back at health.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from . import config as cf

PRE = 150  # days of latent health before the first extract
MIN_DATE = dt.date(1970, 1, 1)


@dataclass
class Account:
    idx: int
    account_id: str
    name: str
    domain: str
    industry: str
    tier: str
    region: str
    plan: str
    currency: str
    csm: str
    created: dt.date
    term: str  # annual | monthly
    seats0: int
    intensity: float  # usage per seat relative to peers
    sentiment_offset: float  # grumpy or cheerful beyond health
    adopt_offset: float
    changes: list[tuple[dt.date, str, str]] = field(default_factory=list)  # (from, field, value)

    def attrs(self, d: dt.date) -> dict[str, str]:
        a = {"tier": self.tier, "plan": self.plan, "csm_owner_id": self.csm}
        for when, k, v in self.changes:
            if when <= d:
                a[k] = v
        return a


@dataclass
class Contact:
    contact_id: str
    account: int
    email: str
    full_name: str
    role: str
    created: dt.date
    removed: dt.date | None = None
    wave_offset: int = 0  # business day of the quarterly NPS wave


@dataclass
class Sub:
    account: int
    product: str
    start: dt.date
    end: dt.date
    mrr: float
    currency: str
    seats: int
    booked: dt.date  # first snapshot date it appears in
    cancelled_on: dt.date | None = None
    subscription_id: str = ""

    def status(self, d: dt.date) -> str:
        if self.cancelled_on is not None and d >= self.cancelled_on:
            return "cancelled"
        return "expired" if d >= self.end else "active"


@dataclass
class Milestone:
    milestone_id: str
    account: int
    name: str
    sequence: int
    planned: dt.date
    completed: dt.date | None
    owner_id: str
    visible_from: dt.date


def ascii_mail(local: str, domain: str) -> str:
    flat = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in flat if ch.isalnum() or ch in "._-") + "@" + domain


def _pick(r: random.Random, pairs):
    x, acc = r.random() * sum(w for _, w in pairs), 0.0
    for v, w in pairs:
        acc += w
        if x < acc:
            return v
    return pairs[-1][0]


def _paths(g: np.random.Generator, n: int, t_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n health paths over t_len days: each account's level, its walk with temporary dips that
    recover (level + walk + dips), and its lasting declines (a quarter of them recover later)."""
    base = np.clip(g.normal(0.68, 0.11, n), 0.3, 0.92)
    eps = g.normal(0, 0.022, (n, t_len))
    x = np.empty((n, t_len))
    x[:, 0] = g.normal(0, 0.08, n)
    for t in range(1, t_len):
        x[:, t] = 0.96 * x[:, t - 1] + eps[:, t]
    hb = base[:, None] + x
    t_idx = np.arange(t_len)
    # temporary dips that recover
    n_dips = g.poisson(1.0 * t_len / 365, n)
    for a in np.nonzero(n_dips)[0]:
        for _ in range(int(n_dips[a])):
            s, depth = g.integers(0, t_len), g.uniform(0.12, 0.3)
            down, hold, up = g.integers(8, 20), g.integers(5, 25), g.integers(15, 30)
            hb[a] -= depth * np.interp(t_idx, [s, s + down, s + down + hold, s + down + hold + up], [0, 1, 1, 0],
                                       left=0, right=0)
    # declines: a lasting drop, a quarter of them recover later
    decl = np.zeros((n, t_len))
    hit = g.random(n) < 1 - np.exp(-0.15 * t_len / 365)
    starts = g.integers(0, t_len, n)
    for a in np.nonzero(hit)[0]:
        s, depth, ramp = starts[a], g.uniform(0.3, 0.55), g.integers(30, 70)
        if g.random() < 0.25:
            hold, up = g.integers(40, 100), g.integers(25, 45)
            xs, ys = [s, s + ramp, s + ramp + hold, s + ramp + hold + up], [0, 1, 1, 0.2]
        else:
            xs, ys = [s, s + ramp], [0, 1]
        decl[a] = -depth * np.interp(t_idx, xs, ys, left=0, right=ys[-1])
    return base, hb, decl


@dataclass
class Truth:
    """What the latent process decided at one renewal or mid-term expansion check (the truth file's row)."""
    account_id: str
    event: str  # renewal | mid_term
    date: dt.date  # renewal date (end of the term), or the day a seat pack would start
    term: str
    churn_probability: float | None  # renewal: the probability the process drew churn with
    churned: bool | None
    reason: str | None
    expansion_probability: float | None  # seats up at this renewal (if renewed) / a seat pack mid-term
    expanded: bool | None


class World:
    def __init__(self, p: cf.Preset, seed: int, start: dt.date, days: int, latent: cf.Latent | None = None):
        self.p, self.start, self.days = p, start, days
        self.lp = latent or cf.WORLDS["default"]
        self.seed = seed
        self.end = start + dt.timedelta(days=days - 1)
        self.r = random.Random(f"{seed}-world")
        self.np = np.random.default_rng([seed, 1])
        self.churns: list[dict] = []
        self.truth: list[Truth] = []
        self._owners()
        self._accounts()
        self._health()
        self._channels()
        self._subscriptions()
        self._contacts()
        self._milestones()
        self._activity_matrix()

    # -- helpers ---------------------------------------------------------------------------
    def di(self, d: dt.date) -> int:
        return (d - self.start).days

    def date(self, i: int) -> dt.date:
        return self.start + dt.timedelta(days=i)

    def h(self, a: int, i: int) -> float:
        j = min(max(i + PRE, 0), self.H.shape[1] - 1)
        return float(self.H[a, j])

    def hc(self, channel: str, a: int, i: int) -> float:
        """Health as the signals of `channel` show it (the latent health itself in the default world)."""
        m = self.C[channel]
        return float(m[a, min(max(i + PRE, 0), m.shape[1] - 1)])

    # -- owners ----------------------------------------------------------------------------
    def _owners(self):
        r, p = self.r, self.p
        rows, used = [], set()

        def person():
            while True:
                f, last = r.choice(cf.FIRST_NAMES), r.choice(cf.LAST_NAMES)
                if (f, last) not in used or len(used) > 500:
                    used.add((f, last))
                    return f, last

        def add(team, since=MIN_DATE):
            f, last = person()
            oid = f"own_{len(rows) + 1:03d}"
            mail = ascii_mail(f"{f}.{last}", "chw-demo.example")
            rows.append({"owner_id": oid, "owner_name": f"{f} {last}", "email": mail, "team": team, "_since": since})
            return oid

        self.csms = [add("customer_success") for _ in range(p.csms)]
        self.new_csm_day = self.days // 2
        self.new_csm = add("customer_success", self.date(self.new_csm_day))
        self.agents = [add("support") for _ in range(p.agents)]
        self.product_owners = [add("product") for _ in range(2)]
        self.executives = [add("executive") for _ in range(2)]
        self.owners = rows

    # -- accounts --------------------------------------------------------------------------
    def _accounts(self):
        r, p, g = self.r, self.p, self.np
        n = p.accounts
        width = max(4, len(str(n)))
        new_share = 0.12 if p.days is None or p.days >= 90 else 0.05
        self.accounts: list[Account] = []
        for i in range(n):
            tier = _pick(r, list(zip(cf.TIERS, cf.TIER_SHARE, strict=True)))
            region = _pick(r, cf.REGIONS)
            u = r.random()
            if u < new_share:  # a new customer, created in the first 3/4 of the window
                created = self.date(int(r.random() * self.days * 0.75) - 10)
            elif u < new_share + 0.2:  # recently created, still onboarding at the start
                created = self.date(-int(r.uniform(20, 150)))
            else:
                created = self.date(-int(r.uniform(150, 3 * 365)))
            a_name = r.choice(cf.NAME_A)
            name = f"{a_name} {r.choice(cf.NAME_B)}"
            sfx = r.choice(cf.NAME_SUFFIX)
            name = f"{name}{sfx}" if sfx.startswith(",") else f"{name} {sfx}".strip()
            if r.random() < 0.03:
                name = f'{a_name}, "{r.choice(cf.NAME_B)}" & Partners'
            slug = "".join(ch for ch in a_name.lower() if ch.isascii() and ch.isalnum())
            currency = "USD"
            if region == "emea":
                currency = _pick(r, (("EUR", 0.55), ("GBP", 0.25), ("USD", 0.2)))
            seats = max(3, int(round(g.lognormal(np.log(cf.SEATS_MEDIAN[tier]), cf.SEATS_SIGMA[tier]))))
            term = "annual" if tier != "smb" or r.random() < 0.45 else "monthly"
            if tier == "mid_market" and r.random() < 0.1:
                term = "monthly"
            self.accounts.append(Account(
                idx=i, account_id=f"acc_{i + 1:0{width}d}", name=name, domain=f"{slug}{i + 1}.example.com",
                industry=r.choice(cf.INDUSTRIES), tier=tier, region=region, plan=_pick(r, cf.PLANS[tier]),
                currency=currency, csm=r.choice(self.csms), created=created, term=term, seats0=seats,
                intensity=float(g.lognormal(0, 0.45)), sentiment_offset=r.gauss(0, 0.06),
                adopt_offset=r.gauss(0, 0.1)))
        # a new CSM takes over some accounts halfway through
        when = self.date(self.new_csm_day)
        for a in self.accounts:
            if r.random() < 0.12:
                a.changes.append((when, "csm_owner_id", self.new_csm))

    # -- latent health -----------------------------------------------------------------------
    def _health(self):
        g, n = self.np, self.p.accounts
        t_len = PRE + self.days
        base, hb, decl = _paths(g, n, t_len)
        self.base, self.Hb, self.Hd = base, hb, decl
        self.H = np.clip(hb + decl, 0.02, 0.98)
        # budget cuts: churn at the next renewal, no warning in the signals
        self.budget_cut_day = {a: int(g.integers(-60, self.days)) for a in range(n) if g.random() < 0.025 * t_len / 365}
        if not self.lp.is_default:
            # seat use: active users per licensed seat relative to peers (one reason to expand)
            self.seat_use = np.clip(np.random.default_rng([self.seed, 11]).lognormal(0, self.lp.seat_use_sigma, n),
                                    0.3, 2.5)

    def _channels(self):
        """C[channel]: health as each kind of signal shows it, PRE days before the window included.
        In the default world every channel is the latent health itself (the very same array)."""
        t_len = PRE + self.days
        self.C: dict[str, np.ndarray] = {}
        self._own: dict[str, np.ndarray] = {}
        for k, c in enumerate(cf.CHANNELS):
            if self.lp.share(c) >= 1.0:
                self.C[c] = self.H
                continue
            _, own_b, own_d = _paths(np.random.default_rng([self.seed, 20 + k]), self.p.accounts, t_len)
            self._own[c] = own_b + own_d
            self.C[c] = np.empty_like(self.H)
            self._mix(c, slice(None), 0)

    def _mix(self, c: str, rows, lo: int):
        share = self.lp.share(c)
        self.C[c][rows, lo:] = np.clip(share * self.H[rows, lo:] + (1 - share) * self._own[c][rows, lo:], 0.02, 0.98)

    # -- the latent process of a non-default world: churn and expansion 45 days ahead ---------------
    KNOWN_DAYS = 45

    def _churn_probability(self, a: int, r_idx: int, months: int) -> tuple[float, float]:
        """(probability of churn at the renewal on day r_idx, its unannounced part), from latent
        health over [r-75, r-45) and the world's budget churn; a monthly term's is the monthly
        equivalent of the annual probability."""
        lp = self.lp
        lo, hi = r_idx - self.KNOWN_DAYS - 30 + PRE, r_idx - self.KNOWN_DAYS + PRE
        hh = float(self.H[a, max(lo, 0):hi].mean()) if hi > 0 else float(self.base[a])
        warn = 1.0 / (1.0 + np.exp(-(lp.churn_logit0 + lp.churn_slope * (0.5 - hh))))
        annual, silent = 1 - (1 - warn) * (1 - lp.silent_churn), lp.silent_churn
        if months != 12:
            annual, silent = 1 - (1 - annual) ** (1 / 12), 1 - (1 - silent) ** (1 / 12)
        return float(annual), float(silent)

    def _expansion_probability(self, a: int, i: int, months: int = 12) -> float:
        """Probability of expanding on day i, from the value the account got up to 45 days before:
        seat use (active users per licensed seat) and usage growth over the 60 days before that."""
        lp, u = self.lp, self.C["usage"]
        j = min(max(i - self.KNOWN_DAYS + PRE, 0), u.shape[1] - 1)
        use = min((0.08 + 0.5 * u[a, j]) * self.seat_use[a], 1.0)
        growth = u[a, j] - u[a, max(j - 60, 0)]
        p = 1.0 / (1.0 + np.exp(-(lp.expand_logit0 + lp.expand_util * (use - 0.45) + lp.expand_growth * growth)))
        return float(p if months == 12 else 1 - (1 - p) ** (1 / 12))

    def _lookback_health(self, a: int, r_idx: int) -> float | None:
        lo, hi = r_idx - 60 + PRE, r_idx - 30 + PRE
        if lo < 0:
            return None
        return float(self.H[a, lo:hi].mean())

    # -- subscriptions -----------------------------------------------------------------------
    def _price(self, a: Account, plan: str, seats: int) -> float:
        unit = cf.PRICE_PER_SEAT_USD[plan] * cf.FX_FROM_USD[a.currency]
        if seats > 200:
            unit *= 0.8
        return round(seats * unit, 2)

    def _subscriptions(self):
        r = self.r
        self.subs: list[Sub] = []
        for a in self.accounts:
            start = a.created + dt.timedelta(days=r.randint(3, 14))
            self._chain(a, start, a.seats0, first=True)
        self.subs.sort(key=lambda s: (s.account, s.start, s.product))
        for k, s in enumerate(self.subs):
            s.subscription_id = f"sub_{k + 1:07d}"

    def _chain(self, a: Account, start: dt.date, seats: int, first: bool):
        r, end = self.r, self.end
        months = 12 if a.term == "annual" else 1
        plan = a.attrs(start)["plan"]
        booked = start if first else start - dt.timedelta(days=r.randint(0, 14))
        while start <= end:
            stop = cf.add_months(start, months)
            main = Sub(a.idx, "platform", start, stop, self._price(a, plan, seats), a.currency, seats, booked)
            self.subs.append(main)
            addon = None
            if not self.lp.is_default:
                seats = self._term(a, main, months)
                if seats is None:
                    return
                start, booked = stop, stop - dt.timedelta(days=r.randint(0, 14))
                continue
            if months == 12 and r.random() < 0.15:  # mid-term expansion: an add-on, co-terminous
                s_idx = self.di(start) + r.randint(60, 300)
                if self.h(a.idx, s_idx) > 0.6:
                    a_start = self.date(s_idx)
                    addon = Sub(a.idx, "analytics_addon", a_start, stop, round(main.mrr * r.uniform(0.1, 0.25), 2),
                                a.currency, seats, a_start)
                    self.subs.append(addon)
            if stop > end:
                return
            # renewal decision
            r_idx = self.di(stop)
            hh = self._lookback_health(a.idx, r_idx)
            cut = self.budget_cut_day.get(a.idx)
            reason = None
            if cut is not None and cut + 20 <= r_idx:
                reason = "budget_cut"
                del self.budget_cut_day[a.idx]
            elif hh is None:
                if r.random() < (0.04 if months == 12 else 0.003):
                    reason = "random"
            else:
                p = 0.7 if hh < 0.3 else 0.35 if hh < 0.4 else 0.08 if hh < 0.5 else (0.015 if months == 12 else 0.0015)
                if r.random() < p:
                    reason = "health" if hh < 0.5 else "random"
            # what the process used (truth file): budget cut 1, else the draw's probability
            p_churn = 1.0 if reason == "budget_cut" else (0.04 if months == 12 else 0.003) if hh is None else p
            p_expand = (0.35 if months == 12 else 0.03) if hh is not None and hh > 0.68 else 0.0
            if reason:
                self._truth_renewal(a, stop, months, p_churn, reason, p_expand, None)
                self._churn(a, stop, months, seats, reason, [main, addon], None if hh is None else round(hh, 3))
                return
            expanded = hh is not None and hh > 0.68 and r.random() < (0.35 if months == 12 else 0.03)
            self._truth_renewal(a, stop, months, p_churn, None, p_expand, expanded)
            if expanded:
                seats = int(seats * r.uniform(1.1, 1.5)) + 1
            elif hh is not None and hh < 0.5 and r.random() < (0.5 if months == 12 else 0.05):
                seats = max(3, int(seats * r.uniform(0.6, 0.9)))
            if a.attrs(stop)["tier"] == "smb" and seats > 40:
                a.changes.append((stop, "tier", "mid_market"))
            if addon:  # the add-on renews with the platform
                self.subs.append(Sub(a.idx, "analytics_addon", stop, cf.add_months(stop, 12), addon.mrr,
                                     a.currency, seats, stop - dt.timedelta(days=7)))
            start, booked = stop, stop - dt.timedelta(days=r.randint(0, 14))

    def _churn(self, a: Account, stop: dt.date, months: int, seats: int, reason: str, subs: list, hh):
        r, end = self.r, self.end
        if r.random() < 0.7:  # notice given: the row turns cancelled
            cancelled = stop - dt.timedelta(days=r.randint(5, 45 if months == 12 else 20))
            for s in subs:
                if s is not None:
                    s.cancelled_on = cancelled
        self.churns.append({"account_id": a.account_id, "churn_date": stop, "reason": reason,
                            "health_60_30d_before": hh})
        if r.random() < 0.12:  # reactivation later on
            back = stop + dt.timedelta(days=r.randint(30, 150))
            if back <= end:
                bi = max(self.di(back) + PRE, 0)
                self.Hd[a.idx, bi:] = 0.0
                self.H[a.idx, bi:] = np.clip(self.Hb[a.idx, bi:], 0.02, 0.98)
                for c in self._own:
                    self._mix(c, a.idx, bi)
                self._chain(a, back, max(3, int(seats * r.uniform(0.5, 1.0))), first=True)

    def _truth_renewal(self, a: Account, stop: dt.date, months: int, p_churn: float, reason: str | None,
                       p_expand: float, expanded: bool | None):
        self.truth.append(Truth(a.account_id, "renewal", stop, "annual" if months == 12 else "monthly",
                                round(p_churn, 6), reason is not None, reason, round(p_expand, 6), expanded))

    def _term(self, a: Account, main: Sub, months: int) -> int | None:
        """A term of a non-default world after its platform row is booked: a seat pack mid-term
        when the account gets value, then the renewal (churn, or seats up or down). Returns the
        next term's seats, None when the chain ends here (past the window, or churned)."""
        r, start, stop = self.r, main.start, main.end
        pack = None
        if months == 12:  # mid-term: one look at the account, somewhere in the term
            s_idx = self.di(start) + r.randint(60, 300)
            p_mid = self._expansion_probability(a.idx, s_idx)
            took = r.random() < p_mid
            if s_idx < self.days:
                self.truth.append(Truth(a.account_id, "mid_term", self.date(s_idx), "annual", None, None, None,
                                        round(p_mid, 6), took))
            if took:  # more seats for the rest of the term, co-terminous
                extra = max(1, int(main.seats * r.uniform(0.1, 0.4)))
                p_start = self.date(s_idx)
                pack = Sub(a.idx, "seat_pack", p_start, stop, self._price(a, a.attrs(start)["plan"], extra),
                           a.currency, extra, p_start - dt.timedelta(days=r.randint(0, 10)))
                self.subs.append(pack)
        if stop > self.end:
            return None
        r_idx = self.di(stop)
        p_churn, p_silent = self._churn_probability(a.idx, r_idx, months)
        u = r.random()
        seats = main.seats + (pack.seats if pack else 0)
        p_expand = self._expansion_probability(a.idx, r_idx, months)
        if u < p_churn:
            reason = "budget_cut" if u < p_silent else "health"
            self._truth_renewal(a, stop, months, p_churn, reason, p_expand, None)
            self._churn(a, stop, months, seats, reason, [main, pack], None)
            return None
        expanded = r.random() < p_expand
        self._truth_renewal(a, stop, months, p_churn, None, p_expand, expanded)
        lo, hi = r_idx - self.KNOWN_DAYS - 30 + PRE, r_idx - self.KNOWN_DAYS + PRE
        hh = float(self.H[a.idx, max(lo, 0):hi].mean()) if hi > 0 else float(self.base[a.idx])
        if expanded:
            seats = int(seats * r.uniform(1.1, 1.5)) + 1
        elif hh < 0.5 and r.random() < (0.5 if months == 12 else 0.05):  # unhappy renewers cut seats
            seats = max(3, int(seats * r.uniform(0.6, 0.9)))
        if a.attrs(stop)["tier"] == "smb" and seats > 40:
            a.changes.append((stop, "tier", "mid_market"))
        return seats

    # -- contacts ----------------------------------------------------------------------------
    def _contacts(self):
        r = self.r
        self.contacts: list[Contact] = []
        self.contacts_of: list[list[int]] = [[] for _ in self.accounts]
        width = max(6, len(str(self.p.accounts * 20)))

        def add(a: Account, role: str, created: dt.date):
            f, last = r.choice(cf.FIRST_NAMES), r.choice(cf.LAST_NAMES)
            k = len(self.contacts)
            mail = ascii_mail(f"{f}.{last}{k}", a.domain)
            c = Contact(f"con_{k + 1:0{width}d}", a.idx, mail, f"{f} {last}", role, created,
                        wave_offset=r.randrange(5))
            self.contacts.append(c)
            self.contacts_of[a.idx].append(k)
            return c

        for a in self.accounts:
            users = {"enterprise": (6, 12), "mid_market": (2, 5), "smb": (0, 2)}[a.tier]
            roles = ["champion", "admin"] + (["admin"] if a.tier == "enterprise" else [])
            if a.tier != "smb" or r.random() < 0.4:
                roles.append("executive_sponsor")
            roles += ["user"] * r.randint(*users)
            for role in roles:
                add(a, role, a.created + dt.timedelta(days=r.randint(0, 30)))
            # champion turnover, more likely in a decline
            if r.random() < 0.12 + 0.25 * (self.Hd[a.idx].min() < -0.2):
                day = self.date(r.randrange(self.days))
                champ = self.contacts[self.contacts_of[a.idx][0]]
                if champ.created < day:
                    champ.removed = day
                    add(a, "champion", day + dt.timedelta(days=r.randint(3, 40)))

    def contacts_on(self, a: int, d: dt.date, roles: tuple[str, ...] | None = None) -> list[Contact]:
        out = []
        for k in self.contacts_of[a]:
            c = self.contacts[k]
            if c.created <= d and (c.removed is None or d < c.removed) and (roles is None or c.role in roles):
                out.append(c)
        return out

    # -- milestones --------------------------------------------------------------------------
    def _milestones(self):
        r = self.r
        self.milestones: list[Milestone] = []
        first_start: dict[int, dt.date] = {}
        self.platform_subs: list[list[Sub]] = [[] for _ in self.accounts]
        for s in self.subs:
            if s.product == "platform":
                first_start.setdefault(s.account, s.start)
                self.platform_subs[s.account].append(s)
        for a in self.accounts:
            if a.idx not in first_start:
                continue
            ms = [(name, first_start[a.idx] + dt.timedelta(days=off), a.created) for name, off in
                  cf.MILESTONES_ONBOARDING]
            for s in self.platform_subs[a.idx]:  # success-plan checkpoints of annual terms near the window
                if s.end - s.start > dt.timedelta(days=300) and s.end >= self.start - dt.timedelta(days=200):
                    ms.append(("success_plan_review", s.start + dt.timedelta(days=90), s.start))
                    ms.append(("renewal_readiness", s.end - dt.timedelta(days=60), s.start))
            churned_at = self._coverage_end(a.idx)
            for seq, (name, planned, visible) in enumerate(ms, start=1):
                pi = self.di(planned)
                if pi < -PRE:
                    delay, missed = round(r.gauss(-1, 4)), r.random() < 0.03
                else:
                    hp = self.hc("milestones", a.idx, pi)
                    delay = round(r.gauss(30 * (0.6 - hp), 5))
                    missed = r.random() < (0.55 if hp < 0.35 else 0.2 if hp < 0.5 else 0.03)
                done = None if missed else planned + dt.timedelta(days=max(delay, -10))
                if done is not None and churned_at is not None and done >= churned_at:
                    done = None
                self.milestones.append(Milestone("", a.idx, name, seq, planned, done, a.csm, visible))
        for k, m in enumerate(self.milestones):
            m.milestone_id = f"ms_{k + 1:07d}"

    def _coverage_end(self, a: int) -> dt.date | None:
        ends = [s.end for s in self.platform_subs[a]]
        return max(ends) if ends and max(ends) <= self.end else None

    # -- who is a customer on which day ----------------------------------------------------------
    def _activity_matrix(self):
        n, n_days = self.p.accounts, self.days
        self.active = np.zeros((n, n_days), dtype=bool)
        self.seats = np.zeros((n, n_days), dtype=np.int64)
        for s in self.subs:
            if s.product != "platform":
                continue
            lo, hi = max(self.di(s.start), 0), min(self.di(s.end), n_days)
            if lo < hi:
                self.active[s.account, lo:hi] = True
                self.seats[s.account, lo:hi] = s.seats
        for s in self.subs:  # seat packs (non-default worlds) add to the platform's seats
            lo, hi = max(self.di(s.start), 0), min(self.di(s.end), n_days)
            if s.product == "seat_pack" and lo < hi:
                self.seats[s.account, lo:hi] += s.seats * self.active[s.account, lo:hi]
        self.Hw = self.H[:, PRE:PRE + n_days]  # health over the window
        # each channel over the window: the same array as Hw where the channel is the latent health
        self.Cw = {c: self.Hw if m is self.H else m[:, PRE:PRE + n_days] for c, m in self.C.items()}

    # -- snapshot rows -------------------------------------------------------------------------
    def snapshot(self, d: dt.date) -> dict[str, list[dict]]:
        def ts(day: dt.date, hour: int = 9) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(hour))

        accounts = []
        for a in self.accounts:
            if a.created <= d:
                at = a.attrs(d)
                accounts.append({"account_id": a.account_id, "account_name": a.name, "industry": a.industry,
                                 "tier": at["tier"], "region": a.region, "plan": at["plan"],
                                 "csm_owner_id": at["csm_owner_id"], "created_at": ts(a.created, 8 + a.idx % 9),
                                 "website": a.domain})
        owners = [{k: v for k, v in o.items() if k != "_since"} for o in self.owners if o["_since"] <= d]
        contacts = [{"contact_id": c.contact_id, "account_id": self.accounts[c.account].account_id,
                     "email": c.email, "full_name": c.full_name, "role": c.role,
                     "created_at": ts(c.created, 10)}
                    for c in self.contacts if c.created <= d and (c.removed is None or d < c.removed)]
        subs = [{"subscription_id": s.subscription_id, "account_id": self.accounts[s.account].account_id,
                 "product": s.product, "start_date": s.start, "end_date": s.end, "mrr": f"{s.mrr:.2f}",
                 "currency": s.currency, "seats": s.seats, "status": s.status(d)}
                for s in self.subs if s.booked <= d]
        miles = [{"milestone_id": m.milestone_id, "account_id": self.accounts[m.account].account_id,
                  "milestone_name": m.name, "sequence": m.sequence, "planned_date": m.planned,
                  "completed_date": m.completed if m.completed is not None and m.completed <= d else None,
                  "owner_id": m.owner_id}
                 for m in self.milestones if m.visible_from <= d]
        surveys = [dict(zip(("survey_id", "metric", "question", "scale_min", "scale_max", "higher_is_better",
                             "trigger", "channel", "owner_team"), s, strict=True))
                   | {"index_item": cf.ACSI_ITEMS.get(s[0])} for s in cf.SURVEYS]
        features = [{"feature_key": f[0], "event_name": f[1], "feature_name": f[2], "is_core": f[3]}
                    for f in cf.FEATURES]
        return {"crm/accounts": accounts, "crm/owners": owners, "crm/contacts": contacts,
                "crm/subscriptions": subs, "crm/milestones": miles, "survey/surveys": surveys,
                "product/features": features}
