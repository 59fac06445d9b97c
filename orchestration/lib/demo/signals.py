"""Delta feeds other than events: tickets and their comments, calls, survey invitations and
responses, CSM activities, follow-up tasks and reviews.

Each record is simulated whole when it starts (a ticket's lifecycle, a survey's response, a
task's completion) and its rows are scheduled into the extract of the day they change; the
core loop writes each day's rows. Volumes are small next to events, so plain Python is fine;
per-account daily counts are drawn with NumPy.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np

from . import config as cf
from . import text
from .world import Account, World

CHANNELS = (("email", 0.4), ("chat", 0.25), ("web", 0.25), ("phone", 0.1))
FRT_MEDIAN_S = {"chat": 40, "phone": 12, "email": 2700, "web": 3000}
FRT_TARGET_S = {"chat": 60, "phone": 20, "email": 3600, "web": 3600}
RESOLUTION_MEDIAN_H = {"urgent": 4, "high": 10, "normal": 24, "low": 48}
ACTIVITY_RATE = {  # per account per business day: email, call, meeting
    "enterprise": (0.5, 0.2, 0.15), "mid_market": (0.2, 0.08, 0.05), "smb": (0.06, 0.02, 0.01)}
ACTIVITY_KINDS = ("email", "call", "meeting")
RELEASE_ANCHOR = dt.date(2024, 1, 9)
CSAT_SHIFT = {"srv_csat_ticket_email": 0.18, "srv_csat_ticket_chat": 0.25, "srv_csat_release": 0.12}


def _pick(r: random.Random, pairs):
    x, acc = r.random() * sum(w for _, w in pairs), 0.0
    for v, w in pairs:
        acc += w
        if x < acc:
            return v
    return pairs[-1][0]


class Signals:
    def __init__(self, w: World, seed: int):
        self.w = w
        self.r = random.Random(f"{seed}-signals")
        self.g = np.random.default_rng([seed, 3])
        self.pending: dict[int, dict[str, list[dict]]] = {}
        self.today = 0
        self.ids: dict[str, int] = {}
        n = w.p.accounts
        self.qbr_offset = self.g.integers(0, 80, n)
        self.exec_offset = self.g.integers(0, 60, n)
        self.sizes = np.array([a.seats0 for a in w.accounts], dtype=float)
        self.act_rates = np.array([ACTIVITY_RATE[a.tier] for a in w.accounts])
        self.tier_code = np.array([("enterprise", "mid_market", "smb").index(a.tier) for a in w.accounts])
        self.nps_followed: dict[str, bool] = {}  # contact -> last detractor was followed up in 48 h
        # the ACSI waves draw from their own stream: the other feeds stay as they were without them
        self.acsi_r = random.Random(f"{seed}-acsi")
        self.onboarding_done: dict[int, list] = {}
        for m in w.milestones:
            if m.completed is not None and m.name in dict(cf.MILESTONES_ONBOARDING):
                self.onboarding_done.setdefault(w.di(m.completed) + 1, []).append(m)

    # -- plumbing ------------------------------------------------------------------------------
    def nid(self, prefix: str, width: int = 7) -> str:
        k = self.ids.get(prefix, 0) + 1
        self.ids[prefix] = k
        return f"{prefix}_{k:0{width}d}"

    def put(self, key: str, when: dt.datetime | dt.date | int, row: dict):
        i = when if isinstance(when, int) else self.w.di(when.date() if isinstance(when, dt.datetime) else when)
        if i < self.today:
            raise AssertionError(f"{key} row scheduled into a written extract: {row}")
        if i < self.w.days:
            self.pending.setdefault(i, {}).setdefault(key, []).append(row)

    def take(self, i: int) -> dict[str, list[dict]]:
        return self.pending.pop(i, {})

    def biz_time(self, d: dt.date, region: str, lo: float = 8.0, hi: float = 18.5) -> dt.datetime:
        """A time on UTC day d in the region's business hours (wrapped into the same UTC day)."""
        utc_h = (self.r.uniform(lo, hi) - cf.REGION_UTC_OFFSET[region]) % 24
        return dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=int(utc_h * 3600))

    def tz(self, a: Account | None) -> int | None:
        return cf.REGION_TZ_LABEL[a.region] if a is not None and self.r.random() < 0.07 else None

    def sentiment(self, a: Account, i: int) -> float:
        return self.w.hc("sentiment", a.idx, i) + a.sentiment_offset + self.r.gauss(0, self.w.lp.sentiment_noise)

    # -- one day -------------------------------------------------------------------------------
    def day(self, i: int):
        self.today = i
        w = self.w
        d = w.date(i)
        act = np.nonzero(w.active[:, i])[0]
        h = w.Cw["support"][act, i]
        weekend = d.weekday() >= 5
        g = self.g
        # tickets
        rate = 0.012 * self.sizes[act] ** 0.5 * (1 + 1.2 * (1 - h)) * (0.35 if weekend else 1.0)
        for a_idx, c in zip(act, g.poisson(rate), strict=True):
            for _ in range(int(c)):
                self.ticket(w.accounts[a_idx], i)
        # calls, some from unknown numbers
        rate = 0.02 * self.sizes[act] ** 0.4 * (1 + (1 - h)) * (0.2 if weekend else 1.0)
        for a_idx, c in zip(act, g.poisson(rate), strict=True):
            for _ in range(int(c)):
                self.call(w.accounts[a_idx], d)
        for _ in range(int(g.poisson(0.004 * w.p.accounts * (0.2 if weekend else 1.0)))):
            self.call(None, d)
        self.activities(i, act, w.Cw["engagement"][act, i], weekend)
        self.surveys(i, act)
        # reviews
        for _ in range(int(g.poisson(0.0012 * max(len(act), 1)))):
            self.review(i, act)

    # -- helpdesk ------------------------------------------------------------------------------
    def ticket(self, a: Account, i: int):
        r, w = self.r, self.w
        d = w.date(i)
        h = w.hc("support", a.idx, i)
        created = self.biz_time(d, a.region, 6, 21) if r.random() < 0.9 else \
            dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=r.randrange(86400))
        contacts = w.contacts_on(a.idx, d)
        requester = r.choice(contacts).contact_id if contacts else None
        channel = _pick(r, CHANNELS)
        priority = _pick(r, (("low", 0.2), ("normal", 0.55), ("high", 0.18 + 0.1 * (1 - h)),
                             ("urgent", 0.04 + 0.06 * (1 - h))))
        escalated = r.random() < 0.04 + 0.3 * (1 - h) ** 2
        tid = self.nid("tkt")
        agent = r.choice(w.agents)
        tz = self.tz(a)
        base = {"ticket_id": tid, "account_id": a.account_id, "requester_contact_id": requester, "channel": channel,
                "category": _pick(r, cf.TICKET_CATEGORIES), "priority": priority, "created_at": created,
                "assignee_id": None, "reopen_count": 0, "escalated": False, "first_response_at": None,
                "solved_at": None, "subject": r.choice(text.PROBLEMS).split("\n")[0][:60], "_tz": tz}
        changes: list[tuple[dt.datetime, int, dict]] = []
        comments: list[tuple[dt.datetime, str, bool, str]] = []

        def version(t, **change):
            changes.append((t, len(changes), change))

        version(created, status="new")
        comments.append((created, "customer", True, text.with_pii(r, r.choice(text.PROBLEMS), 0.1)))
        t_fr = created + dt.timedelta(seconds=max(3, int(FRT_MEDIAN_S[channel] * math.exp(r.gauss(0, 0.9)))))
        hide_fr = r.random() < 0.08
        fcr = not escalated and r.random() < 0.8 - 0.3 * (1 - h)
        unresolved = r.random() < 0.02 + 0.1 * (1 - h) + (0.08 if escalated else 0)
        res_h = RESOLUTION_MEDIAN_H[priority] * (2.5 if escalated else 1) * (1 + (1 - h)) * math.exp(r.gauss(0, 0.8))
        if fcr:
            t_solve = t_fr + dt.timedelta(minutes=r.randint(1, 90))
        else:
            t_solve = max(t_fr + dt.timedelta(hours=1), created + dt.timedelta(hours=res_h))
        if unresolved:
            t_solve = created + dt.timedelta(days=r.uniform(25, 90))
        version(t_fr, status="open", assignee_id=agent, first_response_at=None if hide_fr else t_fr)
        comments.append((t_fr, "agent", True, text.with_pii(r, r.choice(text.AGENT_REPLIES), 0.02)))
        if not fcr:  # back-and-forth before the solve
            n_more = r.randint(1, 3)
            span = (t_solve - t_fr).total_seconds()
            for k in range(n_more):
                tc = t_fr + dt.timedelta(seconds=span * (k + 0.3) / (n_more + 0.5))
                ta = tc + dt.timedelta(seconds=span * 0.4 / (n_more + 0.5))
                comments.append((tc, "customer", True, r.choice(text.NEUTRAL)))
                version(tc, status="open")
                comments.append((ta, "agent", True, r.choice(text.AGENT_REPLIES)))
                version(ta, status="pending")
            if r.random() < 0.4:
                comments.append((t_fr + dt.timedelta(seconds=span * 0.2), "agent", False, r.choice(text.PRIVATE_NOTES)))
        if escalated:
            te = t_fr + (t_solve - t_fr) * r.uniform(0.1, 0.5)
            comments.append((te, "system", False, "Ticket escalated to tier 2"))
            version(te, status="open", escalated=True,
                    priority="urgent" if priority == "high" else "high" if priority != "urgent" else priority)
            if r.random() < 0.6:
                self.task(a, te + dt.timedelta(hours=r.uniform(1, 6)), "ticket", tid, due_h=72)
        version(t_solve, status="solved", solved_at=t_solve)
        if r.random() < 0.3:
            comments.append((t_solve, "system", False, "Status changed to solved"))
        last_solve = t_solve
        if not unresolved and r.random() < 0.05 + 0.12 * (1 - h):
            t_ro = t_solve + dt.timedelta(hours=r.uniform(3, 72))
            comments.append((t_ro, "customer", True, 'Still broken, "fixed" was premature.'))
            version(t_ro, status="open", solved_at=None, reopen_count=1)
            t_a = t_ro + dt.timedelta(hours=r.uniform(0.5, 8))
            comments.append((t_a, "agent", True, r.choice(text.AGENT_REPLIES)))
            last_solve = t_a + dt.timedelta(minutes=r.randint(5, 600))
            version(last_solve, status="solved", solved_at=last_solve)
        version(last_solve + dt.timedelta(days=4), status="closed")
        versions = []
        for t, _, change in sorted(changes, key=lambda c: (c[0], c[1])):
            base.update(change)
            versions.append({**base, "updated_at": t})
        # rows by extract day: the day's last version (now and then two versions of one day)
        by_day: dict[int, list[dict]] = {}
        for v in versions:
            by_day.setdefault(w.di(v["updated_at"].date()), []).append(v)
        late = r.random() < 0.012
        first_day = min(by_day)
        if late:
            shift = first_day + r.randint(1, 3)
            merged = [v for k in sorted(by_day) if k <= shift for v in by_day.pop(k)]
            by_day[shift] = merged
        for n, k in enumerate(sorted(by_day)):
            vs = by_day[k]
            out = vs[-2:] if len(vs) > 1 and r.random() < 0.05 else vs[-1:]
            for v in out:
                row = dict(v)
                if n == 0 and late:
                    row["_late"] = d
                if n > 0:
                    row["_resent"] = True
                self.put("helpdesk/tickets", k, row)
        for t, author, public, body in sorted(comments, key=lambda c: c[0]):
            self.put("helpdesk/ticket_comments", t, {
                "comment_id": self.nid("cmt", 8), "ticket_id": tid, "author_type": author, "created_at": t,
                "is_public": public, "body": body, "_tz": tz})
        # CSAT after the first solve
        if not unresolved:
            chat = channel == "chat"
            s = self.sentiment(a, w.di(t_solve.date())) - 0.15 * escalated - 0.08 * (res_h > 48) \
                - 0.05 * (not hide_fr and (t_fr - created).total_seconds() > FRT_TARGET_S[channel])
            reopened = last_solve != t_solve
            self.invite("srv_csat_ticket_chat" if chat else "srv_csat_ticket_email", a, requester,
                        t_solve + dt.timedelta(minutes=r.randint(10, 120)), "ticket", tid, 0.3, s - 0.1 * reopened,
                        delay_h=3.0)

    def call(self, a: Account | None, d: dt.date):
        r = self.r
        offered = self.biz_time(d, a.region if a else "na", 7.5, 19)
        wait = max(1, int(12 * math.exp(r.gauss(0, 0.9))))
        patience = max(2, int(r.expovariate(1 / 90)))
        if wait > patience:
            answered, ended, abandoned = None, offered + dt.timedelta(seconds=patience), True
        else:
            answered = offered + dt.timedelta(seconds=wait)
            ended, abandoned = answered + dt.timedelta(seconds=int(360 * math.exp(r.gauss(0, 0.7)))), False
        self.put("helpdesk/calls", d, {
            "call_id": self.nid("call"), "account_id": a.account_id if a else None,
            "queue": _pick(r, cf.CALL_QUEUES), "offered_at": offered, "answered_at": answered, "ended_at": ended,
            "abandoned": abandoned, "duration_seconds": int((ended - offered).total_seconds()), "_tz": self.tz(a)})

    # -- crm -----------------------------------------------------------------------------------
    def activities(self, i: int, act: np.ndarray, h: np.ndarray, weekend: bool):
        w, r, g = self.w, self.r, self.g
        d = w.date(i)
        qday = (d - cf.quarter_start(d)).days
        wf = 0.06 if weekend else 1.0
        counts = g.poisson(self.act_rates[act] * (0.3 + h)[:, None] * wf)
        tier = self.tier_code[act]
        qoff = self.qbr_offset[act]
        qbr_day = (tier < 2) & (not weekend) & ((qoff == qday) | ((qoff == qday - 1) & (d.weekday() == 0)))
        exec_day = (tier == 0) & (not weekend) & ((i + self.exec_offset[act]) % 60 == 0)
        gen_task = g.random(len(act)) < (0.002 if weekend else 0.012)
        for k in np.nonzero(counts.any(axis=1) | qbr_day | exec_day | gen_task)[0]:
            a_idx, hv = act[k], h[k]
            a = w.accounts[a_idx]
            kinds = [kind for kind, c in zip(ACTIVITY_KINDS, counts[k], strict=True) for _ in range(int(c))]
            if qbr_day[k] and r.random() < (0.92 if hv > 0.55 else 0.55 if hv > 0.4 else 0.3):
                kinds.append("qbr")
            if exec_day[k] and r.random() < (0.85 if hv > 0.55 else 0.45):
                kinds.append("exec_checkin")
            if gen_task[k]:  # a generic CSM to-do
                self.task(a, self.biz_time(d, a.region), None, None, due_h=120)
            csm = a.attrs(d)["csm_owner_id"]
            for kind in kinds:
                roles = ("executive_sponsor", "champion") if kind in ("qbr", "exec_checkin") else None
                cs = w.contacts_on(a_idx, d, roles) or w.contacts_on(a_idx, d)
                row = {"activity_id": self.nid("act"), "account_id": a.account_id, "activity_type": kind,
                       "occurred_at": self.biz_time(d, a.region), "owner_id": csm,
                       "contact_id": r.choice(cs).contact_id if cs else None, "_tz": self.tz(a)}
                day = i
                if r.random() < 0.02:
                    day, row["_late"] = i + r.randint(1, 3), d
                self.put("crm/activities", day, row)

    def task(self, a: Account, created: dt.datetime, related_type: str | None, related_id: str | None,
             due_h: float, owner: str | None = None):
        r = self.r
        owner = owner or a.attrs(created.date())["csm_owner_id"]
        u = r.random()
        if u < 0.68:
            done = created + dt.timedelta(hours=r.uniform(0.3, due_h * 0.8))
        elif u < 0.88:
            done = created + dt.timedelta(hours=r.uniform(due_h * 1.1, due_h * 4))
        else:
            done = None
        row = {"task_id": self.nid("tsk"), "account_id": a.account_id, "owner_id": owner, "created_at": created,
               "completed_at": None, "related_type": related_type, "related_id": related_id, "outcome": None,
               "_tz": self.tz(a)}
        if done is not None and done.date() == created.date():
            row.update(completed_at=done, outcome=r.choice(cf.TASK_OUTCOMES_DONE))
            self.put("crm/tasks", created, row)
        else:
            self.put("crm/tasks", created, row)
            if done is not None:
                self.put("crm/tasks", done, {**row, "completed_at": done, "outcome": r.choice(cf.TASK_OUTCOMES_DONE),
                                             "_resent": True})
        return done

    # -- surveys -------------------------------------------------------------------------------
    def score(self, survey_id: str, s: float) -> int:
        _, metric, _, lo, hi, hib, *_ = cf.SURVEY_BY_ID[survey_id]
        if metric == "nps":
            return int(round(min(max(s + 0.15, 0), 1) * 10))
        if metric == "csat":
            return lo + int(round(min(max(s + CSAT_SHIFT.get(survey_id, 0.1), 0), 1) * (hi - lo)))
        effort = 1 + int(round((1 - min(max(s, 0), 1)) * 6))  # 1 = least effort
        return 8 - effort if hib else effort

    def invite(self, survey_id: str, a: Account, contact_id: str | None, sent: dt.datetime, ref_type: str | None,
               ref_id: str | None, p_resp: float, s: float, delay_h: float = 20.0, invited: bool = True):
        r = self.r
        tz = self.tz(a)
        inv_id = None
        if invited:
            inv_id = self.nid("inv", 8)
            self.put("survey/invitations", sent, {
                "invitation_id": inv_id, "survey_id": survey_id, "account_id": a.account_id,
                "contact_id": contact_id, "sent_at": sent, "trigger_ref_type": ref_type, "trigger_ref_id": ref_id,
                "_tz": tz})
            if r.random() >= p_resp:
                return
        _, metric, _, lo, hi, hib, _, channel, owner_team = cf.SURVEY_BY_ID[survey_id]
        if metric == "nps" and self.nps_followed.pop(contact_id, False):
            s += 0.1  # a detractor followed up in time tends to come back higher
        responded = sent + dt.timedelta(hours=min(delay_h * math.exp(r.gauss(0, 1.0)), 24 * 6)) if invited else sent
        score = self.score(survey_id, s)
        rid = self.nid("rsp", 8)
        row = {"response_id": rid, "invitation_id": inv_id, "survey_id": survey_id, "account_id": a.account_id,
               "contact_id": contact_id, "score": score, "responded_at": responded, "channel": channel,
               "comment": text.sentiment_text(r, s) if r.random() < 0.45 else None, "_tz": tz,
               "_scale": (lo, hi, metric)}
        day = self.w.di(responded.date())
        if r.random() < 0.025:
            row["_late"] = responded.date()
            day += r.randint(1, 3)
        self.put("survey/responses", day, row)
        # closed loop: CSM / owner-team follow-up tasks
        created = responded + dt.timedelta(hours=min(3 * math.exp(r.gauss(0, 0.8)), 20))
        if metric == "nps" and score <= 6:
            done = self.task(a, created, "survey_response", rid, due_h=44)
            if contact_id:
                self.nps_followed[contact_id] = done is not None and done - responded <= dt.timedelta(hours=48)
        elif metric == "csat" and score <= lo + 1:
            team = self.w.agents if owner_team == "support" else self.w.product_owners
            self.task(a, created, "survey_response", rid, due_h=20, owner=r.choice(team))
        elif metric == "ces" and (8 - score if hib else score) >= 5 and r.random() < 0.5:
            self.task(a, created, "survey_response", rid, due_h=44)

    def surveys(self, i: int, act: np.ndarray):
        w, r = self.w, self.r
        d = w.date(i)
        # relationship NPS: a wave over the first five business days of each quarter
        qs = cf.quarter_start(d)
        if d.weekday() < 5:
            bday = sum(1 for k in range((d - qs).days) if (qs + dt.timedelta(days=k)).weekday() < 5)
            if bday < 5:
                for a_idx in act:
                    a = w.accounts[a_idx]
                    for c in w.contacts_on(a_idx, d):
                        if c.wave_offset == bday:
                            self.invite("srv_nps_relationship", a, c.contact_id, self.biz_time(d, a.region, 8, 11),
                                        "account", a.account_id, 0.27, self.sentiment(a, i))
            elif bday < 10:
                self.acsi_wave(i, act, bday)
        # release CSAT, in app, over three days after each four-weekly release
        if (d - RELEASE_ANCHOR).days % 28 == 0:
            rel = f"rel_{d.isoformat().replace('-', '_')}"
            quality = r.gauss(0, 0.06)
            for a_idx in act:
                a = w.accounts[a_idx]
                for c in w.contacts_on(a_idx, d, ("user", "admin")):
                    if r.random() < 0.6:
                        sent = self.biz_time(d + dt.timedelta(days=r.randrange(3)), a.region)
                        self.invite("srv_csat_release", a, c.contact_id, sent, "release", rel, 0.3,
                                    self.sentiment(a, i) + quality, delay_h=3.0)
        # feature adoption CES, in app (some answered from an always-on prompt, no invitation)
        feats = [f[0] for f in cf.FEATURES]
        for a_idx in act:
            u = r.random()
            if u < 0.02:
                a = w.accounts[a_idx]
                cs = w.contacts_on(a_idx, d, ("user", "admin", "champion"))
                if cs:
                    self.invite("srv_ces_feature", a, r.choice(cs).contact_id, self.biz_time(d, a.region), "feature",
                                r.choice(feats), 0.35, self.sentiment(a, i), delay_h=1.0, invited=u < 0.017)
        # onboarding CES after a completed milestone
        for m in self.onboarding_done.get(i, []):
            a = w.accounts[m.account]
            cs = w.contacts_on(m.account, d, ("champion", "admin"))
            if cs and w.active[m.account, i]:
                self.invite("srv_ces_onboarding", a, cs[0].contact_id, self.biz_time(d, a.region, 9, 11), "milestone",
                            m.milestone_id, 0.4, self.sentiment(a, i) - 0.05 * (m.completed > m.planned))

    def acsi_wave(self, i: int, act: np.ndarray, bday: int):
        """Relationship ACSI: the week after the NPS wave, a share of each account's contacts get
        one invitation to the three index questions (each its own acsi survey); a respondent
        answers all three within minutes, now and then leaving one out."""
        w, r = self.w, self.acsi_r
        d = w.date(i)
        items = list(cf.ACSI_ITEMS)
        for a_idx in act:
            a = w.accounts[a_idx]
            for c in w.contacts_on(a_idx, d):
                if c.wave_offset != bday - 5 or r.random() >= cf.ACSI_SHARE:
                    continue
                utc_h = (r.uniform(9, 12) - cf.REGION_UTC_OFFSET[a.region]) % 24  # biz_time, on this stream
                sent = dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=int(utc_h * 3600))
                inv_id = self.nid("inv_acsi")
                self.put("survey/invitations", sent, {
                    "invitation_id": inv_id, "survey_id": items[0], "account_id": a.account_id,
                    "contact_id": c.contact_id, "sent_at": sent, "trigger_ref_type": "account",
                    "trigger_ref_id": a.account_id})
                if r.random() >= cf.ACSI_P_RESPONSE:
                    continue
                s = w.h(a.idx, i) + a.sentiment_offset + r.gauss(0, 0.13)
                answered = sent + dt.timedelta(hours=min(20 * math.exp(r.gauss(0, 1.0)), 24 * 6))
                skipped = r.choice(items) if r.random() < cf.ACSI_P_ITEM_SKIPPED else None
                for survey_id in items:
                    answered += dt.timedelta(seconds=r.randint(5, 90))
                    if survey_id == skipped:
                        continue
                    q = min(max(s + cf.ACSI_SHIFT[survey_id] + r.gauss(0, 0.06), 0), 1)
                    self.put("survey/responses", answered, {
                        "response_id": self.nid("rsp_acsi"), "invitation_id": inv_id, "survey_id": survey_id,
                        "account_id": a.account_id, "contact_id": c.contact_id, "score": 1 + int(round(q * 9)),
                        "responded_at": answered, "channel": "email", "comment": None, "_scale": (1, 10, "acsi")})

    # -- reviews -------------------------------------------------------------------------------
    def review(self, i: int, act: np.ndarray):
        w, r = self.w, self.r
        if len(act) == 0:
            return
        weights = self.sizes[act] ** 0.3
        a = w.accounts[int(act[self.g.choice(len(act), p=weights / weights.sum())])]
        s = self.sentiment(a, i) - 0.05
        platform = _pick(r, (("g2", 0.35), ("capterra", 0.25), ("trustpilot", 0.2), ("google", 0.2)))
        scale = 10 if platform in ("g2", "capterra") and r.random() < 0.2 else 5
        q = min(max(s + 0.05, 0), 1)
        rating: float = max(1, round(q * scale)) if scale == 10 else max(1, min(5, round(1 + 4 * q)))
        if platform == "g2" and scale == 5 and r.random() < 0.3:
            rating = max(1.0, min(5.0, round((1 + 4 * q) * 2) / 2))
        title, body = text.review_text(r, s)
        reviewed = self.biz_time(w.date(i), a.region, 6, 23)
        linked = r.random() < 0.55
        rid = self.nid("rev", 6)
        row = {"review_id": rid, "platform": platform, "rating": rating, "rating_scale_max": scale, "title": title,
               "body": body, "reviewed_at": reviewed, "account_id": a.account_id if linked else None}
        day = i
        if r.random() < 0.1:
            day, row["_late"] = i + r.randint(1, 3), reviewed.date()
        self.put("reviews/reviews", day, row)
        if linked and rating * 5 / scale <= 2 and r.random() < 0.7:
            self.task(a, reviewed + dt.timedelta(hours=r.uniform(2, 30)), "review", rid, due_h=72)
