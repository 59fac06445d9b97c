"""Unit tests of the churn model's candidate selection (orchestration/lib/models/churn_model.py:
choose_candidate, select_candidate, fit_outcome_model): forward-in-time cross-validation, and the
rule that keeps the linear model unless the tree beats it consistently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from orchestration.lib.core import settings
from orchestration.lib.models import churn_model as cm

pytestmark = pytest.mark.unit

CANDIDATES = ["logistic", "gradient_boosting"]


def model_cfg(**overrides) -> dict:
    return {**settings.load()["health"]["model"], **overrides}


def history(n: int = 3000, seed: int = 0, episodes: tuple[tuple[float, float], ...] = ((0.0, 1.0),)):
    """One training row per renewal, renewals spread over three years in date order. Churn falls
    linearly with usage everywhere; inside `episodes` (shares of the history, by date) it also
    rises at both ends of the seat count (a U shape: no linear model can follow it, a tree can).
    Every other feature is constant."""
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 1100, n)), unit="D")
    position = np.arange(n) / n
    usage, seats = rng.normal(size=n), rng.normal(size=n)
    on = np.zeros(n, bool)
    for lo, hi in episodes:
        on |= (position >= lo) & (position < hi)
    logit = -3.0 - usage + np.where(on, 2.5 * (seats ** 2 - 1), 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = np.zeros((n, len(cm.FEATURE_NAMES)))
    x[:, cm.FEATURE_NAMES.index("usage_score")] = 60 + 15 * usage
    x[:, cm.FEATURE_NAMES.index("log_seats")] = 3 + seats
    rows = pd.DataFrame({"account_id": [f"a{i:05d}" for i in range(n)], "renewal_date": dates})
    return x, y, rows


@pytest.fixture(autouse=True)
def one_thread():
    """As the pipeline fits (churn_model.run): the tree's threads spin-wait on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def fit(x, y, rows, **cfg):
    return cm.fit_outcome_model(x, y, rows, model_cfg(**cfg), "churn", 30, 0.3, {"red": 3.0, "yellow": 1.5})


def test_the_rule_keeps_the_linear_model_when_the_tree_wins_one_fold_only():
    # the tree is far ahead on the latest fold (the one block the choice used to rest on), and
    # its mean gain exceeds the margin, but it is behind on the two others
    kind, notes = cm.choose_candidate({"logistic": [0.80, 0.82, 0.78], "gradient_boosting": [0.79, 0.80, 0.90]},
                                      CANDIDATES, 0.02)
    assert kind == "logistic"
    assert "ahead on 1 of 3 folds" in notes[0] and "not ahead on most folds" in notes[0]


def test_the_rule_asks_for_a_gain_beyond_its_standard_error():
    # ahead on two folds of three and on average by more than the margin, but the folds disagree
    # so much that the mean gain (0.053) is within its standard error (0.058)
    kind, notes = cm.choose_candidate({"logistic": [0.75, 0.75, 0.75], "gradient_boosting": [0.70, 0.90, 0.81]},
                                      CANDIDATES, 0.02)
    assert kind == "logistic" and "within one standard error" in notes[0]
    kind, _ = cm.choose_candidate({"logistic": [0.80, 0.80, 0.80], "gradient_boosting": [0.85, 0.86, 0.84]},
                                  CANDIDATES, 0.02)
    assert kind == "gradient_boosting"
    # a gain within the margin keeps the simpler model however consistent
    kind, _ = cm.choose_candidate({"logistic": [0.80, 0.80, 0.80], "gradient_boosting": [0.815, 0.81, 0.815]},
                                  CANDIDATES, 0.02)
    assert kind == "logistic"


def test_a_pattern_the_tree_fits_in_one_validation_block_only_keeps_the_linear_model():
    """A passing non-linear episode (the first third of the history and again shortly before the
    held-out renewals, not in between nor after): the tree fitted on the early renewals wins on the
    block just before the held-out ones (a single inner block picked it), and loses on the two
    before that. Forward cross-validation keeps the linear model, which also ranks the held-out
    renewals better."""
    x, y, rows = history(n=2000, episodes=((0.0, 0.35), (0.583, 0.70)))
    out = fit(x, y, rows)
    assert out.model.kind == "logistic", out.model.selection_why
    assert "3 fold(s)" in out.model.selection_why
    assert "ahead on 1 of 3 folds" in out.model.selection_why
    # on the held-out renewals the tree fitted the same way would have done worse
    held = out.block == 2
    tree = fit(x, y, rows, candidates=["gradient_boosting"])
    auc_linear = cm._auc(y[held], out.model.raw_logit(x[held]), np.ones(held.sum()))
    auc_tree = cm._auc(y[held], tree.model.raw_logit(x[held]), np.ones(held.sum()))
    assert auc_linear > auc_tree


def test_a_non_linear_signal_on_every_fold_picks_the_tree_and_says_why():
    x, y, rows = history()
    out = fit(x, y, rows)
    assert out.model.kind == "gradient_boosting", out.model.selection_why
    why = out.model.selection_why
    assert why.startswith("gradient_boosting: forward-in-time cross-validation on 3 fold(s)")
    assert "ahead on 3 of 3 folds" in why and "gradient_boosting chosen" in why
    # the evidence gives each candidate's mean AUC with its per-fold AUCs
    for kind in CANDIDATES:
        assert f"{kind} {out.model.selection[kind]:.3f} (" in why
    assert out.model.selection["gradient_boosting"] > out.model.selection["logistic"] + 0.1


def test_too_few_events_per_fold_means_fewer_folds_then_the_first_candidate():
    x, y, rows = history(n=400, seed=1, episodes=())
    y = np.zeros(len(y), int)
    y[np.arange(0, 200, 5)] = 1  # 40 churned among the renewals only fitted on
    y[[205, 235, 265, 305, 335, 365]] = 1  # 6 in the validation half: 2 a block in three, 3 in two
    sel = cm.select_candidate(x, y, np.ones(len(y)), rows, CANDIDATES, model_cfg(), "churn")
    assert len(sel.folds) == 1 and sel.folds[0]["events"] == 6
    assert "1 fold(s) (fewer than selection_folds 3" in sel.why
    y[[205, 235]] = 0  # 4 left: not even one block of 5
    sel = cm.select_candidate(x, y, np.ones(len(y)), rows, CANDIDATES, model_cfg(), "churn")
    assert sel.kind == "logistic" and not sel.folds and "too few renewals" in sel.why
