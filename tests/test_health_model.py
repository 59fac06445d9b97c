"""Unit tests of orchestration/lib/models/health_model.py: the weight fit and the score's back-test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.lib.models import health_model as hm
from tests.reference_backtest import EVIDENCE_COLUMNS, back_test

DEFAULTS = {"usage": 0.25, "adoption": 0.15, "onboarding": 0.10, "sentiment": 0.20, "support": 0.15, "engagement": 0.15}


def synthetic(n_accounts: int, seed: int = 7, start: str = "2024-01-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts whose churn depends on usage and sentiment only; the other components are noise.

    Each account renews once, spread over a year; scores are weekly for the 120 days before.
    """
    rng = np.random.default_rng(seed)
    comps, renewals = [], []
    for i in range(n_accounts):
        acc = f"a{i:04d}"
        renewal = pd.Timestamp(start) + pd.Timedelta(days=int(rng.integers(120, 480)))
        health = rng.uniform(0, 1)
        churned = rng.uniform() > health  # low latent health -> churn
        for k in range(18):
            day = renewal - pd.Timedelta(days=7 * k)
            comps.append(
                {
                    "account_id": acc,
                    "as_of_date": day.date(),
                    "usage_score": float(np.clip(100 * health + rng.normal(0, 10), 0, 100)),
                    "sentiment_score": float(np.clip(100 * health + rng.normal(0, 15), 0, 100)),
                    "adoption_score": float(rng.uniform(0, 100)),
                    "onboarding_score": None if k % 3 else float(rng.uniform(0, 100)),
                    "support_score": float(rng.uniform(0, 100)),
                    "engagement_score": float(rng.uniform(0, 100)),
                }
            )
        renewals.append({"account_id": acc, "renewal_date": renewal.date(), "churned": churned})
    renewals.append({"account_id": "a0000", "renewal_date": pd.Timestamp("2030-01-01").date(), "churned": None})
    return pd.DataFrame(comps), pd.DataFrame(renewals)


def test_training_rows_keep_30_to_90_days_before_resolved_renewals():
    comps, renewals = synthetic(5)
    rows = hm.training_rows(comps, renewals, (30, 90))
    assert len(rows) and rows["days_before"].between(30, 90).all()
    assert set(rows["churned"].unique()) <= {0, 1}
    assert pd.Timestamp("2030-01-01") not in set(pd.to_datetime(rows["renewal_date"]))  # unresolved: no label


def test_training_rows_equal_a_plain_merge_row_for_row():
    """The SQL join gives what merging every account-day with every renewal of its account and
    filtering gives, in the same order (the fit sums floats in row order)."""
    comps, renewals = synthetic(60, seed=3)
    # an account with two renewals in reach, and renewals 29, 30, 90 and 91 days after a score
    day0 = comps["as_of_date"].iloc[0]
    extra = [(renewals["account_id"].iloc[1], renewals["renewal_date"].iloc[1] - pd.Timedelta(days=40), True)]
    extra += [(comps["account_id"].iloc[0], day0 + pd.Timedelta(days=d), d % 2 == 0) for d in (29, 30, 90, 91)]
    renewals = pd.concat([renewals, pd.DataFrame(extra, columns=["account_id", "renewal_date", "churned"])])
    got = hm.training_rows(comps, renewals, (30, 90))
    merged = comps.merge(renewals.dropna(subset=["churned"]), on="account_id", how="inner")
    merged["days_before"] = (pd.to_datetime(merged["renewal_date"]) - pd.to_datetime(merged["as_of_date"])).dt.days
    want = merged[merged["days_before"].between(30, 90)].reset_index(drop=True)
    want["churned"] = want["churned"].astype(bool).astype(int)
    assert len(got) == len(want) > 0
    assert {30, 90} <= set(got["days_before"]) and not {29, 91} & set(got["days_before"])
    assert list(got["account_id"]) == list(want["account_id"])
    assert list(pd.to_datetime(got["as_of_date"])) == list(pd.to_datetime(want["as_of_date"]))
    assert list(pd.to_datetime(got["renewal_date"])) == list(pd.to_datetime(want["renewal_date"]))
    for col in ["churned", "days_before", *[f"{c}_score" for c in hm.COMPONENTS]]:
        assert np.array_equal(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), equal_nan=True), col


