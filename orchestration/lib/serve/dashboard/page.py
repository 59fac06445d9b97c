"""Assembling the page: every view into the template, written atomically as index.html."""

from __future__ import annotations

import os
import string
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from orchestration.lib.serve.dashboard.blocks import empty, section
from orchestration.lib.serve.dashboard.data import Serving, as_date, load_settings
from orchestration.lib.serve.dashboard.formatting import NO_DATA, esc
from orchestration.lib.serve.dashboard.views import VIEW_BUILDERS, VIEWS, Context
from orchestration.lib.serve.publish import PUBLISH_LOG, connect_serving, serving_file

TEMPLATE = Path(__file__).with_name("template.html")
DASHBOARD_DIR = "dashboard"


@dataclass
class DashboardResult:
    path: Path
    figures: dict[str, float | int | None]
    as_of: date | None
    published_at: str | None
    seconds: float
    view_errors: dict[str, str] = field(default_factory=dict)


def _as_of(d: Serving) -> date | None:
    candidates = []
    if d.has("marts", "account_health", "as_of_date"):
        candidates.append(d.scalar("select max(as_of_date) from marts.account_health"))
    if d.has_metric_values:
        candidates.append(d.scalar("select max(period_start) from marts.metric_values where grain in ('day', 'rolling')"))
    dates = [as_date(c) for c in candidates if c is not None]
    return max(dates) if dates else None


def render_dashboard(serving: Path | str, out_dir: Path | str | None = None, title: str = "Customer Health") -> DashboardResult:
    """Render serving/dashboard/index.html from the serving copy (a serving folder or file).

    A missing serving copy, table or metric renders as "no data yet"; a view that fails for any
    other reason shows its error in place, and the other views still render.
    """
    started = time.monotonic()
    serving = Path(serving)
    sfile = serving_file(serving) if serving.is_dir() or serving.suffix != ".duckdb" else serving
    out_dir = Path(out_dir) if out_dir is not None else sfile.parent / DASHBOARD_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_settings()
    min_sample = int(cfg.get("min_sample_size", 30))
    windows = [int(w) for w in cfg.get("rolling_windows", [30, 60, 90])]
    currency = str(cfg.get("reporting_currency", "USD"))

    con = connect_serving(sfile) if sfile.exists() else None
    try:
        data = Serving(con, min_sample=min_sample)
        published_at = None
        if con is not None and ("main", PUBLISH_LOG.split(".")[1]) in data.columns:
            published_at = data.scalar(f"select max(published_at) from {PUBLISH_LOG}")
        as_of = _as_of(data)
        ctx = Context(data=data, as_of=as_of, currency=currency, min_sample=min_sample, windows=windows,
                      frt_targets=dict(cfg.get("frt_target_seconds") or {}), settings=cfg)
        body, errors = [], {}
        for view_id, view_title in VIEWS:
            lede, builder = VIEW_BUILDERS[view_id]
            try:
                content = builder(ctx)
            except Exception as exc:  # one broken view never takes the page down
                errors[view_id] = f"{type(exc).__name__}: {exc}"
                content = f'<div class="card"><div class="error-note">This view could not be built: {esc(errors[view_id])}</div>{empty()}</div>'
            body.append(section(view_id, view_title, esc(lede), content))
    finally:
        if con is not None:
            con.close()

    if con is None:
        asof_text = f"{NO_DATA}: nothing has been published to {esc(sfile)}"
    else:
        asof_text = f"Data as of {as_of:%A %d %B %Y}" if as_of else f"Data as of: {NO_DATA}"
        if published_at:
            asof_text += f" · published {esc(str(published_at)[:16])} UTC"
    nav = "".join(f'<a href="#{v}">{esc(t)}</a>' for v, t in VIEWS)
    footer = (
        "Definitions: <code>docs/metrics.md</code>; every figure comes from the serving copy "
        f"<code>{esc(sfile.name)}</code> (tables <code>marts.metric_values</code>, <code>marts.account_health</code>, "
        "<code>marts.alerts</code>, ...). Lineage and checks: the Dagster UI. "
        f"Generated {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by <code>orchestration/lib/serve/dashboard/</code>."
    )
    page = string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=esc(title), asof=asof_text, nav=nav, body="\n".join(body), footer=footer
    )
    target = out_dir / "index.html"
    tmp = out_dir / f".index.html.tmp-{os.getpid()}"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return DashboardResult(
        path=target,
        figures=ctx.figures,
        as_of=as_of,
        published_at=str(published_at) if published_at else None,
        seconds=time.monotonic() - started,
        view_errors=errors,
    )
