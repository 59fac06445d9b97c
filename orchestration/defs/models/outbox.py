"""Acting on alerts: append every alert never emitted before to <data>/outbox/alerts.jsonl.

The ledger <data>/outbox/alerts_emitted.txt keeps the alert_ids already emitted (one per line), so
a re-run, or a consumer that truncates the outbox, never gets an alert twice.
"""


import json
from pathlib import Path

import dagster as dg
import pandas as pd

from orchestration.defs.resources import Warehouse, as_warehouse
from orchestration.lib.core.warehouse import POOL

LEDGER = "alerts_emitted.txt"
OUTBOX = "alerts.jsonl"


def _json_value(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def emit_new_alerts(warehouse: Warehouse | Path, outbox_dir: Path) -> int:
    """Append alerts of marts.alerts not in the ledger; return how many were emitted."""
    alerts = as_warehouse(warehouse).read("select * from marts.alerts order by triggered_at, alert_id")
    outbox_dir.mkdir(parents=True, exist_ok=True)
    ledger = outbox_dir / LEDGER
    emitted = set(ledger.read_text().split()) if ledger.exists() else set()
    new = alerts[~alerts["alert_id"].isin(emitted)]
    if new.empty:
        return 0
    lines = [
        json.dumps({col: _json_value(row[col]) for col in alerts.columns}, sort_keys=True)
        for _, row in new.iterrows()
    ]
    with open(outbox_dir / OUTBOX, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(ledger, "a", encoding="utf-8") as fh:
        fh.write("\n".join(new["alert_id"]) + "\n")
    return len(new)


@dg.asset(
    key=["models", "alerts_outbox"],
    group_name="models",
    kinds={"python"},
    deps=[dg.AssetKey(["marts", "alerts"])],
    pool=POOL,
    description="Appends alerts never emitted before to <data>/outbox/alerts.jsonl (one JSON object per line).",
)
def alerts_outbox(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    paths = warehouse.paths()
    n = emit_new_alerts(warehouse, paths.outbox)
    context.log.info(f"{n} new alerts emitted to {paths.outbox / OUTBOX}")
    return dg.MaterializeResult(metadata={"emitted": n, "outbox": str(paths.outbox / OUTBOX)})
