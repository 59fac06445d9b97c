"""Serving: the published DuckDB copy for BI (+ Parquet) and the static dashboard."""

from orchestration.defs.serve.assets import DASHBOARD, MARTS_DUCKDB, dashboard, marts_duckdb

serve_assets = [marts_duckdb, dashboard]

__all__ = ["DASHBOARD", "MARTS_DUCKDB", "dashboard", "marts_duckdb", "serve_assets"]
