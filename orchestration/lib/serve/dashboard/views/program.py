"""Program: what each owner team has to review now, breaches first; and the headline set the
executive view leads with.

Reads `marts.metric_catalog` (one row per metric: owner team, cadence, direction, threshold,
headline rank) and `marts.metric_reviews` (one row per metric, segment and review period that has
come due). "Due now" is, per metric and segment, the latest review period whose due date has come
by the data's date. Until those marts exist the view says "not available yet".
"""

from __future__ import annotations

from typing import Any

from orchestration.lib.serve.dashboard.blocks import card, empty, tile, unavailable
from orchestration.lib.serve.dashboard.charts import SERIES_COLORS, sparkline
from orchestration.lib.serve.dashboard.data import (
    Point,
    Serving,
    as_date,
    due_reviews,
    headline_metrics,
    num,
    read_catalog,
)
from orchestration.lib.serve.dashboard.formatting import (
    CADENCE_GRAIN,
    METRICS,
    SEGMENT_LABELS,
    TEAM_LABELS,
    esc,
    fmt_metric,
    fmt_n,
    fmt_number,
    fmt_period,
    metric_label,
)
from orchestration.lib.serve.dashboard.views.common import MONTHS, Context

PROGRAM_TABLES = "marts.metric_catalog, marts.metric_reviews"
PROGRAM_WHAT = ("They list every metric's owner team, review cadence and threshold (vars.chw), and the reviews "
                "that have come due; this view fills in once the program marts are published.")


def fmt_value(metric: str, value: float | None, cat: dict[str, Any] | None, currency: str) -> str:
    """A value in its unit: the dashboard's own format where it knows the metric, else the catalog's unit."""
    if metric in METRICS or value is None:
        return fmt_metric(metric, value, currency)
    unit = str((cat or {}).get("unit") or "")
    text = fmt_number(value, 1)
    if unit in ("%", "pct", "percent"):
        return text + "%"
    return f"{text}\u2009{unit}" if unit and unit not in ("count", "ratio", "number") else text


def _direction(metric: str, cat: dict[str, Any] | None) -> str | None:
    d = (cat or {}).get("direction")
    if d in ("higher_is_better", "lower_is_better"):
        return d
    info = METRICS.get(metric)
    if info is None or info.higher_is_better is None:
        return None
    return "higher_is_better" if info.higher_is_better else "lower_is_better"


def change_html(metric: str, change: float | None, cat: dict[str, Any] | None, currency: str) -> str:
    """The change since the previous period, green when it went the metric's good way, red when not."""
    if change is None:
        return '<span class="legend">–</span>'
    direction = _direction(metric, cat)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    cls = ""
    if direction and change != 0:
        cls = "up" if (change > 0) == (direction == "higher_is_better") else "down"
    info = METRICS.get(metric)
    if info and info.money:
        text = ("+" if change > 0 else "") + fmt_metric(metric, change, currency)
    else:
        decimals = info.decimals if info else 1
        unit = " pts" if info and info.unit == "%" else ""  # a change of a percentage is in points
        text = fmt_number(change, decimals, signed=True) + unit
    return f'<span class="{cls}">{arrow} {esc(text)}</span>'


def threshold_text(metric: str, r: dict[str, Any], cat: dict[str, Any] | None, currency: str) -> str:
    threshold = num(r.get("threshold"))
    if threshold is None:
        threshold = num((cat or {}).get("threshold"))
    if threshold is None:
        return '<span class="legend">none</span>'
    direction = _direction(metric, cat)
    rel = {"higher_is_better": "below", "lower_is_better": "above"}.get(direction or "", "beyond")
    return f'<span title="breached when {rel} this value">{rel} {esc(fmt_value(metric, threshold, cat, currency))}</span>'


def status_html(r: dict[str, Any]) -> str:
    if r.get("is_breached"):
        return '<span class="badge breach">breached</span>'
    if r.get("value") is None:
        return '<span class="badge low">no value</span>'
    if r.get("is_low_sample"):
        return '<span class="badge low">low sample</span>'
    if num(r.get("threshold")) is None:
        return '<span class="legend">no threshold</span>'
    return '<span class="badge ok">within threshold</span>'


def segment_text(r: dict[str, Any]) -> str:
    st, sv = str(r.get("segment_type") or "all"), str(r.get("segment_value") or "all")
    if st == "all":
        return "All accounts"
    return f'{esc(SEGMENT_LABELS.get(st, st.replace("_", " ").capitalize()))}: <b>{esc(sv)}</b>'


def review_sort_key(r: dict[str, Any], catalog: dict[str, dict[str, Any]]) -> tuple:
    """Breaches first; then firm values before low-sample ones and missing ones; headline metrics
    before the rest; the whole book before its segments."""
    cat = catalog.get(str(r["metric"]), {})
    rank = num(cat.get("headline_rank")) if cat.get("is_headline") else None
    return (
        not r.get("is_breached"),
        r.get("value") is None,
        bool(r.get("is_low_sample")),
        r.get("segment_type") != "all",
        rank if rank is not None else 1e9,
        str(r["metric"]),
        str(r.get("segment_type")),
        str(r.get("segment_value")),
    )


