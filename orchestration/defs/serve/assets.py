"""Serving for BI: the published DuckDB copy (+ Parquet) and the static dashboard.

`serve/marts_duckdb` copies the marts and audit schemas of the warehouse into a new file and swaps
it in atomically (orchestration/lib/serve/publish.py), so BI tools read a complete copy that a running
pipeline never locks. `serve/dashboard` renders serving/dashboard/index.html from that copy
(orchestration/lib/serve/dashboard/). Both run at the end of every transform run (transform_job
selects everything downstream of ingestion); a failed dbt build skips them, so the previous copy
and dashboard stay in place.
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.defs.resources import Warehouse
from orchestration.lib.core.warehouse import POOL
from orchestration.lib.serve.dashboard import render_dashboard
from orchestration.lib.serve.publish import DEFAULT_SCHEMAS, publish

OWNERS = ["team:data-engineering"]
DASHBOARD_OWNERS = ["team:data-engineering", "team:customer-success-ops"]
MARTS_DUCKDB = dg.AssetKey(["serve", "marts_duckdb"])
DASHBOARD = dg.AssetKey(["serve", "dashboard"])


def published_tables(asset_defs: Iterable[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The asset keys of the tables the publish copies (schemas `marts` and `audit`)."""
    return sorted(
        {key for assets in asset_defs for key in assets.keys if key.path[0] in DEFAULT_SCHEMAS},
        key=lambda key: key.to_user_string(),
    )


def build_marts_duckdb(published: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The publish asset, downstream of every table it copies (`published_tables` of the dbt
    assets). With only a few marts listed, Dagster could publish before a mart a later step
    builds: the first run's copy would lack it, later copies hold the previous run's."""

    @dg.asset(
        key=MARTS_DUCKDB,
        deps=list(published),
        group_name="serve",
        owners=OWNERS,
        kinds={"duckdb", "parquet"},
        pool=POOL,  # the publish reads the warehouse: it queues behind dbt, the writer
        tags={"layer": "serve"},
        description=(
            "The published copy for BI: every table of the warehouse's `marts` and `audit` schemas, copied into "
            "a new DuckDB file and swapped in atomically as `serving/chw.duckdb` (readers of the old copy keep "
            "it; nobody sees a half-built mart; the pipeline is never blocked by a reader), plus one Parquet file "
            "per mart in `serving/parquet/`. Open it read-only: `ATTACH 'serving/chw.duckdb' AS serving "
            "(READ_ONLY); USE serving;`."
        ),
    )
    def marts_duckdb(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        paths = warehouse.paths()
        result = publish(paths, paths.serving)
        marts = [t for t in result.tables if t.schema == "marts"]
        context.log.info(
            f"published {len(result.tables)} tables ({result.rows:,} rows) to {result.serving_file} in {result.seconds:.2f} s"
        )
        return dg.MaterializeResult(
            metadata={
                "serving_file": dg.MetadataValue.path(str(result.serving_file)),
                "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
                "tables": dg.MetadataValue.int(len(result.tables)),
                "mart_tables": dg.MetadataValue.int(len(marts)),
                "rows": dg.MetadataValue.int(result.rows),
                "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
                "parquet_files": dg.MetadataValue.int(len(result.parquet_files)),
                "table_rows": dg.MetadataValue.md(
                    "| table | rows |\n|---|---:|\n" + "\n".join(f"| {t.qualified} | {t.rows:,} |" for t in result.tables)
                ),
                "published_at": dg.MetadataValue.text(result.published_at),
            }
        )

    return marts_duckdb


@dg.asset(
    key=DASHBOARD,
    deps=[MARTS_DUCKDB],
    group_name="serve",
    owners=DASHBOARD_OWNERS,
    kinds={"html"},
    tags={"layer": "serve"},
    description=(
        "Static customer-health dashboard, `serving/dashboard/index.html` (no server, renders offline): "
        "real-time health (at-risk accounts with churn probability and drivers, recent responses, alerts, the "
        "score's evidence), program (reviews due per owner team, breaches first), trends (NPS/CSAT/CES/ACSI "
        "rolling 30/60/90 days, survey response, fatigue and timeliness, churn, retention), segments (tier, "
        "industry, onboarding cohort, CSM), operations (first response, resolution, FCR, escalations, calls) "
        "and executive (the headline set, NRR, GRR, churn, CLTV). Reads the serving copy only; sample sizes "
        "and confidence intervals shown, low samples marked, gaps left as gaps."
    ),
)
def dashboard(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    result = render_dashboard(warehouse.paths().serving)
    for view, error in result.view_errors.items():
        context.log.warning(f"dashboard view {view} could not be built: {error}")
    figures = result.figures
    metadata: dict[str, dg.MetadataValue] = {
        "dashboard_path": dg.MetadataValue.path(str(result.path)),
        "dashboard_url": dg.MetadataValue.url(result.path.as_uri()),
        "as_of": dg.MetadataValue.text(result.as_of.isoformat() if result.as_of else "no data yet"),
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        "views_failed": dg.MetadataValue.int(len(result.view_errors)),
    }
    for key, label in (("nps", "latest_nps"), ("csat_pct", "latest_csat_pct"), ("health_score_avg", "health_score_avg"),
                       ("nrr_pct", "latest_nrr_pct")):
        if figures.get(key) is not None:
            metadata[label] = dg.MetadataValue.float(round(float(figures[key]), 2))
    for key in ("at_risk_accounts", "accounts_scored", "open_alerts", "overdue_alerts", "reviews_due", "reviews_breached"):
        if figures.get(key) is not None:
            metadata[key] = dg.MetadataValue.int(int(figures[key]))
    missing = [k for k in ("nps", "csat_pct", "at_risk_accounts") if figures.get(k) is None]
    if missing:
        metadata["no_data_yet"] = dg.MetadataValue.text(", ".join(missing))
    return dg.MaterializeResult(metadata=metadata)
