"""Serving: the published DuckDB copy for BI (+ Parquet) and the static dashboard."""

from collections.abc import Iterable

import dagster as dg

from orchestration.defs.serve.assets import (
    DASHBOARD,
    MARTS_DUCKDB,
    build_marts_duckdb,
    dashboard,
    published_tables,
)


def build_serve_assets(upstream: Iterable[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The publish (downstream of every marts and audit table among `upstream`) and the dashboard."""
    return [build_marts_duckdb(published_tables(upstream)), dashboard]


__all__ = ["DASHBOARD", "MARTS_DUCKDB", "build_marts_duckdb", "build_serve_assets", "dashboard", "published_tables"]
