"""The headline marts in pandas, from the raw Parquet (same definitions as bench/floor.py).

    python bench/pandas_impl.py --raw <data>/raw --out <dir>

Writes <out>/h1_survey_monthly.parquet, h2_mrr_monthly, h3_usage_daily, h4_service_monthly.
Staging rule: per key the version from the latest extract wins, then the greatest updated_at
(tickets; nulls lowest), then the last file and the last record in it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
RATES = ROOT / "dbt_project" / "seeds" / "currency_rates.csv"
REPORTING_CURRENCY = "USD"
LINEAGE = ["_extract_date", "_source_file", "_row_number"]


def read(raw: Path, source: str, entity: str, cols: list[str]) -> pd.DataFrame:
    files = sorted((raw / source / entity).glob("*/*.parquet"))
    tables = [pq.read_table(f, columns=cols + LINEAGE) for f in files]
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def latest(df: pd.DataFrame, key: str, updated_at: bool = False, snapshot: bool = False) -> pd.DataFrame:
    df = df[df[key].notna()]
    order = ["_extract_date"] + (["updated_at"] if updated_at else []) + ["_source_file", "_row_number"]
    out = df.sort_values([key, *order], na_position="first", kind="stable").drop_duplicates(key, keep="last")
    if snapshot:
        out = out.assign(is_current=out["_extract_date"] == df["_extract_date"].max())
    return out


def month(s: pd.Series) -> pd.Series:
    return s.values.astype("datetime64[M]").astype("datetime64[s]")


def day(s: pd.Series) -> pd.Series:
    return s.dt.floor("D")


def usage_daily(events: pd.DataFrame) -> pd.DataFrame:
    e = events.assign(activity_date=day(events["occurred_at"]).dt.date)
    g = e.groupby(["account_id", "activity_date"], dropna=False, sort=False)
    return g.agg(event_count=("event_id", "size"), active_users=("user_id", "nunique")).reset_index()


def survey_monthly(responses: pd.DataFrame, surveys: pd.DataFrame) -> pd.DataFrame:
    r = responses.merge(surveys[["survey_id", "metric", "scale_min", "scale_max", "higher_is_better"]], on="survey_id")
    r = r[(r["score"] >= r["scale_min"]) & (r["score"] <= r["scale_max"])]
    r = r.assign(period_start=month(r["responded_at"]))
    out = []
    c = r[r["metric"] == "csat"]
    out.append(c.assign(v=(c["score"] >= c["scale_max"] - 1) * 100.0).assign(metric="csat_pct"))
    n = r[r["metric"] == "nps"]
    out.append(n.assign(v=np.select([n["score"] >= 9, n["score"] >= 7], [100.0, 0.0], -100.0), metric="nps"))
    e = r[r["metric"] == "ces"]
    hib = e["higher_is_better"].fillna(False).astype(bool)
    out.append(e.assign(v=np.where(hib, e["scale_min"] + e["scale_max"] - e["score"], e["score"]).astype(float),
                        metric="ces_avg"))
    allr = pd.concat(out)
    agg = allr.groupby(["metric", "period_start"]).agg(value=("v", "mean"), sample_size=("v", "size")).reset_index()
    return agg


def service_monthly(tickets: pd.DataFrame, comments: pd.DataFrame) -> pd.DataFrame:
    pac = comments[(comments["author_type"] == "agent") & (comments["is_public"].fillna(False).astype(bool))]
    first_pac = pac.groupby("ticket_id")["created_at"].min().rename("first_at")
    j = tickets[["ticket_id", "solved_at"]].merge(pac[["ticket_id", "created_at"]], on="ticket_id")
    before = j[j["created_at"] <= j["solved_at"]].groupby("ticket_id").size().rename("n_before_solve")
    t = tickets.join(first_pac, on="ticket_id").join(before, on="ticket_id")
    t["n_before_solve"] = t["n_before_solve"].fillna(0)
    t["first_responded_at"] = t["first_response_at"].fillna(t["first_at"])
    out = []
    tc = t.assign(period_start=month(t["created_at"])).groupby("period_start").size().rename("sample_size").reset_index()
    out.append(tc.assign(metric="ticket_count", value=tc["sample_size"].astype(float)))
    r = t[t["first_responded_at"].notna()]
    secs = (r["first_responded_at"].dt.floor("s") - r["created_at"].dt.floor("s")).dt.total_seconds()
    fr = r.assign(v=secs / 60.0, period_start=month(r["created_at"]))
    out.append(fr.groupby("period_start").agg(value=("v", "median"), sample_size=("v", "size")).reset_index()
               .assign(metric="frt_median_minutes"))
    s = t[t["solved_at"].notna()]
    fcr = ((s["n_before_solve"] == 1) & (s["reopen_count"].fillna(0) == 0)) * 100.0
    s = s.assign(v=fcr, period_start=month(s["solved_at"]))
    out.append(s.groupby("period_start").agg(value=("v", "mean"), sample_size=("v", "size")).reset_index()
               .assign(metric="fcr_pct"))
    return pd.concat(out)[["metric", "period_start", "value", "sample_size"]]


def calendar_bounds(raw: Path, frames: dict[str, tuple[pd.DataFrame, str]]) -> tuple[pd.Timestamp, pd.Timestamp]:
    firsts, lasts = [], []
    for df, col in frames.values():
        d = day(pd.to_datetime(df[col]))
        ext = pd.to_datetime(df["_extract_date"])
        if len(df):
            firsts.append(d.min())
            lasts.append(np.maximum(d.fillna(ext), ext).max() if col != "start_date" else ext.max())
    return min(firsts), max(lasts)


def mrr_monthly(subs: pd.DataFrame, first_day: pd.Timestamp, last_day: pd.Timestamp) -> pd.DataFrame:
    rates = pd.read_csv(RATES)
    rates = rates[rates["reporting_currency"] == REPORTING_CURRENCY]
    s = subs[subs["is_current"]].assign(cur=subs["currency"].str.upper())
    s = s.merge(rates.rename(columns={"currency": "cur"}), on="cur")
    s = s.assign(mrr=s["mrr"] * s["rate_to_reporting"], start_date=pd.to_datetime(s["start_date"]),
                 end_date=pd.to_datetime(s["end_date"]))
    starts = pd.date_range(first_day.to_period("M").start_time, last_day, freq="MS")
    months = pd.DataFrame({"period_start": starts})
    months["period_end"] = np.minimum(months["period_start"] + pd.offsets.MonthEnd(0), last_day)
    months["prev_end"] = months["period_start"] - pd.Timedelta(days=1)
    dates = pd.DataFrame({"d": pd.concat([months["period_end"], months["prev_end"]]).drop_duplicates()})
    x = s[["account_id", "start_date", "end_date", "mrr"]].merge(dates, how="cross")
    x = x[(x["start_date"] <= x["d"]) & (x["end_date"].isna() | (x["d"] < x["end_date"]))]
    mrr_at = x.groupby(["account_id", "d"])["mrr"].sum()
    accounts = s.groupby("account_id")["start_date"].min().rename("first_start").reset_index()
    ap = months.merge(accounts, how="cross")
    ap = ap[ap["first_start"] <= ap["period_end"]]
    ap["start_mrr"] = ap.join(mrr_at.rename("m"), on=["account_id", "prev_end"])["m"].fillna(0.0).values
    ap["end_mrr"] = ap.join(mrr_at.rename("m"), on=["account_id", "period_end"])["m"].fillna(0.0).values
    ap["is_new_account"] = (ap["first_start"] >= ap["period_start"]) & (ap["first_start"] <= ap["period_end"])
    ap = ap.sort_values(["account_id", "period_start"])
    pos = (ap["end_mrr"] > 0).astype(int)
    ap["had_before"] = pos.groupby(ap["account_id"]).transform(lambda v: v.cummax().shift(1, fill_value=0)) == 1
    st, en, hb = ap["start_mrr"], ap["end_mrr"], ap["had_before"]
    ap["new_mrr"] = np.where((st == 0) & (en > 0) & ~hb, en, 0.0)
    ap["expansion_mrr"] = np.where((st > 0) & (en > st), en - st, 0.0)
    ap["contraction_mrr"] = np.where((st > 0) & (en > 0) & (en < st), st - en, 0.0)
    ap["churned_mrr"] = np.where((st > 0) & (en == 0), st, 0.0)
    ap["reactivation_mrr"] = np.where((st == 0) & (en > 0) & hb, en, 0.0)
    ap["movement_type"] = np.select(
        [(st == 0) & (en == 0), (st == 0) & (ap["reactivation_mrr"] > 0), st == 0, en == 0, en > st, en < st],
        ["none", "reactivation", "new", "churn", "expansion", "contraction"], "flat")
    mv = ["new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"]
    keep = (st > 0) | (en > 0) | ap["is_new_account"] | (ap[mv] != 0).any(axis=1)
    ap = ap[keep].rename(columns={"period_start": "month_start"})
    return ap[["account_id", "month_start", "start_mrr", "end_mrr", *mv, "movement_type"]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    raw, out = args.raw.resolve(), args.out
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()

    def step(label, fn):
        t0 = time.perf_counter()
        r = fn()
        print(f"[pandas] {label:<18} {time.perf_counter() - t0:7.2f} s", flush=True)
        return r

    events = step("stg events", lambda: latest(read(raw, "product", "events", ["event_id", "account_id", "user_id", "occurred_at"]), "event_id"))
    responses = step("stg responses", lambda: latest(read(raw, "survey", "responses", ["response_id", "survey_id", "score", "responded_at"]), "response_id"))
    surveys = step("stg surveys", lambda: latest(read(raw, "survey", "surveys", ["survey_id", "metric", "scale_min", "scale_max", "higher_is_better"]), "survey_id", snapshot=True))
    tickets = step("stg tickets", lambda: latest(read(raw, "helpdesk", "tickets", ["ticket_id", "created_at", "first_response_at", "solved_at", "reopen_count", "updated_at"]), "ticket_id", updated_at=True))
    comments = step("stg comments", lambda: latest(read(raw, "helpdesk", "ticket_comments", ["comment_id", "ticket_id", "author_type", "created_at", "is_public"]), "comment_id"))
    subs = step("stg subscriptions", lambda: latest(read(raw, "crm", "subscriptions", ["subscription_id", "account_id", "start_date", "end_date", "mrr", "currency"]), "subscription_id", snapshot=True))

    step("h3 usage", lambda: usage_daily(events).to_parquet(out / "h3_usage_daily.parquet", index=False))
    step("h1 survey", lambda: survey_monthly(responses, surveys).to_parquet(out / "h1_survey_monthly.parquet", index=False))
    step("h4 service", lambda: service_monthly(tickets, comments).to_parquet(out / "h4_service_monthly.parquet", index=False))

    def cal():
        frames = {
            "responses": (responses, "responded_at"), "tickets": (tickets, "created_at"),
            "events": (events, "occurred_at"), "subscriptions": (subs, "start_date"),
            "invitations": (read(raw, "survey", "invitations", ["sent_at"]), "sent_at"),
            "calls": (read(raw, "helpdesk", "calls", ["offered_at"]), "offered_at"),
            "reviews": (read(raw, "reviews", "reviews", ["reviewed_at"]), "reviewed_at"),
            "milestones": (read(raw, "crm", "milestones", ["planned_date"]), "start_date_like"),
        }
        m = frames["milestones"][0]
        frames["milestones"] = (m.rename(columns={"planned_date": "start_date"}), "start_date")
        return calendar_bounds(raw, frames)

    first_day, last_day = step("calendar", cal)
    step("h2 mrr", lambda: mrr_monthly(subs, first_day, last_day).to_parquet(out / "h2_mrr_monthly.parquet", index=False))
    print(f"[pandas] total {time.perf_counter() - t_all:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
