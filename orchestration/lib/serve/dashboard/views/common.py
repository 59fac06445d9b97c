"""What every view shares: the render context and the latest health scores and account names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from orchestration.lib.serve.dashboard.data import Serving, as_date

AT_RISK_ROWS = 12
TREND_DAYS = 365  # rolling-window charts show the last year
MONTHS = 12  # monthly charts and sparklines show the last 12 months


@dataclass
class Context:
    data: Serving
    as_of: date | None
    currency: str
    min_sample: int
    windows: list[int]
    frt_targets: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # vars.chw
    figures: dict[str, float | int | None] = field(default_factory=dict)


def latest_health(ctx: Context) -> tuple[date | None, list[dict[str, Any]]]:
    d = ctx.data
    if not d.has("marts", "account_health", "account_id", "as_of_date", "health_score"):
        return None, []
    last = d.scalar("select max(as_of_date) from marts.account_health")
    if last is None:
        return None, []
    rows = d.rows("select * from marts.account_health where as_of_date = ?", [last])
    return as_date(last), rows


def account_names(ctx: Context) -> dict[str, dict[str, Any]]:
    d = ctx.data
    if not d.has("marts", "dim_accounts", "account_id"):
        return {}
    cols = [c for c in ("account_name", "industry", "tier", "csm_owner_id", "csm_owner_name", "arr") if d.has("marts", "dim_accounts", c)]
    sel = ", ".join(["account_id", *cols])
    return {str(r["account_id"]): r for r in d.rows(f"select {sel} from marts.dim_accounts")}

