"""Python model assets of the health score: the fitted weights and the churn and expansion models.

They read the warehouse read-only (the `Warehouse` resource, either engine) and write Parquet to
CHW_MODELS_DIR (paths.models), which dbt reads back through the `models` source. The plain
function `write_health_weights` does the work (the end-to-end tests call it); the asset wraps it.
The score's back-test is SQL (marts.health_score_evidence): it reads the published
account_health, so in Python it would need a dbt step of its own after the scored models.
"""


from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from orchestration.defs.resources import Warehouse, as_warehouse
from orchestration.lib.core import settings
from orchestration.lib.core.warehouse import POOL
from orchestration.lib.models import churn_model, health_model


def _read(warehouse: Warehouse, sql: str) -> pd.DataFrame:
    return warehouse.read(sql)


def _write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    # microsecond timestamps: pandas writes nanoseconds, which Spark cannot read (DuckDB reads both)
    frame.to_parquet(tmp, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    tmp.replace(path)  # readers never see a half-written file
    return path


def _relation_exists(warehouse: Warehouse, schema: str, name: str) -> bool:
    return warehouse.relation_exists(schema, name)


def write_health_weights(warehouse: Warehouse | Path, models_dir: Path, cfg: dict[str, Any] | None = None) -> health_model.FitResult:
    """Fit (or default) the weights and write health_weights.parquet and health_model_evidence.parquet;
    then the churn and expansion models (write_health_models).

    Always writes every file: with no warehouse, no components or too little history the
    configured defaults are written, so dbt can always read them.
    """
    warehouse = as_warehouse(warehouse)
    cfg = cfg or settings.load()
    health = cfg["health"]
    cols = ", ".join(f"{c}_score" for c in health_model.COMPONENTS)
    if _relation_exists(warehouse, "intermediate", "int_health__components") and _relation_exists(
        warehouse, "intermediate", "int_health__renewals"
    ):
        # in key order: the fit sums floats, and a table's scan order is not fixed (a parallel
        # build writes rows in any order): unordered, the same components gave weights differing
        # in the 15th digit (seen between two builds of the demo extracts)
        components = _read(warehouse, f"select account_id, as_of_date, {cols} from intermediate.int_health__components "
                                      "order by account_id, as_of_date")
        renewals = _read(warehouse, "select account_id, renewal_date, churned from intermediate.int_health__renewals "
                                    "order by account_id, renewal_date")
    else:
        components = pd.DataFrame(columns=["account_id", "as_of_date", *[f"{c}_score" for c in health_model.COMPONENTS]])
        renewals = pd.DataFrame(columns=["account_id", "renewal_date", "churned"])
    rows = health_model.training_rows(components, renewals, tuple(health["training_window_days"]))
    result = health_model.fit_weights(
        rows,
        defaults=health["weights"],
        min_renewals=int(health["min_renewals_for_fit"]),
        validation_share=float(health.get("validation_share", 0.3)),
    )
    _write_parquet(result.weights_frame(), models_dir / "health_weights.parquet")
    _write_parquet(result.evidence_frame(), models_dir / "health_model_evidence.parquet")
    result.models = write_health_models(warehouse, models_dir, cfg, renewals)
    return result


def write_health_models(warehouse: Warehouse | Path, models_dir: Path, cfg: dict[str, Any] | None = None,
                        renewals: pd.DataFrame | None = None) -> churn_model.ModelRun:
    """Fit the churn and expansion models (orchestration/lib/models/churn_model.py) on
    intermediate.int_health__model_inputs, score every account-day and write health_risk.parquet
    (probabilities, bands), health_risk_drivers.parquet (top 3 drivers of the recent days),
    health_reliability.parquet (held-out deciles) and health_model_heldout.parquet (held-out
    evidence). Below min_renewals_for_fit the files hold null probabilities and no drivers:
    account_health then keeps the configured weights and bands."""
    warehouse = as_warehouse(warehouse)
    cfg = cfg or settings.load()
    health = cfg["health"]
    have = all(_relation_exists(warehouse, "intermediate", t) for t in
               ("int_health__model_inputs", "int_health__renewals", "int_health__expansions",
                "int_health__extract_bounds"))
    if have:
        cols = ", ".join(churn_model.INPUT_COLUMNS)
        inputs = _read(warehouse, f"select {cols} from intermediate.int_health__model_inputs order by account_id, as_of_date")
        if renewals is None:
            renewals = _read(warehouse, "select account_id, renewal_date, churned from intermediate.int_health__renewals "
                                        "order by account_id, renewal_date")
        expansions = _read(warehouse, "select account_id, expansion_date from intermediate.int_health__expansions "
                                      "order by account_id, expansion_date")
        bounds = _read(warehouse, "select latest_extract_date from intermediate.int_health__extract_bounds")
        latest = bounds["latest_extract_date"].iloc[0] if len(bounds) else None
    else:
        inputs = pd.DataFrame({c: pd.Series(dtype="float64") for c in churn_model.INPUT_COLUMNS})
        inputs = inputs.astype({"account_id": "string", "tier": "string", "as_of_date": "datetime64[ns]",
                                "renewal_date": "datetime64[ns]"})
        renewals = pd.DataFrame(columns=["account_id", "renewal_date", "churned"])
        expansions = pd.DataFrame(columns=["account_id", "expansion_date"])
        latest = None
    latest = None if latest is None or pd.isna(latest) else latest
    out = churn_model.run(inputs, renewals, expansions, health, latest_date=latest)
    _write_parquet(out.risk, models_dir / "health_risk.parquet")
    _write_parquet(out.drivers.astype({"account_id": "string", "driver_rank": "int64", "feature": "string",
                                       "contribution": "float64", "feature_value": "float64"}),
                   models_dir / "health_risk_drivers.parquet")
    _write_parquet(out.reliability, models_dir / "health_reliability.parquet")
    _write_parquet(out.evidence, models_dir / "health_model_heldout.parquet")
    return out


def _meta(value):
    return None if value is None or pd.isna(value) else float(value)


_FIT_DEPS = [dg.AssetKey(["intermediate", t]) for t in
             ("int_health__components", "int_health__renewals", "int_health__model_inputs", "int_health__expansions")]
# one Python step writes five files dbt reads as five sources: one asset each (dagster-dbt maps
# every source to its own asset key)
MODEL_OUTPUTS = {
    "health_weights": (
        "Health component weights fitted by logistic regression on account-days 30-90 days before a renewal, "
        "labelled by churn, validated in time (earlier renewals fit, later ones score); defaults from "
        "vars.chw.health.weights below min_renewals_for_fit. <models>/health_weights.parquet and "
        "health_model_evidence.parquet."),
    "health_risk": (
        "Churn probability and expansion propensity per account-day from the models learned on the history "
        "(regularized logistic regression or monotone gradient boosting, whichever wins forward in time; "
        "calibrated out of time; bands at 3x / 1.5x the base churn rate). Null below min_renewals_for_fit. "
        "<models>/health_risk.parquet."),
    "health_risk_drivers": (
        "The churn model's top three drivers per account-day of the last explain_days days (signed log-odds "
        "contributions). <models>/health_risk_drivers.parquet."),
    "health_reliability": (
        "Predicted vs observed churn by decile on the renewals held out in time. <models>/health_reliability.parquet."),
    "health_model_heldout": (
        "The churn and expansion models' evidence on the renewals held out in time: model kind and why, AUC, "
        "PR-AUC, Brier, calibration error, red-band lift, share green, churners below green 60-90 days ahead, "
        "median lead time, expansion AUC and lift. <models>/health_model_heldout.parquet."),
}


@dg.multi_asset(
    name="health_models",
    specs=[
        dg.AssetSpec(["models", name], group_name="models", kinds={"python", "scikit-learn"}, deps=_FIT_DEPS,
                     description=text, skippable=False)
        for name, text in MODEL_OUTPUTS.items()
    ],
    pool=POOL,
)
def health_weights(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """The weight fit and the churn and expansion models: one fit, five outputs."""
    result = write_health_weights(warehouse, warehouse.paths().models)
    if result.reason:
        context.log.info(f"health weights: defaults kept ({result.reason})")
    models = result.models
    if models is not None and not models.in_force:
        context.log.info(f"churn model: not in force ({models.churn.reason}); configured weights and bands kept")
    yield dg.MaterializeResult(
        asset_key=["models", "health_weights"],
        metadata={
            "source": result.source,
            "n_renewals": result.n_renewals,
            "n_churned_renewals": result.n_churned,
            "n_training_rows": result.n_rows,
            "auc_validation": _meta(result.auc_validation),
            "pr_auc_validation": _meta(result.pr_auc_validation),
            "lift_top_decile_validation": _meta(result.lift_top_decile),
            "auc_default_weights_validation": _meta(result.auc_default_validation),
            "weights": dg.MetadataValue.json({k: round(v, 4) for k, v in result.weights.items()}),
            "reason": result.reason or "fitted",
        },
    )
    in_force = bool(models is not None and models.in_force)
    yield dg.MaterializeResult(
        asset_key=["models", "health_risk"],
        metadata={"model_in_force": in_force, "rows": len(models.risk) if models is not None else 0,
                  "model_kind": models.churn.model.kind if in_force else "default"},
    )
    yield dg.MaterializeResult(asset_key=["models", "health_risk_drivers"],
                               metadata={"rows": len(models.drivers) if models is not None else 0})
    yield dg.MaterializeResult(
        asset_key=["models", "health_reliability"],
        metadata={"reliability": dg.MetadataValue.md(models.reliability.to_markdown(index=False))
                  if models is not None else ""},
    )
    yield dg.MaterializeResult(asset_key=["models", "health_model_heldout"], metadata=_model_metadata(models))


def _model_metadata(models: churn_model.ModelRun | None) -> dict[str, Any]:
    """The churn and expansion models' held-out evidence as the asset's metadata."""
    if models is None:
        return {}
    meta: dict[str, Any] = {"model_in_force": models.in_force}
    for measure, value in models.measures.items():
        meta[f"model_{measure}"] = value if isinstance(value, str) else _meta(value)
    meta["model_evidence"] = dg.MetadataValue.md(models.evidence.to_markdown(index=False))
    meta["model_reliability"] = dg.MetadataValue.md(models.reliability.to_markdown(index=False))
    return meta