def test_fit_recovers_the_components_that_carry_the_signal():
    comps, renewals = synthetic(400)
    rows = hm.training_rows(comps, renewals, (30, 90))
    result = hm.fit_weights(rows, DEFAULTS, min_renewals=30, validation_share=0.3)
    assert result.source == "fitted"
    assert result.n_renewals == 400
    assert sum(result.weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in result.weights.values())
    signal = result.weights["usage"] + result.weights["sentiment"]
    assert signal > 0.8, result.weights
    assert result.auc_validation is not None and result.auc_validation > 0.75
    assert result.lift_top_decile is not None and result.lift_top_decile > 1.5
    frame = result.weights_frame()
    assert list(frame.columns) == ["component", "weight", "source", "n_renewals", "auc_validation"]
    assert (frame["source"] == "fitted").all()


def test_validation_is_in_time_later_renewals_score_only():
    comps, renewals = synthetic(200)
    rows = hm.training_rows(comps, renewals, (30, 90))
    result = hm.fit_weights(rows, DEFAULTS, min_renewals=30, validation_share=0.25)
    assert result.n_train_renewals + result.n_validation_renewals == result.n_renewals
    assert result.n_validation_renewals == pytest.approx(0.25 * result.n_renewals, abs=3)
    # the held-out renewals are the latest ones
    order = rows.drop_duplicates(["account_id", "renewal_date"]).sort_values("renewal_date")
    first_val = order["renewal_date"].iloc[result.n_train_renewals]
    assert (order["renewal_date"].iloc[: result.n_train_renewals] < first_val).all()


def test_defaults_below_min_renewals_and_always_a_full_weight_table():
    comps, renewals = synthetic(10)
    rows = hm.training_rows(comps, renewals, (30, 90))
    result = hm.fit_weights(rows, DEFAULTS, min_renewals=30)
    assert result.source == "default"
    assert result.weights == pytest.approx(hm.normalize(DEFAULTS))
    assert "min_renewals_for_fit" in result.reason
    empty = hm.fit_weights(hm.training_rows(comps.iloc[0:0], renewals, (30, 90)), DEFAULTS, min_renewals=30)
    assert empty.source == "default" and empty.n_renewals == 0
    assert len(empty.weights_frame()) == 6


def test_one_outcome_only_keeps_defaults():
    comps, renewals = synthetic(60)
    renewals["churned"] = renewals["churned"].map(lambda v: None if v is None else False)
    rows = hm.training_rows(comps, renewals, (30, 90))
    assert hm.fit_weights(rows, DEFAULTS, min_renewals=30).source == "default"


def test_reference_back_test_measures_a_score_that_sees_churn_coming():
    """The pandas back-test the SQL one is checked against (tests/test_health_e2e.py) is right itself."""
    days = pd.date_range("2024-01-01", "2024-12-30", freq="7D")
    health, renewals = [], []
    for i in range(60):
        acc = f"a{i}"
        churn = pd.Timestamp("2024-09-02") if i < 12 else None
        tier = "smb" if i % 2 else "enterprise"
        for d in days:
            if churn is not None and d > churn:
                break
            bad = churn is not None and (churn - d).days <= 100
            score = 25.0 if bad else 85.0
            band = "red" if score < 40 else "green"
            health.append({"account_id": acc, "as_of_date": d, "health_score": score, "health_band": band, "tier": tier})
        renewals.append({"account_id": acc, "renewal_date": (churn or pd.Timestamp("2025-06-01")).date(),
                         "churned": True if churn is not None else None})
    ev = back_test(pd.DataFrame(health), pd.DataFrame(renewals), pd.Timestamp("2024-12-31"),
                      {"green": 70, "yellow": 40},
                      {"horizon_days": [30, 60], "below_green_days": [60, 90], "first_red_lookback_days": 180,
                       "goals": {"auc": 0.8, "red_churn_multiple": 3.0, "churned_below_green_share": 0.667,
                                 "green_share_max": 0.8}})
    assert list(ev.columns) == EVIDENCE_COLUMNS
    overall = ev[ev["segment_type"] == "all"].set_index("measure")["value"]
    assert overall["auc_churn_30_60d"] > 0.95  # days 61-100 before churn are red but labelled 0
    assert overall["red_churn_multiple"] > 3
    assert overall["churned_below_green_60_90d_share"] == pytest.approx(1.0)
    assert overall["median_lead_days_first_red_to_churn"] == pytest.approx(98)
    assert overall["green_share"] == pytest.approx(1.0)  # churned accounts are no longer scored
    assert set(ev["segment_value"]) == {"all", "enterprise", "smb"}
    assert ev.set_index(["measure", "segment_type"]).loc[("auc_churn_30_60d", "all"), "meets_goal"]
