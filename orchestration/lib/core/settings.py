"""The project's one configuration block, `vars.chw` in dbt_project/dbt_project.yml.

dbt models read it with `var('chw')`; Python reads it here, so a threshold, weight or
target is written in exactly one place.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from orchestration.lib.core.paths import DBT_PROJECT_DIR


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    with open(DBT_PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["vars"]["chw"]