def review_rows(rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]], currency: str) -> str:
    out = []
    for r in rows:
        metric = str(r["metric"])
        cat = catalog.get(metric)
        cadence = str(r.get("cadence") or (cat or {}).get("cadence") or "")
        grain = CADENCE_GRAIN.get(cadence, "month")
        definition = str((cat or {}).get("definition") or "")
        due = as_date(r.get("due_date"))
        cls = "breach" if r.get("is_breached") else ("low" if r.get("is_low_sample") or r.get("value") is None else "")
        star = ' <span class="star" title="headline metric">★</span>' if (cat or {}).get("is_headline") else ""
        out.append(
            f'<tr class="{cls}" data-metric="{esc(metric)}" data-breached="{1 if r.get("is_breached") else 0}" '
            f'data-segment="{esc(r.get("segment_type"))}:{esc(r.get("segment_value"))}">'
            f'<td><strong title="{esc(definition)}">{esc(metric_label(metric))}</strong>{star}'
            f'<br><span class="legend">{esc(cadence)}</span></td>'
            f"<td>{segment_text(r)}</td>"
            f'<td class="nowrap">{esc(fmt_period(as_date(r.get("period_start")), grain))}</td>'
            f'<td class="num"><b>{esc(fmt_value(metric, num(r.get("value")), cat, currency))}</b></td>'
            f'<td class="num">{esc(fmt_value(metric, num(r.get("previous_value")), cat, currency))}</td>'
            f'<td class="num">{change_html(metric, num(r.get("change")), cat, currency)}</td>'
            f'<td class="num">{esc(fmt_n(int(num(r.get("sample_size")) or 0)) if r.get("sample_size") is not None else "n = –")}</td>'
            f"<td>{threshold_text(metric, r, cat, currency)}</td>"
            f"<td>{status_html(r)}</td>"
            f'<td class="nowrap">{f"{due:%d %b %Y}" if due else "–"}</td></tr>'
        )
    return "".join(out)


REVIEW_HEAD = ("<thead><tr><th>Metric</th><th>Segment</th><th>Period</th><th class=num>Value</th>"
               "<th class=num>Previous</th><th class=num>Change</th><th class=num>Sample</th><th>Threshold</th>"
               "<th>Status</th><th>Due</th></tr></thead>")


def team_card(team: str, rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]], currency: str) -> str:
    """One owner team's reviews due now: breaches and the whole-book rows in view, the segments
    within their threshold folded away (a team reviews dozens of segment rows otherwise)."""
    rows = sorted(rows, key=lambda r: review_sort_key(r, catalog))
    shown = [r for r in rows if r.get("is_breached") or r.get("segment_type") == "all"]
    folded = [r for r in rows if r not in shown]
    breached = sum(1 for r in rows if r.get("is_breached"))
    body = f'<table class="data reviews">{REVIEW_HEAD}<tbody>{review_rows(shown, catalog, currency)}</tbody></table>'
    if folded:
        body += (f'<details><summary>{len(folded):,} segment reviews within their threshold (or without one)</summary>'
                 f'<table class="data reviews">{REVIEW_HEAD}<tbody>{review_rows(folded, catalog, currency)}</tbody>'
                 "</table></details>")
    label = TEAM_LABELS.get(team, team.replace("_", " ").capitalize())
    sub = f"{len(rows):,} reviews due, {breached:,} breached" if breached else f"{len(rows):,} reviews due, none breached"
    return (f'<div class="card team" data-team="{esc(team)}"><h3>{esc(label)}<small>{esc(sub)}</small></h3>'
            f"{body}</div>")


def view_program(ctx: Context) -> str:
    d = ctx.data
    catalog = read_catalog(d)
    if not d.has("marts", "metric_reviews", "metric", "is_breached"):
        return unavailable("Reviews due now", PROGRAM_TABLES, PROGRAM_WHAT)
    reviews = due_reviews(d, ctx.as_of)
    ctx.figures["reviews_due"] = len(reviews)
    ctx.figures["reviews_breached"] = sum(1 for r in reviews if r.get("is_breached"))
    if not reviews:
        return card("Reviews due now", empty("marts.metric_reviews: no review has come due"))
    teams: dict[str, list[dict[str, Any]]] = {}
    for r in reviews:
        teams.setdefault(str(r.get("owner_team") or "unowned"), []).append(r)
    order = sorted(teams, key=lambda t: (-sum(1 for r in teams[t] if r.get("is_breached")), t))
    tiles = []
    for team in order:
        rows = teams[team]
        breached = sum(1 for r in rows if r.get("is_breached"))
        low = sum(1 for r in rows if r.get("is_low_sample") and not r.get("is_breached"))
        tiles.append(tile(
            TEAM_LABELS.get(team, team), None, None,
            value_text=f'{breached:,}<span class="unit">breached</span>',
            sub=f"of {len(rows):,} reviews due · {low:,} low-sample", accent="#b91c1c" if breached else "#15803d",
        ))
    as_of = f"{ctx.as_of:%d %b %Y}" if ctx.as_of else "the latest data"
    note = (f'<p class="note">Due now: per metric and segment, the latest review period whose due date has come by '
            f"{esc(as_of)}. Breached: the value is beyond the metric's threshold on at least the threshold's minimum "
            "sample; a low-sample value is never a breach. Owners, cadences and thresholds: <code>vars.chw</code> "
            "(<code>marts.metric_catalog</code>). ★ headline metric.</p>")
    cards = "".join(team_card(team, teams[team], catalog, ctx.currency) for team in order)
    return f'<div class="grid tiles">{"".join(tiles)}</div>{note}<div class="grid stackcol">{cards}</div>' + catalog_card(catalog)


