"""Unit tests of orchestration/lib/models/churn_model.py: the learned churn and expansion models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.lib.core import settings
from orchestration.lib.models import churn_model as cm


def health_cfg(**model) -> dict:
    cfg = dict(settings.load()["health"])
    cfg["model"] = {**cfg["model"], **model}
    return cfg


def synthetic(n_accounts: int = 500, seed: int = 11, signal: str = "escalated_tickets", start: str = "2024-01-01"):
    """Accounts scored weekly over the 20 weeks before one renewal each (spread over 18 months).
    Churn depends on `signal` (a support input, not usage) only; every component score is noise.
    Expansion (seats up at renewal) depends on active days. Returns inputs, renewals, expansions."""
    rng = np.random.default_rng(seed)
    rows, renewals, expansions = [], [], []
    for i in range(n_accounts):
        acc = f"a{i:04d}"
        renewal = pd.Timestamp(start) + pd.Timedelta(days=int(rng.integers(150, 700)))
        risk = rng.uniform()
        term = 365.0 if signal != "contract_term" or rng.uniform() < 0.4 else 31.0
        if signal == "contract_term":  # one renewal of a monthly contract churns a twelfth as often
            churned = rng.uniform() < (0.3 if term == 365.0 else 0.025)
        else:
            churned = rng.uniform() < 0.05 + 0.5 * risk ** 2
        busy = rng.uniform()
        expanded = (not churned) and rng.uniform() < 0.05 + 0.6 * busy ** 2
        tier = ["enterprise", "mid_market", "smb"][i % 3]
        for k in range(20):
            day = renewal - pd.Timedelta(days=7 * k)
            row = {c: float(rng.uniform(20, 100)) for c in (f"{c}_score" for c in cm.COMPONENTS)}
            row.update(
                account_id=acc, as_of_date=day.date(), seats=20.0, events_last_window=float(rng.integers(300, 900)),
                events_prior_window=float(rng.integers(300, 900)),
                active_days_window=float(np.clip(round(5 + 25 * busy + rng.normal(0, 2)), 0, 30)),
                core_features_used=3.0, core_features=5.0, responses_in_window=1.0,
                tickets_in_window=float(rng.poisson(4)), unresolved_tickets=float(rng.poisson(1)),
                escalated_tickets=float(rng.poisson(0.2 + 6 * risk)) if signal == "escalated_tickets" else float(rng.poisson(1)),
                breached_first_responses=float(rng.poisson(1)), qbrs=1.0, exec_checkins=0.0,
                active_stakeholders=float(rng.integers(1, 5)), milestones_due=2.0, milestones_on_time=2.0,
                tier=tier, renewal_date=renewal.date(), contract_term_days=term,
            )
            rows.append(row)
        renewals.append({"account_id": acc, "renewal_date": renewal.date(), "churned": bool(churned)})
        if expanded:
            expansions.append({"account_id": acc, "expansion_date": renewal.date()})
    inputs = pd.DataFrame(rows).sort_values(["account_id", "as_of_date"]).reset_index(drop=True)
    return inputs[cm.INPUT_COLUMNS], pd.DataFrame(renewals), pd.DataFrame(expansions, columns=["account_id", "expansion_date"])


@pytest.fixture(scope="module")
def fitted():
    inputs, renewals, expansions = synthetic()
    return inputs, cm.run(inputs, renewals, expansions, health_cfg())


def test_the_model_picks_up_a_signal_planted_in_a_non_usage_feature(fitted):
    _, result = fitted
    assert result.in_force
    ev = result.evidence.set_index("measure")
    assert ev.loc["auc", "value"] > 0.75, ev.loc["auc"]
    assert ev.loc["model_kind", "value_text"] in ("logistic", "gradient_boosting")
    # the planted feature is the top driver of the riskiest account-days
    top = result.drivers[result.drivers["driver_rank"] == 1]
    assert top["feature"].value_counts().index[0] == "escalations"
    # and the held-out measures the issue asks for are all there
    for m in ("pr_auc", "brier", "red_band_lift", "share_green", "churners_below_green_pct", "median_lead_days",
              "expansion_auc", "expansion_lift"):
        assert m in ev.index, m
    assert ev.loc["expansion_auc", "value"] > 0.7


def test_the_model_knows_the_contract_term():
    """Churn per renewal depends on the contract term alone (monthly renewals churn a twelfth as
    often as annual ones; no score, seat count or tier says which is which): the model must rank
    annual renewals above monthly ones on the held-out renewals, and name the term as the driver."""
    inputs, renewals, expansions = synthetic(signal="contract_term")
    result = cm.run(inputs, renewals, expansions, health_cfg())
    assert result.in_force
    ev = result.evidence.set_index("measure")
    assert ev.loc["auc", "value"] > 0.7, ev.loc["auc"]
    annual = (inputs["contract_term_days"] == 365.0).to_numpy()
    p = result.risk["churn_probability"].to_numpy()
    assert p[annual].mean() > 3 * p[~annual].mean()
    top = result.drivers[result.drivers["driver_rank"] == 1]
    assert top["feature"].value_counts().index[0] == "contract_term"


def test_a_history_without_an_input_still_fits_the_tree():
    """A history that never had a source (no surveys: every sentiment input is missing) leaves a
    feature no row has; the gradient-boosted candidate must fit around it, not stop the run."""
    inputs, renewals, expansions = synthetic()
    inputs = inputs.assign(sentiment_score=np.nan)
    result = cm.run(inputs, renewals, expansions, health_cfg(candidates=["gradient_boosting"]))
    assert result.in_force and result.churn.model.kind == "gradient_boosting"
    assert result.evidence.set_index("measure").loc["auc", "value"] > 0.75


def test_calibration_is_monotone(fitted):
    _, result = fitted
    model = result.churn.model
    grid = np.linspace(-8, 8, 401)
    p = cm.calibrate(model.calibrator, grid)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1
    iso = cm.fit_calibrator(np.array([-2.0, -1, 0, 1, 2, 3]), np.array([0, 0, 1, 0, 1, 1]), np.ones(6), "isotonic")
    assert np.all(np.diff(cm.calibrate(iso, grid)) >= 0)
    # the reliability table of the held-out renewals: predicted rises by decile
    rel = result.reliability
    assert list(rel["decile"]) == list(range(1, 11))
    assert rel["predicted"].is_monotonic_increasing and rel["n"].sum() > 100


def test_bands_follow_the_base_rate_multiples(fitted):
    inputs, result = fitted
    model = result.churn.model
    assert model.thresholds["red"] == pytest.approx(3.0 * model.base_rate)
    assert model.thresholds["yellow"] == pytest.approx(1.5 * model.base_rate)
    p = result.risk["churn_probability"].to_numpy()
    band = result.risk["churn_band"].to_numpy()
    assert {"yellow", "green"} <= set(band)
    assert (band[p >= 3.0 * model.base_rate + 1e-6] == "red").all()
    assert (band[(p < 3.0 * model.base_rate - 1e-6) & (p >= 1.5 * model.base_rate + 1e-6)] == "yellow").all()
    assert (band[p < 1.5 * model.base_rate - 1e-6] == "green").all()
    # configurable: other multiples, other cut-offs
    other = cm.run(inputs, *synthetic()[1:], health_cfg(bands={"red": 2.0, "yellow": 1.2}))
    assert other.churn.model.thresholds["red"] == pytest.approx(2.0 * other.churn.model.base_rate)


def test_top_drivers_sum_and_sign(fitted):
    inputs, result = fitted
    model = result.churn.model
    feats = cm.build_features(inputs)
    x = feats[cm.FEATURE_NAMES].to_numpy(dtype=float)[:200]
    contrib = cm.group_contributions(model, x)
    if model.kind == "logistic":  # exact: the groups and the intercept add up to the log-odds
        intercept = model.estimator.named_steps["logisticregression"].intercept_[0]
        assert np.allclose(contrib.sum(axis=1) + intercept, model.raw_logit(x))
    d = cm.drivers(model, x, feats.iloc[:200].reset_index(drop=True))
    assert (d.groupby("row")["driver_rank"].apply(list) == pd.Series([[1, 2, 3]] * 200)).all()
    # ranked largest first, and more escalations than the median raise risk
    assert (d.groupby("row")["contribution"].apply(lambda s: s.is_monotonic_decreasing)).all()
    esc = d[d["feature"] == "escalations"]
    assert len(esc) and (np.sign(esc["contribution"]) == np.sign(esc["feature_value"] - model.medians[
        cm.FEATURE_NAMES.index("escalated_tickets")])).mean() > 0.95


def test_cold_start_keeps_the_defaults():
    inputs, renewals, expansions = synthetic(20)
    result = cm.run(inputs, renewals, expansions, health_cfg())
    assert not result.in_force and result.churn.model is None
    assert "min_renewals_for_fit" in result.churn.reason
    assert result.risk["churn_probability"].isna().all() and len(result.risk) == len(inputs)
    assert result.drivers.empty
    ev = result.evidence.set_index("measure")
    assert ev.loc["model_kind", "value_text"] == "default"
    # enough renewals but too few churned among them: nothing to learn from, defaults too
    inputs, renewals, expansions = synthetic(120, seed=3)
    renewals["churned"] = renewals.index < 12
    rare = cm.run(inputs, renewals, expansions, health_cfg())
    assert not rare.in_force and "min_events" in rare.churn.reason


def test_deterministic():
    inputs, renewals, expansions = synthetic(200, seed=5)
    one = cm.run(inputs, renewals, expansions, health_cfg())
    two = cm.run(inputs, renewals, expansions, health_cfg())
    pd.testing.assert_frame_equal(one.risk, two.risk)
    pd.testing.assert_frame_equal(one.drivers, two.drivers)
    pd.testing.assert_frame_equal(one.evidence, two.evidence)
