"""The health score's churn and expansion models: learned from the account's own history. Pure: no
Dagster, no I/O.

What it does, in order (`fit_outcome_model`):
1. Features per account-day (`build_features`): the six component scores and their 30-day changes,
   and the raw inputs behind them (usage per seat and its trend, active days, core-feature
   breadth, tickets, escalations, unresolved load, breached first responses, sentiment level and
   trend, QBRs / executive check-ins / stakeholders, milestone slips, seats, tier, days to the
   next renewal, the contract term). Missing inputs stay NaN (the tree model reads them as such; the linear model
   imputes the training mean, so a missing input contributes nothing, and adds an indicator
   where absence itself carries information).
2. Training rows: account-days 30-90 days before each resolved renewal (as the weight fit), each
   renewal weighing 1 however many of its days are scored.
3. Forward-in-time validation: renewals in date order; the latest `validation_share` are held out
   for the evidence. The earlier ones choose between the candidates, a regularized logistic
   regression and a gradient-boosted tree with monotone constraints (HistGradientBoostingClassifier,
   monotonic_cst), by forward-in-time cross-validation (`select_candidate`): each candidate fitted
   on the renewals before each of `selection_folds` later blocks and scored on the block. The
   linear model, simpler and exactly explainable, is kept unless the tree beats it consistently
   (`choose_candidate`: mean AUC gain above `selection_margin`, ahead on most folds, gain beyond
   its standard error). The chosen candidate's evaluation fit: the first `inner_fit_share` of the
   earlier renewals, calibrated on the rest.
4. Calibration, forward in time: a Platt (or isotonic) map from the raw score to a probability,
   fitted on the same estimator's predictions for later renewals it had not seen. The evidence
   judges the inner fit calibrated on the inner validation part; the model in force is fitted
   on every renewal before the held-out part and calibrated on that latest part.
5. Bands from the probability: red >= red_multiple x the base churn rate of the history fitted
   on, yellow >= yellow_multiple x, else green; recomputed at every fit.
6. Explanations: per account-day the top drivers, by feature group, in log-odds of the raw model:
   for the linear model exactly coefficient x standardized value (relative to the training
   mean; the groups' contributions plus the intercept are the log-odds); for the tree model the
   change in log-odds when the group's features are set to their training medians (occlusion;
   documented, not additive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# scikit-learn is imported inside the functions that fit (see health_model: ~2 s to import)

COMPONENTS: tuple[str, ...] = ("usage", "adoption", "onboarding", "sentiment", "support", "engagement")
RENEWAL_KEY = ["account_id", "renewal_date"]
TIERS: tuple[str, ...] = ("enterprise", "mid_market", "smb")

# feature -> (driver group, monotone sign for the tree: +1 raises risk, -1 lowers it, 0 free).
# Signs are the direction the guides agree on; a free sign where they do not (ticket volume:
# engaged accounts file tickets too; seats; tier; timing).
FEATURES: dict[str, tuple[str, int]] = {
    "usage_score": ("usage_level", -1),
    "log_events_per_seat_day": ("usage_level", -1),
    "active_days_window": ("usage_level", -1),
    "usage_missing": ("usage_level", 0),
    "usage_trend_log_ratio": ("usage_trend", -1),
    "usage_score_change_30d": ("usage_trend", -1),
    "adoption_score": ("adoption", -1),
    "adoption_score_change_30d": ("adoption", -1),
    "onboarding_score": ("onboarding", -1),
    "milestone_slips": ("onboarding", 1),
    "onboarding_missing": ("onboarding", 0),
    "sentiment_score": ("sentiment_level", -1),
    "sentiment_missing": ("sentiment_level", 0),
    "sentiment_score_change_30d": ("sentiment_trend", -1),
    "log_tickets": ("ticket_volume", 0),
    "escalated_tickets": ("escalations", 1),
    "unresolved_tickets": ("unresolved_load", 1),
    "breached_first_responses": ("breached_responses", 1),
    "support_score": ("support_score", -1),
    "support_score_change_30d": ("support_score", -1),
    "engagement_score": ("engagement", -1),
    "engagement_score_change_30d": ("engagement", -1),
    "qbrs": ("engagement", -1),
    "exec_checkins": ("engagement", -1),
    "active_stakeholders": ("engagement", -1),
    "log_seats": ("seats", 0),
    **{f"tier_{t}": ("tier", 0) for t in TIERS},
    "days_to_renewal": ("renewal_timing", 0),
    # a renewal of a monthly contract churns far less often than one of an annual contract (twelve
    # chances a year instead of one): without the term the model mistakes term for health
    "log_term_days": ("contract_term", 0),
}
FEATURE_NAMES: list[str] = list(FEATURES)
GROUPS: list[str] = list(dict.fromkeys(g for g, _ in FEATURES.values()))
# the value shown beside a driver: the group's most readable input
GROUP_VALUE: dict[str, str] = {
    "usage_level": "events_per_seat_day", "usage_trend": "usage_trend_ratio", "adoption": "adoption_score",
    "onboarding": "milestone_slips", "sentiment_level": "sentiment_score",
    "sentiment_trend": "sentiment_score_change_30d", "ticket_volume": "tickets_in_window",
    "escalations": "escalated_tickets", "unresolved_load": "unresolved_tickets",
    "breached_responses": "breached_first_responses", "support_score": "support_score",
    "engagement": "engagement_score", "seats": "seats", "tier": "tier_rank", "renewal_timing": "days_to_renewal",
    "contract_term": "contract_term_days",
}
INPUT_COLUMNS = [
    "account_id", "as_of_date", *[f"{c}_score" for c in COMPONENTS], "seats", "events_last_window",
    "events_prior_window", "active_days_window", "core_features_used", "core_features", "responses_in_window",
    "tickets_in_window", "unresolved_tickets", "escalated_tickets", "breached_first_responses", "qbrs",
    "exec_checkins", "active_stakeholders", "milestones_due", "milestones_on_time", "tier", "renewal_date",
    "contract_term_days",
]


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()


def build_features(inputs: pd.DataFrame, change_days: int = 30, renewal_window: Sequence[int] = (30, 90)) -> pd.DataFrame:
    """One row per input row (same order): account_id, as_of_date, FEATURE_NAMES, the shown values.

    inputs: INPUT_COLUMNS (int_health__model_inputs), ordered by account and day. The 30-day change
    of a component is against the account's latest row on or before d - change_days and after
    d - change_days - 7 (weekly history), NaN without one. days_to_renewal is clipped to the
    renewal window the model is trained on: further out, the account is scored as if its renewal
    were at the window's far end.
    """
    f = inputs[["account_id", "as_of_date"]].copy()
    f["as_of_date"] = pd.to_datetime(f["as_of_date"]).astype("datetime64[ns]")
    seats = _num(inputs, "seats")
    last, prior = _num(inputs, "events_last_window"), _num(inputs, "events_prior_window")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_seat = np.where(seats > 0, last / (seats * 30.0), np.nan)
        f["events_per_seat_day"] = per_seat
        f["log_events_per_seat_day"] = np.log1p(per_seat)
        ratio = np.where(prior > 0, last / prior, np.nan)
        f["usage_trend_ratio"] = ratio
        f["usage_trend_log_ratio"] = np.log((last + 1.0) / (prior + 1.0))
    f["active_days_window"] = _num(inputs, "active_days_window")
    for c in COMPONENTS:
        f[f"{c}_score"] = _num(inputs, f"{c}_score")
    f["usage_missing"] = np.isnan(f["usage_score"].to_numpy()).astype(float)
    f["onboarding_missing"] = np.isnan(f["onboarding_score"].to_numpy()).astype(float)
    f["sentiment_missing"] = np.isnan(f["sentiment_score"].to_numpy()).astype(float)
    f["milestone_slips"] = _num(inputs, "milestones_due") - _num(inputs, "milestones_on_time")
    tickets = _num(inputs, "tickets_in_window")
    f["tickets_in_window"] = tickets
    f["log_tickets"] = np.log1p(tickets)
    for col in ("escalated_tickets", "unresolved_tickets", "breached_first_responses", "qbrs", "exec_checkins",
                "active_stakeholders"):
        f[col] = _num(inputs, col)
    f["seats"] = seats
    f["log_seats"] = np.log1p(seats)
    tier = inputs["tier"].astype("string").fillna("")
    for t in TIERS:
        f[f"tier_{t}"] = (tier == t).astype(float).to_numpy()
    f["tier_rank"] = tier.map({t: float(i) for i, t in enumerate(TIERS)}).astype("float64").to_numpy()
    days = (pd.to_datetime(inputs["renewal_date"]).astype("datetime64[ns]") - f["as_of_date"]).dt.days.astype("float64").to_numpy()
    term = _num(inputs, "contract_term_days") if "contract_term_days" in inputs else np.full(len(inputs), np.nan)
    f["contract_term_days"] = term
    with np.errstate(divide="ignore", invalid="ignore"):
        f["log_term_days"] = np.where(term > 0, np.log(term), np.nan)
    lo, hi = renewal_window
    f["days_to_renewal"] = np.clip(np.where(np.isnan(days), hi, days), lo, hi)

    # 30-day changes: the account's latest row in (d - change_days - 7, d - change_days]
    scores = f[["account_id", "as_of_date", *[f"{c}_score" for c in COMPONENTS]]]
    key = scores.assign(_row=np.arange(len(scores)),
                        _target=(scores["as_of_date"] - pd.Timedelta(days=change_days)).astype("datetime64[ns]"))
    left = key.sort_values(["_target"], kind="stable")
    right = scores.rename(columns={"as_of_date": "_earlier", **{f"{c}_score": f"{c}_before" for c in COMPONENTS}})
    right = right.sort_values(["_earlier"], kind="stable")
    m = pd.merge_asof(left, right, left_on="_target", right_on="_earlier", by="account_id",
                      tolerance=pd.Timedelta(days=6), direction="backward").sort_values("_row")
    for c in COMPONENTS:
        f[f"{c}_score_change_30d"] = f[f"{c}_score"].to_numpy() - m[f"{c}_before"].to_numpy()
    return f


@dataclass
class OutcomeModel:
    """A fitted model for one outcome (churn or expansion) and what it was judged on."""

    outcome: str
    kind: str  # 'logistic' | 'gradient_boosting'
    estimator: object
    calibrator: object
    base_rate: float
    thresholds: dict[str, float]  # red/yellow (churn) or high (expansion) probability cut-offs
    medians: np.ndarray  # training medians of FEATURE_NAMES (occlusion baseline)
    selection: dict[str, float] = field(default_factory=dict)  # mean forward-CV AUC per candidate
    selection_why: str = ""  # which candidate and why (health_score_evidence.model_selection)

    def raw_logit(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "logistic":
            return self.estimator.decision_function(x)
        p = np.clip(self.estimator.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    def probability(self, x: np.ndarray) -> np.ndarray:
        return calibrate(self.calibrator, self.raw_logit(x))


def _logistic(c_reg: float):
    from sklearn.impute import SimpleImputer  # noqa: PLC0415 (see the imports)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(C=c_reg, max_iter=2000))


def _tree(cfg: Mapping, random_state: int):
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415 (see the imports)

    return HistGradientBoostingClassifier(
        learning_rate=float(cfg.get("learning_rate", 0.05)),
        max_iter=int(cfg.get("max_iter", 100)),
        max_leaf_nodes=int(cfg.get("max_leaf_nodes", 8)),
        min_samples_leaf=int(cfg.get("min_samples_leaf", 100)),
        l2_regularization=float(cfg.get("l2_regularization", 1.0)),
        monotonic_cst=[sign for _, sign in FEATURES.values()],
        early_stopping=False,
        random_state=random_state,
    )


def _fit(kind: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, cfg: Mapping):
    est = _logistic(float(cfg.get("c", 0.3))) if kind == "logistic" else _tree(cfg.get("tree", {}), int(cfg.get("random_state", 0)))
    if kind == "logistic":
        est.fit(x, y, logisticregression__sample_weight=w)
    else:
        # the renewal weights as a fixed-seed weighted resample, fitted unweighted: with
        # sample_weight the tree bins every feature by weighted percentiles, 3/4 of its fit time
        rng = np.random.default_rng(int(cfg.get("random_state", 0)))
        pick = rng.choice(len(y), size=len(y), replace=True, p=w / w.sum())
        xs = x[pick]
        # a feature no row has (a history without surveys: every sentiment input) cannot be
        # binned and stops the fit; as a constant it is never split on, so scoring reads it as before
        empty = np.isnan(xs).all(axis=0)
        if empty.any():
            xs = xs.copy()
            xs[:, empty] = 0.0
        est.fit(xs, y[pick])
    return est


def _logit_of(kind: str, est, x: np.ndarray) -> np.ndarray:
    if kind == "logistic":
        return est.decision_function(x)
    p = np.clip(est.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def fit_calibrator(logit: np.ndarray, y: np.ndarray, w: np.ndarray, method: str = "platt"):
    """A monotone map from raw log-odds to probability, fitted on out-of-time predictions."""
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # noqa: PLC0415 (see the imports)

        iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4, increasing=True)
        iso.fit(logit, y, sample_weight=w)
        return ("isotonic", iso)
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(logit.reshape(-1, 1), y, sample_weight=w)
    a, b = float(lr.coef_[0][0]), float(lr.intercept_[0])
    if a <= 0:  # the raw score ranks backwards out of time: no monotone map but the base rate
        rate = float(np.average(y, weights=w))
        return ("platt", (0.0, float(np.log(rate / (1 - rate)))))
    return ("platt", (a, b))


def calibrate(calibrator, logit: np.ndarray) -> np.ndarray:
    method, params = calibrator
    if method == "isotonic":
        return params.predict(logit)
    a, b = params
    return 1.0 / (1.0 + np.exp(-(a * logit + b)))


def renewal_weights(rows: pd.DataFrame) -> np.ndarray:
    counts = rows.groupby(RENEWAL_KEY, sort=False)["account_id"].transform("size").to_numpy()
    return 1.0 / counts


def time_blocks(rows: pd.DataFrame, shares: Sequence[float]) -> np.ndarray:
    """Block number per row: renewals in date order cut into consecutive blocks of the given
    shares (a renewal date never straddles two blocks)."""
    renewals = rows[RENEWAL_KEY].drop_duplicates().sort_values(["renewal_date", "account_id"])
    n = len(renewals)
    bounds = np.cumsum([0.0, *shares])
    cut_dates = []
    for b in bounds[1:-1]:
        i = min(n - 1, max(1, int(round(n * b))))
        cut_dates.append(renewals["renewal_date"].iloc[i])
    dates = pd.to_datetime(rows["renewal_date"]).to_numpy()
    block = np.zeros(len(rows), dtype=int)
    for d in cut_dates:
        block += dates >= np.datetime64(pd.Timestamp(d))
    return block


def _auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    return float(roc_auc_score(y, s, sample_weight=w))


@dataclass
class Selection:
    """The candidate chosen by forward-in-time cross-validation and what it was chosen on."""

    kind: str
    mean_auc: dict[str, float]  # candidate -> mean AUC over the folds used (empty: none usable)
    fold_auc: dict[str, list[float]]  # candidate -> AUC per fold, oldest first
    folds: list[dict]  # per fold: validation renewals and outcome events, fit renewals
    why: str


def choose_candidate(fold_auc: Mapping[str, Sequence[float]], candidates: Sequence[str],
                     margin: float) -> tuple[str, list[str]]:
    """The selection rule on per-fold AUCs (same folds for every candidate, oldest first).

    The first candidate (the simpler, exactly explained model) is kept unless a later one beats
    it consistently: its mean AUC gain over the folds exceeds `margin`, it wins on a strict
    majority of the folds, and the mean gain exceeds its standard error (the folds' paired gains).
    On a single fold only the margin can be checked. Returns the kind and one note per challenger."""
    kind = candidates[0]
    notes = []
    for k in candidates[1:]:
        gain = np.asarray(fold_auc[k], float) - np.asarray(fold_auc[kind], float)
        n, mean = len(gain), float(gain.mean())
        wins = int((gain > 0).sum())
        se = float(gain.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        checks = [f"mean gain {mean:+.3f} {'>' if mean > margin else '<='} selection_margin {margin:g}"]
        if n > 1:
            checks += [f"ahead on {wins} of {n} folds", f"standard error {se:.3f}"]
            beats = mean > margin and wins > n / 2 and mean > se
        else:
            checks.append("one fold: consistency not checked")
            beats = mean > margin
        failed = [why for why, ok in (("gain within the margin", mean > margin),
                                      ("not ahead on most folds", n == 1 or wins > n / 2),
                                      ("gain within one standard error", n == 1 or mean <= 0 or mean > se))
                  if not ok]
        verdict = f"{k} chosen" if beats else f"{kind} kept ({', '.join(failed)})"
        notes.append(f"{k} vs {kind}: {', '.join(checks)} -> {verdict}")
        if beats:
            kind = k
    return kind, notes


def _fold_blocks(rows: pd.DataFrame, y: np.ndarray, n_folds: int, first_fit: float, min_events: int):
    """Block per row (0: only fitted on; 1..n_folds: validation blocks, oldest first) and per-fold
    counts, or None when a fold lacks `min_events` renewals of the rarer outcome (or a fit part
    lacks either outcome)."""
    block = time_blocks(rows, [first_fit, *[(1.0 - first_fit) / n_folds] * n_folds])
    per = pd.DataFrame({"a": rows["account_id"].to_numpy(), "r": rows["renewal_date"].to_numpy(), "y": y,
                        "b": block}).drop_duplicates(["a", "r"])
    folds = []
    for k in range(1, n_folds + 1):
        val, fit = per[per["b"] == k], per[per["b"] < k]
        events = int(val["y"].sum())
        if min(events, len(val) - events) < min_events or fit["y"].nunique() < 2:
            return None
        folds.append({"renewals": len(val), "events": events, "fit_renewals": len(fit)})
    return block, folds


def select_candidate(x: np.ndarray, y: np.ndarray, w: np.ndarray, rows: pd.DataFrame, candidates: Sequence[str],
                     cfg: Mapping, outcome: str = "churn") -> Selection:
    """Forward-in-time cross-validation of the candidates on the renewals given (those before the
    held-out block). The renewals in date order: the first `selection_first_fit_share` are only
    fitted on, the rest are cut into `selection_folds` consecutive validation blocks; each
    candidate is fitted on every renewal before a block and scored (AUC, each renewal weighing 1)
    on the block. One validation block holds ~20 churns in a history of a few thousand renewals,
    where chance alone moves an AUC by 0.05: several blocks and a rule that asks for a consistent
    gain (choose_candidate) keep the choice from following one block's luck.
    Fewer folds when a block would hold fewer than `selection_min_events_per_fold` renewals of the
    rarer outcome; none possible: the first candidate."""
    candidates = list(candidates)
    margin = float(cfg.get("selection_margin", 0.02))
    n_folds = max(1, int(cfg.get("selection_folds", 3)))
    first_fit = float(cfg.get("selection_first_fit_share", 0.5))
    min_events = int(cfg.get("selection_min_events_per_fold", 5))
    event = {"churn": "churned", "expansion": "expanded"}.get(outcome, outcome)
    if len(candidates) == 1:
        return Selection(candidates[0], {}, {}, [], f"{candidates[0]}: the only candidate configured")
    found = None
    for k in range(n_folds, 0, -1):
        found = _fold_blocks(rows, y, k, first_fit, min_events)
        if found is not None:
            break
    if found is None:
        return Selection(candidates[0], {}, {}, [], (
            f"{candidates[0]}: too few renewals to compare the candidates forward in time (a validation block of "
            f"the latest {1 - first_fit:.0%} of the renewals before the held-out ones would hold fewer than "
            f"selection_min_events_per_fold {min_events} renewals of the rarer outcome): the first candidate, the "
            f"simplest, is kept"))
    block, folds = found
    fold_auc: dict[str, list[float]] = {c: [] for c in candidates}
    for k in range(1, len(folds) + 1):
        fit, val = block < k, block == k
        for c in candidates:
            est = _fit(c, x[fit], y[fit], w[fit], cfg)
            fold_auc[c].append(_auc(y[val], _logit_of(c, est, x[val]), w[val]) or 0.5)
    kind, notes = choose_candidate(fold_auc, candidates, margin)
    mean_auc = {c: float(np.mean(v)) for c, v in fold_auc.items()}
    fewer = (f" (fewer than selection_folds {n_folds}: a block must hold selection_min_events_per_fold "
             f"{min_events} renewals of the rarer outcome)" if len(folds) < n_folds else "")
    per_candidate = "; ".join(f"{c} {mean_auc[c]:.3f} ({', '.join(f'{v:.3f}' for v in fold_auc[c])})"
                              for c in candidates)
    why = (f"{kind}: forward-in-time cross-validation on {len(folds)} fold(s){fewer}, validation blocks of "
           f"{', '.join(str(f['renewals']) for f in folds)} renewals with "
           f"{', '.join(str(f['events']) for f in folds)} {event}, each candidate fitted on the renewals before "
           f"its block. Mean AUC (per fold, oldest first): {per_candidate}. {'; '.join(notes)}. The first "
           f"candidate, the simpler and exactly explained model, is kept unless another beats it by more than "
           f"the margin consistently")
    return Selection(kind, mean_auc, fold_auc, folds, why)


@dataclass
class FitOutcome:
    model: OutcomeModel | None
    evaluation: OutcomeModel | None  # fitted on the earlier renewals only: what the evidence scores
    reason: str = ""
    n_renewals: int = 0
    n_positive: int = 0
    block: np.ndarray | None = None  # per training row: 0 inner fit, 1 inner validation, 2 held out


def fit_outcome_model(
    x: np.ndarray, y: np.ndarray, rows: pd.DataFrame, cfg: Mapping, outcome: str, min_renewals: int,
    validation_share: float, bands: Mapping[str, float],
) -> FitOutcome:
    """Fit, select, calibrate and band one outcome model on training rows (see the module doc).

    x: FEATURE_NAMES matrix of the training rows; y: 0/1 per row; rows: their account_id and
    renewal_date. bands: name -> multiple of the base rate (red 3.0, yellow 1.5; high 2.0).
    """
    renewals = rows[RENEWAL_KEY].drop_duplicates()
    per_renewal = pd.Series(y).groupby([rows["account_id"].to_numpy(), rows["renewal_date"].to_numpy()]).max()
    out = FitOutcome(model=None, evaluation=None, n_renewals=len(renewals), n_positive=int(per_renewal.sum()))
    if len(renewals) < min_renewals:
        out.reason = f"{len(renewals)} renewals < min_renewals_for_fit {min_renewals}"
        return out
    if len(np.unique(y)) < 2:
        out.reason = "renewals of one outcome only"
        return out
    # a few dozen features learn nothing from a handful of events (the demo: 12 churned of 312
    # renewals, which left the calibrated model flat and the red band empty)
    min_events = int(cfg.get("min_events", 40))
    rarer = min(out.n_positive, out.n_renewals - out.n_positive)
    if rarer < min_events:
        out.reason = f"{rarer} renewals of the rarer outcome ({outcome}: {out.n_positive} of {out.n_renewals}) < min_events {min_events}"
        return out
    w = renewal_weights(rows)
    train_share = 1.0 - validation_share
    inner = float(cfg.get("inner_fit_share", 0.65))
    block = time_blocks(rows, [train_share * inner, train_share * (1 - inner), validation_share])
    out.block = block
    a, b, c = block == 0, block == 1, block == 2
    if not all(len(np.unique(y[m])) == 2 for m in (a, b)):
        out.reason = "the earlier renewals hold one outcome only: nothing to validate a model on"
        return out
    method = str(cfg.get("calibration", "platt"))

    # 1. select by forward-in-time cross-validation over the earlier renewals
    candidates = list(cfg.get("candidates", ["logistic", "gradient_boosting"]))
    ab = a | b
    sel = select_candidate(x[ab], y[ab], w[ab], rows[ab].reset_index(drop=True), candidates, cfg, outcome)
    kind = sel.kind
    inner_models = {kind: _fit(kind, x[a], y[a], w[a], cfg)}
    inner_logits = {kind: _logit_of(kind, inner_models[kind], x[b])}
    selection = sel.mean_auc

    # Each calibrator maps the raw scores of the very estimator it serves, on renewals after the
    # ones that estimator was fitted on (a map fitted on one fit's scores and applied to a refit's
    # was overconfident: a refit on more renewals spreads its log-odds wider).
    # 2. the evaluation model: the chosen candidate fitted on the inner fit block, calibrated on the
    #    inner validation block, judged on the held-out block
    eval_est = inner_models[kind]
    eval_cal = fit_calibrator(inner_logits[kind], y[b], w[b], method)
    eval_base = float(np.average(y[ab], weights=w[ab]))
    medians_ab = np.nanmedian(x[ab], axis=0)
    out.evaluation = OutcomeModel(outcome, kind, eval_est, eval_cal, eval_base,
                                  {k: v * eval_base for k, v in bands.items()},
                                  np.where(np.isnan(medians_ab), 0.0, medians_ab), selection, sel.why)

    # 3. the model in force: fitted on every renewal before the held-out block, calibrated on the
    #    held-out block (the latest renewals: the calibration follows drift), bands from the base
    #    rate of the whole history. Without a held-out block of both outcomes: the evaluation model.
    if c.any() and len(np.unique(y[c])) == 2:
        final_est = _fit(kind, x[ab], y[ab], w[ab], cfg)
        final_cal = fit_calibrator(_logit_of(kind, final_est, x[c]), y[c], w[c], method)
    else:
        final_est, final_cal = eval_est, eval_cal
    base = float(np.average(y, weights=w))
    medians = np.nanmedian(x, axis=0)
    out.model = OutcomeModel(outcome, kind, final_est, final_cal, base, {k: v * base for k, v in bands.items()},
                             np.where(np.isnan(medians), 0.0, medians), selection, sel.why)
    return out


def band_of(p: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """'red' / 'yellow' / 'green' from a churn probability and the model's cut-offs."""
    return np.where(p >= thresholds["red"], "red", np.where(p >= thresholds["yellow"], "yellow", "green"))


def drivers(model: OutcomeModel, x: np.ndarray, values: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The top `top` driver groups of each row's risk: driver_rank, feature, contribution
    (log-odds of the raw model, signed; positive raises risk), feature_value; plus `row` (the
    row's position in x). Ranked by contribution, largest first; ties by group name."""
    n = len(x)
    if n == 0:
        return pd.DataFrame(columns=["row", "driver_rank", "feature", "contribution", "feature_value"])
    contrib = group_contributions(model, x)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]  # GROUPS is in a fixed order: ties stable
    rows = np.repeat(np.arange(n), order.shape[1])
    groups = np.array(GROUPS)[order.ravel()]
    value_cols = np.array([GROUP_VALUE[g] for g in GROUPS])[order.ravel()]
    vals = np.full(len(rows), np.nan)
    for col in np.unique(value_cols):
        m = value_cols == col
        vals[m] = values[col].to_numpy(dtype="float64")[rows[m]]
    return pd.DataFrame({
        "row": rows,
        "driver_rank": np.tile(np.arange(1, order.shape[1] + 1), n),
        "feature": groups,
        "contribution": contrib[rows, order.ravel()],
        "feature_value": vals,
    })


def group_contributions(model: OutcomeModel, x: np.ndarray) -> np.ndarray:
    """rows x GROUPS contributions to the raw log-odds (see the module doc)."""
    group_idx = np.array([GROUPS.index(FEATURES[f][0]) for f in FEATURE_NAMES])
    out = np.zeros((len(x), len(GROUPS)))
    if model.kind == "logistic":
        imputer, scaler, lr = (model.estimator.named_steps[k] for k in ("simpleimputer", "standardscaler",
                                                                        "logisticregression"))
        z = scaler.transform(imputer.transform(x))
        per_feature = z * lr.coef_[0][None, :]
        np.add.at(out.T, group_idx, per_feature.T)
        return out
    base = model.raw_logit(x)
    for g, _ in enumerate(GROUPS):
        occluded = x.copy()
        cols = np.where(group_idx == g)[0]
        occluded[:, cols] = model.medians[cols]
        out[:, g] = base - model.raw_logit(occluded)
    return out


# --- evidence on the held-out renewals ------------------------------------------------------------

def reliability(p: np.ndarray, y: np.ndarray, deciles: int = 10) -> pd.DataFrame:
    """decile (1 = lowest predicted), predicted (mean), observed (rate), n; deciles by rank."""
    if len(p) == 0:
        return pd.DataFrame({"decile": pd.Series(dtype="int64"), "predicted": pd.Series(dtype="float64"),
                             "observed": pd.Series(dtype="float64"), "n": pd.Series(dtype="int64")})
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=int)
    bins[order] = np.arange(len(p)) * deciles // len(p) + 1
    frame = pd.DataFrame({"decile": bins, "p": p, "y": y})
    out = frame.groupby("decile").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size")).reset_index()
    return out.astype({"decile": "int64", "predicted": "float64", "observed": "float64", "n": "int64"})


def lift_top_decile(y: np.ndarray, s: np.ndarray) -> float | None:
    if len(y) < 10 or y.mean() == 0:
        return None
    order = np.argsort(-s, kind="stable")[: max(1, len(y) // 10)]
    return float(y[order].mean() / y.mean())


EVIDENCE_COLUMNS = ["measure", "segment_type", "segment_value", "value", "goal", "meets_goal", "sample_size",
                    "value_text"]


CHURN_MEASURES = ["auc", "pr_auc", "brier", "calibration_error", "base_rate_heldout", "base_rate_fit", "red_band_lift",
                  "share_green", "share_red", "churners_below_green_pct", "median_lead_days"]
EXPANSION_MEASURES = ["auc", "pr_auc", "brier", "calibration_error", "base_rate_heldout", "base_rate_fit",
                      "high_band_lift", "lift_top_decile"]


def _eval_points(rows: pd.DataFrame, days_before: int) -> np.ndarray:
    """Per renewal, the position of its training row nearest `days_before` days ahead (ties: the later day)."""
    dist = (rows["days_before"].astype(int) - days_before).abs().to_numpy()
    frame = pd.DataFrame({"a": rows["account_id"].to_numpy(), "r": rows["renewal_date"].to_numpy(), "d": dist,
                          "later": rows["days_before"].to_numpy(), "i": np.arange(len(rows))})
    frame = frame.sort_values(["a", "r", "d", "later", "i"], kind="stable")
    return frame.drop_duplicates(["a", "r"])["i"].to_numpy()


def holdout_evidence(
    fit: FitOutcome, x_rows: np.ndarray, y_rows: np.ndarray, rows: pd.DataFrame, days: pd.DataFrame,
    x_days: np.ndarray, cfg: Mapping,
) -> tuple[dict[str, tuple[float | None, int]], pd.DataFrame]:
    """Measures of the evaluation model on the held-out (latest) renewals: name -> (value, n), and
    the reliability table. rows/x_rows/y_rows: the training rows; days/x_days: every scored
    account-day (account_id, as_of_date) with its features, for the lead time and the 60-90 day view."""
    m: dict[str, tuple[float | None, int]] = {}
    ev = fit.evaluation
    held = fit.block == 2 if fit.block is not None else np.zeros(len(rows), bool)
    if ev is None or not held.any():
        return m, reliability(np.array([]), np.array([]))
    hrows = rows[held].reset_index(drop=True)
    pts = _eval_points(hrows, int(cfg.get("evaluation_days_before", 45)))
    p = ev.probability(x_rows[held][pts])
    y = y_rows[held][pts].astype(int)
    n = len(y)
    from sklearn.metrics import average_precision_score, brier_score_loss  # noqa: PLC0415

    two = len(np.unique(y)) == 2
    m["auc"] = (_auc(y, p, np.ones(n)), n)
    m["pr_auc"] = (float(average_precision_score(y, p)) if two else None, n)
    m["brier"] = (float(brier_score_loss(y, p)), n)
    rel = reliability(p, y)
    m["calibration_error"] = (float((rel["predicted"] - rel["observed"]).abs().mean()) if len(rel) else None, n)
    base = float(y.mean())
    m["base_rate_heldout"] = (base, n)
    m["base_rate_fit"] = (ev.base_rate, int(((fit.block == 0) | (fit.block == 1)).sum()))
    if "red" in ev.thresholds:
        bands = band_of(p, ev.thresholds)
        red = bands == "red"
        m["red_band_lift"] = (float(y[red].mean() / base) if red.any() and base > 0 else None, int(red.sum()))
        m["share_green"] = (float((bands == "green").mean()), n)
        m["share_red"] = (float(red.mean()), n)
        # churned held-out renewals: below green 60-90 days ahead, and the lead time of the first red day
        churned = hrows.loc[pts][y == 1][RENEWAL_KEY]
        below, leads = [], []
        if len(churned):
            acc = days.reset_index(drop=True).assign(_i=np.arange(len(days)))
            acc = acc[acc["account_id"].isin(set(churned["account_id"]))]
            pairs = acc.merge(churned.assign(renewal_date=pd.to_datetime(churned["renewal_date"])), on="account_id")
            ahead = (pairs["renewal_date"] - pd.to_datetime(pairs["as_of_date"])).dt.days
            g_lo, g_hi = cfg.get("below_green_days", (60, 90))
            lookback = int(cfg.get("first_red_lookback_days", 180))
            pairs = pairs.assign(ahead=ahead)[ahead.between(1, lookback)]
            if len(pairs):
                pairs["p"] = ev.probability(x_days[pairs["_i"].to_numpy()])
                for _, grp in pairs.groupby(RENEWAL_KEY, sort=True):
                    win = grp[grp["ahead"].between(g_lo, g_hi)]
                    if len(win):
                        below.append(float(win["p"].mean() >= ev.thresholds["yellow"]))
                    red_days = grp[grp["p"] >= ev.thresholds["red"]]
                    if len(red_days):
                        leads.append(float(red_days["ahead"].max()))
        m["churners_below_green_pct"] = (100.0 * float(np.mean(below)) if below else None, len(below))
        m["median_lead_days"] = (float(np.median(leads)) if leads else None, len(leads))
    else:
        high = p >= ev.thresholds["high"]
        m["high_band_lift"] = (float(y[high].mean() / base) if high.any() and base > 0 else None, int(high.sum()))
        m["lift_top_decile"] = (lift_top_decile(y, p), n)
    return m, rel


@dataclass
class ModelRun:
    """Everything the health_weights asset writes for the models."""

    risk: pd.DataFrame  # account_id, as_of_date, churn_probability, churn_band, expansion_propensity, expansion_band
    drivers: pd.DataFrame  # account_id, as_of_date, driver_rank, feature, contribution, feature_value
    reliability: pd.DataFrame  # decile, predicted, observed, n
    evidence: pd.DataFrame  # EVIDENCE_COLUMNS
    churn: FitOutcome
    expansion: FitOutcome
    measures: dict[str, float | str | None] = field(default_factory=dict)

    @property
    def in_force(self) -> bool:
        return self.churn.model is not None


def _subsample(n: int, cap: int, seed: int) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    keep = np.random.default_rng(seed).random(n) < cap / n
    return np.flatnonzero(keep)


def expansion_labels(rows: pd.DataFrame, expansions: pd.DataFrame, grace_days: int = 0) -> np.ndarray:
    """1 when the account expanded after the row's day and by its renewal (+ grace): at the renewal
    or mid-term."""
    if rows.empty or expansions.empty:
        return np.zeros(len(rows), dtype=int)
    r = rows[["account_id", "as_of_date", "renewal_date"]].assign(_i=np.arange(len(rows)))
    e = expansions[["account_id", "expansion_date"]].assign(expansion_date=lambda d: pd.to_datetime(d["expansion_date"]))
    m = r.merge(e, on="account_id")
    hit = (m["expansion_date"] > pd.to_datetime(m["as_of_date"])) & (
        m["expansion_date"] <= pd.to_datetime(m["renewal_date"]) + pd.Timedelta(days=grace_days))
    y = np.zeros(len(rows), dtype=int)
    y[m.loc[hit, "_i"].to_numpy()] = 1
    return y


def run(inputs: pd.DataFrame, renewals: pd.DataFrame, expansions: pd.DataFrame, health_cfg: Mapping,
        latest_date=None) -> ModelRun:
    """Fit the churn and expansion models on `inputs` (INPUT_COLUMNS, ordered by account and day),
    score every account-day, explain the recent ones and gather the held-out evidence.

    On one thread: the tree's OpenMP threads spin-wait for each other on a busy machine (a fit of
    4 k rows took 29 s with two threads among other processes, 2-4 s on one), and the pipeline
    keeps the other core for dbt."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 (a scikit-learn dependency)

    with threadpool_limits(limits=1):
        return _run(inputs, renewals, expansions, health_cfg, latest_date)


def _run(inputs: pd.DataFrame, renewals: pd.DataFrame, expansions: pd.DataFrame, health_cfg: Mapping,
         latest_date=None) -> ModelRun:
    from orchestration.lib.models import health_model  # noqa: PLC0415 (training_rows: the weight fit's join)

    cfg = dict(health_cfg.get("model", {}))
    window = tuple(int(v) for v in health_cfg["training_window_days"])
    min_renewals = int(health_cfg["min_renewals_for_fit"])
    share = float(health_cfg.get("validation_share", 0.3))
    evidence_cfg = {**health_cfg.get("evidence", {}), **cfg}
    feats = build_features(inputs, renewal_window=window)
    x_all = feats[FEATURE_NAMES].to_numpy(dtype="float64")

    # training rows: the feature frame joined to the resolved renewals 30-90 days later
    keyed = feats[["account_id", "as_of_date"]].assign(_i=np.arange(len(feats)))
    rows = health_model.training_rows(keyed, renewals[["account_id", "renewal_date", "churned"]], window)
    if len(rows):
        rows["renewal_date"] = pd.to_datetime(rows["renewal_date"])
        keep = _subsample(len(rows), int(cfg.get("max_training_rows", 60_000)), int(cfg.get("random_state", 0)))
        rows = rows.iloc[keep].reset_index(drop=True)
    idx = rows["_i"].to_numpy(dtype=int) if len(rows) else np.array([], dtype=int)
    x_rows = x_all[idx]
    y_churn = rows["churned"].to_numpy(dtype=int) if len(rows) else np.array([], dtype=int)
    churn = fit_outcome_model(x_rows, y_churn, rows, cfg, "churn", min_renewals, share,
                              cfg.get("bands", {"red": 3.0, "yellow": 1.5}))
    y_exp = expansion_labels(rows, expansions, int(health_cfg.get("churn_grace_days", 0)))
    expansion = fit_outcome_model(x_rows, y_exp, rows, cfg, "expansion", min_renewals, share,
                                  cfg.get("expansion", {}).get("bands", {"high": 2.0}))

    n = len(feats)
    risk = pd.DataFrame({"account_id": feats["account_id"].astype("string").to_numpy(),
                         "as_of_date": feats["as_of_date"].to_numpy()})
    risk["churn_probability"] = churn.model.probability(x_all) if churn.model and n else np.nan
    risk["churn_band"] = (band_of(risk["churn_probability"].to_numpy(), churn.model.thresholds)
                          if churn.model and n else None)
    risk["expansion_propensity"] = expansion.model.probability(x_all) if expansion.model and n else np.nan
    if expansion.model and n:
        risk["is_expansion_high"] = risk["expansion_propensity"].to_numpy() >= expansion.model.thresholds["high"]
    else:
        risk["is_expansion_high"] = False
    risk["churn_probability"] = risk["churn_probability"].astype("float64").round(6)
    risk["expansion_propensity"] = risk["expansion_propensity"].astype("float64").round(6)
    risk["churn_band"] = risk["churn_band"].astype("string")
    risk["model_kind"] = churn.model.kind if churn.model else None
    risk["model_kind"] = risk["model_kind"].astype("string")

    # drivers of the recent account-days
    drivers_frame = pd.DataFrame({"account_id": pd.Series(dtype="string"),
                                  "as_of_date": pd.Series(dtype="datetime64[ns]"),
                                  "driver_rank": pd.Series(dtype="int64"), "feature": pd.Series(dtype="string"),
                                  "contribution": pd.Series(dtype="float64"),
                                  "feature_value": pd.Series(dtype="float64")})
    if churn.model and n:
        last = pd.Timestamp(latest_date) if latest_date is not None else feats["as_of_date"].max()
        recent = np.flatnonzero((feats["as_of_date"] > last - pd.Timedelta(days=int(cfg.get("explain_days", 60))))
                                .to_numpy())
        d = drivers(churn.model, x_all[recent], feats.iloc[recent].reset_index(drop=True))
        at = recent[d["row"].to_numpy()]
        drivers_frame = pd.DataFrame({
            "account_id": feats["account_id"].to_numpy()[at],
            "as_of_date": feats["as_of_date"].to_numpy()[at],
            "driver_rank": d["driver_rank"].astype("int64").to_numpy(),
            "feature": d["feature"].astype("string").to_numpy(),
            "contribution": d["contribution"].astype("float64").round(6).to_numpy(),
            "feature_value": d["feature_value"].astype("float64").round(6).to_numpy(),
        })

    # held-out evidence
    days = feats[["account_id", "as_of_date"]]
    churn_m, rel = holdout_evidence(churn, x_rows, y_churn, rows, days, x_all, evidence_cfg)
    exp_m, _ = holdout_evidence(expansion, x_rows, y_exp, rows, days, x_all, evidence_cfg)
    goals = health_cfg.get("evidence", {}).get("goals", {})
    model_goals = {"auc": goals.get("auc"), "red_band_lift": goals.get("red_churn_multiple"),
                   "share_green": goals.get("green_share_max"),
                   "churners_below_green_pct": (100 * goals["churned_below_green_share"]
                                                if goals.get("churned_below_green_share") is not None else None),
                   "calibration_error": goals.get("calibration_error_max")}
    lower_is_better = {"share_green", "calibration_error", "brier"}
    out_rows = []

    def add(measure, value, n_obs, text=None, goal=None):
        value = None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)
        meets = None
        if goal is not None and value is not None:
            meets = value <= goal if measure in lower_is_better else value >= goal
        out_rows.append({"measure": measure, "segment_type": "all", "segment_value": "all", "value": value,
                         "goal": goal, "meets_goal": meets, "sample_size": int(n_obs), "value_text": text})

    kind = churn.model.kind if churn.model else "default"
    why = churn.reason or _why(churn)
    add("model_kind", None, churn.n_renewals, kind)
    add("model_selection", None, churn.n_renewals, why)
    # every measure on every run (null without a model), so a reader never finds one missing
    for name in CHURN_MEASURES:
        value, n_obs = churn_m.get(name, (None, 0))
        add(name, value, n_obs, goal=model_goals.get(name))
    if churn.model:
        add("red_threshold_probability", churn.model.thresholds["red"], churn.n_renewals)
        add("yellow_threshold_probability", churn.model.thresholds["yellow"], churn.n_renewals)
        add("base_churn_rate_fitted", churn.model.base_rate, churn.n_renewals)
    add("expansion_model_kind", None, expansion.n_renewals,
        expansion.model.kind if expansion.model else f"none: {expansion.reason}")
    for name in EXPANSION_MEASURES:
        value, n_obs = exp_m.get(name, (None, 0))
        add({"auc": "expansion_auc", "lift_top_decile": "expansion_lift"}.get(name, f"expansion_{name}"), value, n_obs)
    if expansion.model:
        add("expansion_high_threshold_propensity", expansion.model.thresholds["high"], expansion.n_renewals)
    add("n_renewals", churn.n_renewals, churn.n_renewals)
    add("n_churned_renewals", churn.n_positive, churn.n_renewals)
    add("n_expanded_renewals", expansion.n_positive, expansion.n_renewals)
    evidence = pd.DataFrame(out_rows, columns=EVIDENCE_COLUMNS).astype(
        {"value": "float64", "goal": "float64", "meets_goal": "boolean", "sample_size": "int64",
         "value_text": "string"})
    measures = {r["measure"]: (r["value_text"] if r["value_text"] is not None else r["value"]) for r in out_rows}
    return ModelRun(risk, drivers_frame, rel, evidence, churn, expansion, measures)


def _why(fit: FitOutcome) -> str:
    if fit.model is None:
        return fit.reason
    return fit.model.selection_why
