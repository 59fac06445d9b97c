"""Ingest assets: one per contract entity, partitioned by extract date (see assets.py).

Checks are returned from the assets themselves (check_specs), so `ingest_checks` is empty; it
exists so definitions can list it without knowing that.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ingest.assets import build_ingest_asset, ingest_assets

ingest_checks: list[dg.AssetChecksDefinition] = []

__all__ = ["build_ingest_asset", "ingest_assets", "ingest_checks"]
