"""Health score weights fitted from churn history. Pure: no Dagster, no I/O.

`fit_weights` turns account-days 30-90 days before a renewal into a logistic regression of
"this renewal churned" on the six component scores, validated in time (fitted on the earlier
renewals, scored on the later ones). Components are "higher is healthier", so a component
protects against churn when its coefficient is negative: its weight is that protection
(negative coefficient, clipped at 0), normalized to sum 1. Below `min_renewals` resolved
renewals (or with one class only) the configured default weights are returned instead.

How well the finished score predicts churn (its back-test) is measured in SQL:
marts.health_score_evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

# scikit-learn is imported where it is used: importing it costs ~2.3 s, and this module is loaded
# with the Dagster definitions by every run, sensor tick and UI start, most of which never fit.

COMPONENTS: tuple[str, ...] = ("usage", "adoption", "onboarding", "sentiment", "support", "engagement")
RENEWAL_KEY = ["account_id", "renewal_date"]


@dataclass
class FitResult:
    weights: dict[str, float]
    source: str  # 'fitted' | 'default'
    n_renewals: int
    n_churned: int
    n_rows: int
    auc_validation: float | None = None  # AUC of the weighted score on the held-out, later renewals
    pr_auc_validation: float | None = None
    lift_top_decile: float | None = None  # churn rate of the riskiest 10 % / base rate, held out
    auc_default_validation: float | None = None  # the default weights on the same rows, for comparison
    n_train_renewals: int = 0
    n_validation_renewals: int = 0
    coefficients: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    models: object = None  # the churn and expansion models fitted beside (churn_model.ModelRun)

    def weights_frame(self) -> pd.DataFrame:
        """The health_weights.parquet rows: component, weight, source, n_renewals, auc_validation."""
        return pd.DataFrame(
            {
                "component": list(self.weights),
                "weight": [float(w) for w in self.weights.values()],
                "source": self.source,
                "n_renewals": pd.Series([self.n_renewals] * len(self.weights), dtype="int64"),
                "auc_validation": pd.Series([self.auc_validation] * len(self.weights), dtype="float64"),
            }
        )

    def evidence_frame(self) -> pd.DataFrame:
        """The health_model_evidence.parquet rows: measure, value."""
        measures = {
            "auc_validation": self.auc_validation,
            "pr_auc_validation": self.pr_auc_validation,
            "lift_top_decile_validation": self.lift_top_decile,
            "auc_default_weights_validation": self.auc_default_validation,
            "n_renewals": self.n_renewals,
            "n_churned_renewals": self.n_churned,
            "n_training_rows": self.n_rows,
            "n_train_renewals": self.n_train_renewals,
            "n_validation_renewals": self.n_validation_renewals,
            "is_fitted": 1.0 if self.source == "fitted" else 0.0,
            **{f"weight_{c}": w for c, w in self.weights.items()},
            **{f"coefficient_{c}": v for c, v in self.coefficients.items()},
        }
        return pd.DataFrame(
            {"measure": list(measures), "value": pd.Series([_f(v) for v in measures.values()], dtype="float64")}
        )


def _f(value) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def normalize(weights: Mapping[str, float], components: Sequence[str] = COMPONENTS) -> dict[str, float]:
    total = sum(max(0.0, float(weights.get(c, 0.0))) for c in components)
    if total <= 0:
        raise ValueError("weights sum to zero")
    return {c: max(0.0, float(weights.get(c, 0.0))) / total for c in components}


def training_rows(
    components: pd.DataFrame,
    renewals: pd.DataFrame,
    window_days: Sequence[int] = (30, 90),
) -> pd.DataFrame:
    """Account-days `window_days` before a resolved renewal, labelled by whether it churned.

    components: account_id, as_of_date, <component>_score. renewals: account_id, renewal_date,
    churned (null while unresolved: dropped). Returns components' columns plus renewal_date,
    churned (0/1) and days_before, in the order of `components`, then of `renewals`.

    Joined by DuckDB over the two frames: pandas' merge paired every account-day with every
    renewal of its account before filtering (17 M pairs at preset M, 4.9 s of the fit's 7.7 s in
    every run); the range condition in the join leaves 0.9 M.
    """
    resolved = renewals.dropna(subset=["churned"])[["account_id", "renewal_date", "churned"]]
    if components.empty or resolved.empty:
        return pd.DataFrame(columns=[*components.columns, "renewal_date", "churned", "days_before"])
    lo, hi = (int(d) for d in window_days)
    payload = ", ".join(f'c."{col}"' for col in components.columns)
    con = duckdb.connect()
    try:
        con.register("c", components.assign(_c=np.arange(len(components))))
        con.register("r", resolved.assign(_r=np.arange(len(resolved))))
        rows = con.execute(
            f"""
            select {payload}, r.renewal_date, cast(r.churned as bigint) as churned,
                   datediff('day', c.as_of_date, r.renewal_date) as days_before
            from c join r on c.account_id = r.account_id
                and datediff('day', c.as_of_date, r.renewal_date) between {lo} and {hi}
            order by c._c, r._r
            """
        ).df()
    finally:
        con.close()
    return rows


def feature_matrix(rows: pd.DataFrame, components: Sequence[str] = COMPONENTS) -> np.ndarray:
    """Component scores / 100; a missing component takes the mean of the row's present ones
    (what the renormalized score does), 0.5 when none is present."""
    x = rows[[f"{c}_score" for c in components]].astype("float64").to_numpy() / 100.0
    row_mean = np.nanmean(np.where(np.isnan(x).all(axis=1, keepdims=True), 0.5, x), axis=1)
    row_mean = np.where(np.isnan(row_mean), 0.5, row_mean)
    return np.where(np.isnan(x), row_mean[:, None], x)


def weighted_score(x: np.ndarray, weights: Mapping[str, float], components: Sequence[str] = COMPONENTS) -> np.ndarray:
    w = np.array([weights[c] for c in components], dtype="float64")
    return x @ w / w.sum()


def _renewal_weights(rows: pd.DataFrame) -> np.ndarray:
    """Each renewal counts once, however many of its days are scored."""
    counts = rows.groupby(RENEWAL_KEY)["churned"].transform("size").to_numpy()
    return 1.0 / counts


def _lift_top_decile(y: np.ndarray, risk: np.ndarray) -> float | None:
    if len(y) < 10 or y.mean() == 0:
        return None
    cut = np.quantile(risk, 0.9)
    top = risk >= cut
    return float(y[top].mean() / y.mean())


def _two_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def fit_weights(
    rows: pd.DataFrame,
    defaults: Mapping[str, float],
    min_renewals: int,
    validation_share: float = 0.3,
    components: Sequence[str] = COMPONENTS,
) -> FitResult:
    """Fit component weights on `training_rows` output, validated in time; defaults when too little history."""
    default_weights = normalize(defaults, components)
    renewals = rows[RENEWAL_KEY + ["churned"]].drop_duplicates(RENEWAL_KEY) if not rows.empty else rows
    n_renewals = len(renewals)
    n_churned = int(renewals["churned"].sum()) if n_renewals else 0
    base = FitResult(
        weights=default_weights, source="default", n_renewals=n_renewals, n_churned=n_churned, n_rows=len(rows)
    )
    if n_renewals < min_renewals:
        base.reason = f"{n_renewals} renewals < min_renewals_for_fit {min_renewals}"
        return base
    if not _two_classes(renewals["churned"].to_numpy()):
        base.reason = "renewals of one outcome only"
        return base
    # scikit-learn only once there is something to fit: importing it is ~2 s of a run that keeps
    # the defaults (measured on a tiny run)
    from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: PLC0415 (see the imports)

    # time split: the earliest renewals train, the latest validation_share validate
    order = renewals.sort_values(["renewal_date", "account_id"]).reset_index(drop=True)
    n_val = max(1, int(round(n_renewals * validation_share)))
    cutoff_date = order["renewal_date"].iloc[n_renewals - n_val]
    is_val = (pd.to_datetime(rows["renewal_date"]) >= pd.to_datetime(cutoff_date)).to_numpy()
    x = feature_matrix(rows, components)
    y = rows["churned"].to_numpy().astype(int)
    sw = _renewal_weights(rows)

    result = FitResult(
        weights=default_weights, source="default", n_renewals=n_renewals, n_churned=n_churned, n_rows=len(rows),
        n_train_renewals=int(order["renewal_date"].lt(cutoff_date).sum()),
        n_validation_renewals=int(order["renewal_date"].ge(cutoff_date).sum()),
    )
    if _two_classes(y[~is_val]) and _two_classes(y[is_val]):
        train_weights = _weights_from(x[~is_val], y[~is_val], sw[~is_val], components)
        if train_weights is not None:
            risk = -weighted_score(x[is_val], train_weights, components)
            result.auc_validation = float(roc_auc_score(y[is_val], risk, sample_weight=sw[is_val]))
            result.pr_auc_validation = float(average_precision_score(y[is_val], risk, sample_weight=sw[is_val]))
            result.lift_top_decile = _lift_top_decile(y[is_val], risk)
        default_risk = -weighted_score(x[is_val], default_weights, components)
        result.auc_default_validation = float(roc_auc_score(y[is_val], default_risk, sample_weight=sw[is_val]))

    model = _logistic(x, y, sw)
    result.coefficients = dict(zip(components, (float(c) for c in model.coef_[0]), strict=True))
    protective = {c: max(0.0, -v) for c, v in result.coefficients.items()}
    if sum(protective.values()) <= 0:
        result.reason = "no component protects against churn in this history"
        return result
    result.weights = normalize(protective, components)
    result.source = "fitted"
    return result


def _logistic(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray):
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 (see the imports)

    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    model.fit(x, y, sample_weight=sample_weight)
    return model


def _weights_from(x, y, sw, components) -> dict[str, float] | None:
    coef = _logistic(x, y, sw).coef_[0]
    protective = {c: max(0.0, -float(v)) for c, v in zip(components, coef, strict=True)}
    return normalize(protective, components) if sum(protective.values()) > 0 else None
