"""The back-test of a finished account_health table, in pandas and scikit-learn: the reference the
SQL back-test (marts.health_score_evidence) is checked against (tests/test_health_e2e.py,
tests/test_health_model.py). Not used by the pipeline.

Measures, for all accounts and by tier: AUC and PR-AUC for churn 30-60 days ahead, the red
band's churn rate as a multiple of the base rate, the lift of the riskiest decile, the share of
churned accounts below green 60-90 days before churning, the share of accounts green, and the
median lead time from the first red score to churn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def _lift_top_decile(y: np.ndarray, risk: np.ndarray) -> float | None:
    if len(y) < 10 or y.mean() == 0:
        return None
    cut = np.quantile(risk, 0.9)
    top = risk >= cut
    return float(y[top].mean() / y.mean())


def _two_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def _f(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


EVIDENCE_COLUMNS = ["measure", "segment_type", "segment_value", "value", "goal", "meets_goal", "sample_size"]


def churn_events(renewals: pd.DataFrame) -> pd.DataFrame:
    """account_id, churn_date for every resolved renewal that churned."""
    churned = renewals[renewals["churned"].fillna(False).astype(bool)]
    out = churned[["account_id", "renewal_date"]].rename(columns={"renewal_date": "churn_date"})
    out["churn_date"] = pd.to_datetime(out["churn_date"])
    return out.reset_index(drop=True)


def label_ahead(health: pd.DataFrame, churns: pd.DataFrame, latest_date, horizon: Sequence[int]) -> pd.DataFrame:
    """Score days whose outcome `horizon` days ahead is known, labelled 1 when the account churns
    between d + horizon[0] and d + horizon[1]; days with a churn sooner than horizon[0] are left out."""
    lo, hi = horizon
    h = health.dropna(subset=["health_score"]).copy()
    h["as_of_date"] = pd.to_datetime(h["as_of_date"])
    h = h[h["as_of_date"] + pd.Timedelta(days=hi) <= pd.Timestamp(latest_date)]
    if h.empty:
        return h.assign(label=pd.Series(dtype=int))
    m = h[["account_id", "as_of_date"]].merge(churns, on="account_id", how="left")
    delta = (m["churn_date"] - m["as_of_date"]).dt.days
    m["hit"] = delta.between(lo, hi)
    m["soon"] = delta.between(0, lo - 1)
    flags = m.groupby(["account_id", "as_of_date"], as_index=False)[["hit", "soon"]].any()
    h = h.merge(flags, on=["account_id", "as_of_date"], how="left")
    h = h[~h["soon"].fillna(False).astype(bool)]
    return h.assign(label=h["hit"].fillna(False).astype(int)).drop(columns=["hit", "soon"])


def _segment(df: pd.DataFrame, segment_type: str, segment_value: str, column: str = "tier") -> pd.DataFrame:
    return df if segment_type == "all" else df[df[column] == segment_value]


def _ranking_scores(y: np.ndarray, risk: np.ndarray) -> tuple[float, float]:
    """ROC AUC and PR AUC of `risk` against labels y (both classes present). scikit-learn is
    imported here, where it is used: without two classes there is nothing to import it for."""
    from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: PLC0415 (see the imports)

    return roc_auc_score(y, risk), average_precision_score(y, risk)


def back_test(
    health: pd.DataFrame,
    renewals: pd.DataFrame,
    latest_date,
    bands: Mapping[str, float],
    evidence_cfg: Mapping,
) -> pd.DataFrame:
    """The evidence table (EVIDENCE_COLUMNS) for all accounts and per tier."""
    goals = evidence_cfg.get("goals", {})
    churns = churn_events(renewals)
    labelled = label_ahead(health, churns, latest_date, evidence_cfg.get("horizon_days", (30, 60)))
    h = health.dropna(subset=["health_score"]).copy()
    h["as_of_date"] = pd.to_datetime(h["as_of_date"])
    rows: list[dict] = []

    def add(measure, segment_type, segment_value, value, n, goal=None, higher_is_better=True):
        value = _f(value)
        meets = None
        if goal is not None and value is not None:
            meets = value >= goal if higher_is_better else value <= goal
        rows.append(dict(measure=measure, segment_type=segment_type, segment_value=segment_value,
                         value=value, goal=_f(goal), meets_goal=meets, sample_size=int(n)))

    # churn events with the account's tier on its last score before churning
    events = churns.merge(h[["account_id", "as_of_date", "health_score", "health_band", "tier"]], on="account_id")
    before = events[events["as_of_date"] <= events["churn_date"]]
    last_tier = (
        before.sort_values("as_of_date").groupby(["account_id", "churn_date"], as_index=False).last()[
            ["account_id", "churn_date", "tier"]
        ]
    )
    latest_scores = h[h["as_of_date"] == h["as_of_date"].max()]

    segments = [("all", "all")] + [("tier", t) for t in sorted(h["tier"].dropna().unique())]
    g_lo, g_hi = evidence_cfg.get("below_green_days", (60, 90))
    lookback = evidence_cfg.get("first_red_lookback_days", 180)
    for seg_type, seg_value in segments:
        lab = _segment(labelled, seg_type, seg_value)
        y = lab["label"].to_numpy() if len(lab) else np.array([])
        risk = -lab["health_score"].to_numpy() if len(lab) else np.array([])
        ok = len(y) > 0 and _two_classes(y)
        auc, pr_auc = _ranking_scores(y, risk) if ok else (None, None)
        add("auc_churn_30_60d", seg_type, seg_value, auc, len(y), goals.get("auc"))
        add("pr_auc_churn_30_60d", seg_type, seg_value, pr_auc, len(y))
        base_rate = y.mean() if len(y) else None
        red = lab[lab["health_band"] == "red"]["label"] if len(lab) else pd.Series(dtype=int)
        red_rate = red.mean() if len(red) else None
        add("base_churn_rate_30_60d", seg_type, seg_value, base_rate, len(y))
        add("red_churn_rate_30_60d", seg_type, seg_value, red_rate, len(red))
        multiple = red_rate / base_rate if red_rate is not None and base_rate else None
        add("red_churn_multiple", seg_type, seg_value, multiple, len(red), goals.get("red_churn_multiple"))
        add("lift_top_decile_30_60d", seg_type, seg_value, _lift_top_decile(y, risk) if ok else None, len(y))

        ev = before.merge(last_tier, on=["account_id", "churn_date"], suffixes=("", "_at_churn"))
        ev = ev if seg_type == "all" else ev[ev["tier_at_churn"] == seg_value]
        days = (ev["churn_date"] - ev["as_of_date"]).dt.days
        window = ev[days.between(g_lo, g_hi)]
        per_event = window.groupby(["account_id", "churn_date"])["health_score"].mean()
        below = (per_event < bands["green"]).mean() if len(per_event) else None
        add("churned_below_green_60_90d_share", seg_type, seg_value, below, len(per_event),
            goals.get("churned_below_green_share"))

        reds = ev[(ev["health_band"] == "red") & days.between(0, lookback)]
        first_red = reds.groupby(["account_id", "churn_date"])["as_of_date"].min().reset_index()
        leads = (first_red["churn_date"] - first_red["as_of_date"]).dt.days
        add("median_lead_days_first_red_to_churn", seg_type, seg_value,
            leads.median() if len(leads) else None, len(leads))
        n_events = ev[["account_id", "churn_date"]].drop_duplicates().shape[0]
        add("churn_events_scored", seg_type, seg_value, n_events, n_events)

        latest = _segment(latest_scores, seg_type, seg_value)
        green = (latest["health_band"] == "green").mean() if len(latest) else None
        add("green_share", seg_type, seg_value, green, len(latest), goals.get("green_share_max"), higher_is_better=False)

    out = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    out["value"] = out["value"].astype("float64")
    out["goal"] = out["goal"].astype("float64")
    out["meets_goal"] = out["meets_goal"].astype("boolean")
    out["sample_size"] = out["sample_size"].astype("int64")
    return out