def catalog_card(catalog: dict[str, dict[str, Any]]) -> str:
    if not catalog:
        return ""
    rows = []
    for m, c in sorted(catalog.items(), key=lambda kv: (str(kv[1].get("owner_team")), kv[0])):
        thr = num(c.get("threshold"))
        rows.append(
            f'<tr><td><strong>{esc(metric_label(m))}</strong> <span class="legend">{esc(m)}</span></td>'
            f'<td class="text">{esc(c.get("definition") or "")}</td><td>{esc(c.get("unit") or "")}</td>'
            f'<td>{esc(TEAM_LABELS.get(str(c.get("owner_team")), c.get("owner_team")))}</td><td>{esc(c.get("cadence"))}</td>'
            f'<td>{esc(str(c.get("direction") or "").replace("_", " "))}</td>'
            f'<td class="num">{"–" if thr is None else esc(fmt_number(thr, 1))}</td></tr>'
        )
    return (f'<details class="card catalog"><summary>The metric catalog: {len(catalog):,} metrics, their owners, '
            "cadences and thresholds</summary><table class=\"data\"><thead><tr><th>Metric</th><th>Definition</th>"
            "<th>Unit</th><th>Owner</th><th>Cadence</th><th>Direction</th><th class=num>Threshold</th></tr></thead>"
            f'<tbody>{"".join(rows)}</tbody></table></details>')


# --------------------------------------------------------------------------------------------
# The headline set (executive view)
# --------------------------------------------------------------------------------------------


def _headline_series(d: Serving, metric: str, grain: str, ctx: Context) -> list[Point]:
    pts = d.series(metric, grain, until=ctx.as_of)
    if not pts:  # a metric without the cadence's grain (surveys_per_contact_90d): its rolling values
        pts = d.series(metric, "rolling", min(ctx.windows) if ctx.windows else 30, until=ctx.as_of)
    return pts[-MONTHS:]


def headline_tiles(ctx: Context) -> str:
    """The configured headline set (marts.metric_catalog.is_headline, in headline_rank order): each
    metric's latest review that has come due for the whole book, with the previous period, the
    change, the sample size and whether it breached its threshold."""
    d = ctx.data
    catalog = read_catalog(d)
    heads = headline_metrics(catalog)
    if not heads:
        if not catalog:
            return unavailable("Headline metrics", "marts.metric_catalog",
                               "It names the 8-10 headline metrics (vars.chw) this view leads with.")
        return ""
    reviews = {str(r["metric"]): r for r in due_reviews(d, ctx.as_of, with_value=True) if r.get("segment_type") == "all"}
    tiles = []
    for i, metric in enumerate(heads):
        cat = catalog[metric]
        grain = CADENCE_GRAIN.get(str(cat.get("cadence")), "month")
        r = reviews.get(metric)
        if r is not None:
            point = Point(as_date(r["period_start"]), num(r.get("value")), n=int(num(r.get("sample_size")) or 0),
                          low=bool(r.get("is_low_sample")))
            previous, change, breached = num(r.get("previous_value")), num(r.get("change")), bool(r.get("is_breached"))
        else:
            point = d.latest(metric, grain, until=ctx.as_of)
            previous = change = None
            breached = False
        spark = sparkline(_headline_series(d, metric, grain, ctx), SERIES_COLORS[i % 4])
        if point is None or point.value is None:
            tiles.append(tile(metric_label(metric), metric, None))
            continue
        bits = [esc(fmt_n(point.n))]
        if point.low:
            bits.append('<span class="badge low">low sample</span>')
        if previous is not None:
            bits.append(f"prev {esc(fmt_value(metric, previous, cat, ctx.currency))} {change_html(metric, change, cat, ctx.currency)}")
        if breached:
            bits.append('<span class="badge breach">breached</span>')
        value_text = None
        if metric not in METRICS:
            value_text = esc(fmt_value(metric, point.value, cat, ctx.currency))
        tiles.append(tile(
            metric_label(metric), metric, point, period=f"{cat.get('cadence')}: {fmt_period(point.period, grain)}",
            currency=ctx.currency, value_text=value_text, sub=" · ".join(bits), spark=spark,
            accent="#b91c1c" if breached else None,
        ).replace('class="tile', 'class="tile headline', 1))
    return (f'<h3 class="subhead">Headline metrics <small>the configured set, each at its review cadence</small></h3>'
            f'<div class="grid tiles five headlines">{"".join(tiles)}</div>')
