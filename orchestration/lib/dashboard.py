"""A static HTML dashboard over the serving copy: serving/dashboard/index.html.

One self-contained page (inline CSS and SVG, no JavaScript, no network) with the five views
customer-success teams ask for:

- **Real-time health**: accounts scored, at-risk accounts (table), health bands, open alerts,
  recent survey responses.
- **Trends**: NPS, CSAT and CES over rolling 30/60/90-day windows; churn and retention by month.
- **Segments**: NPS, CSAT and health by tier, industry, onboarding cohort and CSM.
- **Operations**: first response, resolution, first-contact resolution, escalations, call answer
  rate.
- **Executive**: NRR, GRR, churn, CLTV, ARPA and the MRR movements behind them.

Every figure shows its unit and the sample it rests on; confidence intervals are drawn where
`marts.metric_values` has them, and low-sample values are greyed out. The page reads only the
published serving copy (read-only), never the live warehouse, and degrades gracefully: a table or
metric that is absent or empty shows "no data yet" instead of failing the page.
"""

from __future__ import annotations

import html
import math
import os
import string
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.publish import PUBLISH_LOG, connect_serving, serving_file

NO_DATA = "no data yet"
TEMPLATE = Path(__file__).with_name("dashboard_template.html")
DASHBOARD_DIR = "dashboard"
AT_RISK_ROWS = 12
TREND_DAYS = 365  # rolling-window charts show the last year
MONTHS = 12  # monthly charts and sparklines show the last 12 months

VIEWS = [
    ("health", "Real-time health"),
    ("trends", "Trends"),
    ("segments", "Segments"),
    ("operations", "Operations"),
    ("executive", "Executive"),
]

COLORS = {30: "#2563eb", 60: "#ea580c", 90: "#0d9488"}
SERIES_COLORS = ["#2563eb", "#ea580c", "#0d9488", "#7c3aed", "#db2777"]
BAND_COLORS = {"green": "#15803d", "yellow": "#ca8a04", "red": "#b91c1c"}
LOW_COLOR = "#b8bec8"


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str  # shown after the value: "%", "min", "h", "pts", "/7", "$", ...
    decimals: int = 1
    domain: tuple[float, float] | None = None  # fixed axis range where the scale is bounded
    higher_is_better: bool | None = True
    signed: bool = False  # show a + on positive values (NPS, changes)
    money: bool = False


METRICS: dict[str, MetricInfo] = {
    "nps": MetricInfo("NPS", "pts", 0, (-100, 100), signed=True),
    "nps_promoter_pct": MetricInfo("Promoters", "%", 0, (0, 100)),
    "nps_detractor_pct": MetricInfo("Detractors", "%", 0, (0, 100), higher_is_better=False),
    "csat_pct": MetricInfo("CSAT", "%", 1, (0, 100)),
    "csat_avg_norm": MetricInfo("CSAT (normalized mean)", "", 2, (0, 1)),
    "ces_avg": MetricInfo("CES", "/ 7", 2, (1, 7), higher_is_better=False),
    "survey_response_rate_pct": MetricInfo("Survey response rate", "%", 1, (0, 100)),
    "review_rating_avg": MetricInfo("Review rating", "/ 5", 2, (0, 5)),
    "logo_churn_rate_pct": MetricInfo("Logo churn", "%", 1, higher_is_better=False),
    "annualized_logo_churn_pct": MetricInfo("Annualized logo churn", "%", 1, higher_is_better=False),
    "revenue_churn_rate_pct": MetricInfo("Revenue churn", "%", 1, higher_is_better=False),
    "customer_retention_rate_pct": MetricInfo("Customer retention", "%", 1),
    "nrr_pct": MetricInfo("Net revenue retention", "%", 1),
    "grr_pct": MetricInfo("Gross revenue retention", "%", 1),
    "cltv": MetricInfo("Customer lifetime value", "", 0, money=True),
    "arpa_annual": MetricInfo("ARPA (annual)", "", 0, money=True),
    "new_mrr": MetricInfo("New MRR", "", 0, money=True),
    "expansion_mrr": MetricInfo("Expansion MRR", "", 0, money=True),
    "reactivation_mrr": MetricInfo("Reactivation MRR", "", 0, money=True),
    "contraction_mrr": MetricInfo("Contraction MRR", "", 0, money=True, higher_is_better=False),
    "churned_mrr": MetricInfo("Churned MRR", "", 0, money=True, higher_is_better=False),
    "ticket_count": MetricInfo("Tickets", "", 0, higher_is_better=None),
    "frt_median_minutes": MetricInfo("First response (median)", "min", 1, higher_is_better=False),
    "frt_within_target_pct": MetricInfo("First response within target", "%", 1, (0, 100)),
    "resolution_median_hours": MetricInfo("Resolution (median)", "h", 1, higher_is_better=False),
    "fcr_pct": MetricInfo("First-contact resolution", "%", 1, (0, 100)),
    "escalation_rate_pct": MetricInfo("Escalation rate", "%", 1, (0, 100), higher_is_better=False),
    "call_answer_within_20s_pct": MetricInfo("Calls answered within 20 s", "%", 1, (0, 100)),
    "unresolved_tickets": MetricInfo("Unresolved tickets", "", 0, higher_is_better=False),
    "health_score_avg": MetricInfo("Health score (mean)", "/ 100", 1, (0, 100)),
    "at_risk_accounts": MetricInfo("At-risk accounts", "", 0, higher_is_better=False),
    "detractor_followup_48h_pct": MetricInfo("Detractors followed up in 48 h", "%", 1, (0, 100)),
    "signal_to_response_median_hours": MetricInfo("Signal to response (median)", "h", 1, higher_is_better=False),
}

SEGMENT_LABELS = {
    "tier": "Tier",
    "industry": "Industry",
    "onboarding_cohort": "Onboarding cohort",
    "csm_owner": "CSM",
    "region": "Region",
    "plan": "Plan",
    "channel": "Channel",
    "category": "Category",
    "touchpoint": "Touchpoint",
}


def _settings() -> dict[str, Any]:
    try:
        from orchestration.lib import settings

        return settings.load()
    except Exception:  # the dashboard must render even without the dbt project beside it
        return {}


# --------------------------------------------------------------------------------------------
# Reading the serving copy
# --------------------------------------------------------------------------------------------


@dataclass
class Point:
    period: date
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    low: bool = False
    numerator: float | None = None
    denominator: float | None = None


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


class Serving:
    """Read-only access to the published copy that never raises for a missing table or column."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None, min_sample: int = 30):
        self.con = con
        self.min_sample = min_sample
        self.columns: dict[tuple[str, str], list[str]] = {}
        if con is not None:
            rows = con.execute(
                "select table_schema, table_name, column_name from information_schema.columns "
                "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
            ).fetchall()
            for schema, table, column in rows:
                self.columns.setdefault((schema, table), []).append(column)
        self.mv = self.columns.get(("marts", "metric_values"), [])
        self._mv_ok = all(c in self.mv for c in ("metric", "grain", "period_start", "segment_type", "segment_value", "value"))

    def has(self, schema: str, table: str, *columns: str) -> bool:
        cols = self.columns.get((schema, table))
        return cols is not None and all(c in cols for c in columns)

    def pick(self, schema: str, table: str, *candidates: str) -> str | None:
        """The first of `candidates` that the table has."""
        cols = self.columns.get((schema, table), [])
        return next((c for c in candidates if c in cols), None)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.con is None:
            return []
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    # metric_values -----------------------------------------------------------------------

    def _mv_select(self) -> str:
        def col(name: str) -> str:
            return name if name in self.mv else f"null as {name}"

        return ", ".join(
            ["period_start", "value"]
            + [col(c) for c in ("ci_low", "ci_high", "sample_size", "is_low_sample", "numerator", "denominator")]
        )

    def _point(self, r: dict[str, Any]) -> Point:
        n = r.get("sample_size")
        n = int(n) if _num(n) is not None else None
        low = r.get("is_low_sample")
        if low is None:
            low = n is not None and n < self.min_sample
        return Point(
            period=_as_date(r["period_start"]),
            value=_num(r["value"]),
            ci_low=_num(r.get("ci_low")),
            ci_high=_num(r.get("ci_high")),
            n=n,
            low=bool(low),
            numerator=_num(r.get("numerator")),
            denominator=_num(r.get("denominator")),
        )

    def _where(self, metric: str, grain: str, window: int | None, segment_type: str) -> tuple[str, list[Any]]:
        sql = "metric = ? and grain = ? and segment_type = ?"
        params: list[Any] = [metric, grain, segment_type]
        if "window_days" in self.mv:
            if window is None:
                sql += " and window_days is null"
            else:
                sql += " and window_days = ?"
                params.append(window)
        return sql, params

    def series(
        self,
        metric: str,
        grain: str,
        window: int | None = None,
        segment_type: str = "all",
        segment_value: str = "all",
        since: date | None = None,
        until: date | None = None,
    ) -> list[Point]:
        if not self._mv_ok:
            return []
        where, params = self._where(metric, grain, window, segment_type)
        where += " and segment_value = ? and value is not null"
        params.append(segment_value)
        if since is not None:
            where += " and period_start >= ?"
            params.append(since)
        if until is not None:
            where += " and period_start <= ?"
            params.append(until)
        rows = self.rows(f"select {self._mv_select()} from marts.metric_values where {where} order by period_start", params)
        return [self._point(r) for r in rows]

    def latest(
        self,
        metric: str,
        grain: str,
        window: int | None = None,
        segment_type: str = "all",
        segment_value: str = "all",
        until: date | None = None,
    ) -> Point | None:
        """The latest value; for months and quarters, the latest period that ended by `until`."""
        if not self._mv_ok:
            return None
        where, params = self._where(metric, grain, window, segment_type)
        where += " and segment_value = ? and value is not null"
        params.append(segment_value)
        if until is not None and grain in ("week", "month", "quarter"):
            first_after = {"week": "period_start + interval 7 day", "month": "period_start + interval 1 month",
                           "quarter": "period_start + interval 3 month"}[grain]
            complete = self.rows(
                f"select {self._mv_select()} from marts.metric_values where {where} "
                f"and {first_after} <= ? order by period_start desc limit 1",
                [*params, until + timedelta(days=1)],
            )
            if complete:
                return self._point(complete[0])
        rows = self.rows(
            f"select {self._mv_select()} from marts.metric_values where {where} order by period_start desc limit 1", params
        )
        return self._point(rows[0]) if rows else None

    def by_segment(self, metric: str, grain: str, window: int | None, segment_type: str) -> list[tuple[str, Point]]:
        """Every segment's value at the latest period the metric has for this segment type."""
        if not self._mv_ok:
            return []
        where, params = self._where(metric, grain, window, segment_type)
        where += " and value is not null"
        latest = self.scalar(f"select max(period_start) from marts.metric_values where {where}", params)
        if latest is None:
            return []
        rows = self.rows(
            f"select segment_value, {self._mv_select()} from marts.metric_values where {where} "
            "and period_start = ? order by segment_value",
            [*params, latest],
        )
        return [(str(r["segment_value"]), self._point(r)) for r in rows]

    def metrics_present(self) -> set[str]:
        if not self._mv_ok:
            return set()
        return {r["metric"] for r in self.rows("select distinct metric from marts.metric_values")}


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------

_CURRENCY = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    if signed and value > 0:
        text = "+" + text
    return text.replace("-", "−")


def fmt_money(value: float | None, currency: str = "USD") -> str:
    if value is None:
        return "–"
    sign = "−" if value < 0 else ""
    v = abs(value)
    symbol = _CURRENCY.get(currency, currency + " ")
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{sign}{symbol}{v / div:,.1f}{suffix}"
    return f"{sign}{symbol}{v:,.0f}"


def fmt_metric(metric: str, value: float | None, currency: str = "USD", with_unit: bool = True) -> str:
    info = METRICS.get(metric, MetricInfo(metric, ""))
    if info.money:
        return fmt_money(value, currency)
    text = fmt_number(value, info.decimals, info.signed)
    if with_unit and info.unit and value is not None:
        text += ("" if info.unit == "%" else "\u2009") + info.unit
    return text


def fmt_n(n: int | None) -> str:
    return "n = –" if n is None else f"n = {n:,}"


def fmt_period(p: date | None, grain: str, window: int | None = None) -> str:
    if p is None:
        return ""
    if grain == "rolling":
        return f"{window} days to {p:%d %b %Y}"
    if grain == "month":
        return f"{p:%b %Y}"
    if grain == "quarter":
        return f"Q{(p.month - 1) // 3 + 1} {p.year}"
    if grain == "week":
        return f"week of {p:%d %b %Y}"
    return f"{p:%d %b %Y}"


def ci_text(point: Point, metric: str, level: float = 0.95) -> str:
    if point.ci_low is None or point.ci_high is None:
        return ""
    info = METRICS.get(metric, MetricInfo(metric, ""))
    lo = fmt_number(point.ci_low, info.decimals)
    hi = fmt_number(point.ci_high, info.decimals)
    return f"{level * 100:.0f}% CI {lo} to {hi}"


def band_for(metric: str, value: float | None) -> tuple[str, str] | None:
    """The reading bands of METRICS.md: (label, css class)."""
    if value is None:
        return None
    if metric == "csat_pct":
        if value < 60:
            return "clear friction", "band-red"
        if value < 75:
            return "moderate", "band-yellow"
        if value < 85:
            return "healthy", "band-green"
        return "strong", "band-green"
    if metric == "nps":
        if value < 0:
            return "negative", "band-red"
        if value < 30:
            return "good", "band-yellow"
        if value <= 70:
            return "strong", "band-green"
        return "exceptional", "band-green"
    return None


# --------------------------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _domain(values: Iterable[float | None], fixed: tuple[float, float] | None, include_zero: bool = False) -> tuple[float, float]:
    vals = [v for v in values if v is not None]
    if not vals:
        return fixed or (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if fixed:
        # Zoom into the data but never beyond the scale's bounds.
        pad = max((hi - lo) * 0.15, (fixed[1] - fixed[0]) * 0.04)
        lo, hi = max(fixed[0], lo - pad), min(fixed[1], hi + pad)
    else:
        pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
        if min(vals) >= 0 and lo < 0:
            lo = 0.0
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    if fixed:
        lo, hi = max(lo, fixed[0]), min(hi, fixed[1])
    return lo, hi


@dataclass
class Series:
    name: str
    points: list[Point]
    color: str
    show_ci: bool = False
    dashed: bool = False
    metric: str | None = None  # formats this series' labels when it differs from the chart's metric


def _tick_label(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}".replace("-", "−")


def _date_ticks(d0: date, d1: date, count: int = 6) -> list[date]:
    span = (d1 - d0).days
    if span <= 0:
        return [d0]
    if span > 120:  # month starts
        months = []
        d = date(d0.year, d0.month, 1)
        while d <= d1:
            if d >= d0:
                months.append(d)
            d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        step = max(1, math.ceil(len(months) / count))
        return months[::step]
    step = max(1, span // count)
    return [d0 + timedelta(days=i) for i in range(0, span + 1, step)]


def line_chart(
    series: list[Series],
    *,
    metric: str,
    width: int = 600,
    height: int = 240,
    ref_lines: Sequence[tuple[float, str]] = (),
    currency: str = "USD",
    label: str = "",
) -> str:
    """A line chart with gridlines, date axis, optional CI bands, low-sample points in grey."""
    series = [s for s in series if any(p.value is not None for p in s.points)]
    if not series:
        return empty(label)
    info = METRICS.get(metric, MetricInfo(metric, ""))
    ml, mr, mt, mb = 46, 70, 26, 26
    pw, ph = width - ml - mr, height - mt - mb
    dates = [p.period for s in series for p in s.points]
    d0, d1 = min(dates), max(dates)
    span = max((d1 - d0).days, 1)
    values: list[float | None] = [p.value for s in series for p in s.points]
    values += [v for s in series if s.show_ci for p in s.points for v in (p.ci_low, p.ci_high)]
    values += [v for v, _ in ref_lines if info.domain is None or info.domain[0] <= v <= info.domain[1]]
    lo, hi = _domain(values, info.domain, include_zero=info.money)

    def x(d: date) -> float:
        return ml + pw * ((d - d0).days / span if span else 0.5)

    def y(v: float) -> float:
        return mt + ph * (1 - (v - lo) / ((hi - lo) or 1))

    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{esc(label)}">']
    for t in nice_ticks(lo, hi):
        if lo - 1e-9 <= t <= hi + 1e-9:
            out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eceff3"/>')
            out.append(f'<text x="{ml - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7280">{_tick_label(t)}</text>')
    for d in _date_ticks(d0, d1):
        fmt = "%b %y" if span > 120 else "%d %b"
        out.append(f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#9ca3af"/>')
        out.append(f'<text x="{x(d):.1f}" y="{mt + ph + 17}" text-anchor="middle" font-size="11" fill="#6b7280">{d.strftime(fmt)}</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#9ca3af"/>')
    ref_labels: list[str] = []
    for v, text in ref_lines:
        if lo <= v <= hi:
            out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#9ca3af" stroke-dasharray="4 4"/>')
            ref_labels.append(
                f'<text x="{ml + 4}" y="{y(v) - 4:.1f}" font-size="10" fill="#6b7280" stroke="#fff" stroke-width="3" '
                f'paint-order="stroke">{esc(text)}</text>'
            )
    for s in series:
        if s.show_ci:
            pts = [p for p in s.points if p.ci_low is not None and p.ci_high is not None]
            if len(pts) > 1:
                upper = " ".join(f"{x(p.period):.1f},{y(min(hi, p.ci_high)):.1f}" for p in pts)
                lower = " ".join(f"{x(p.period):.1f},{y(max(lo, p.ci_low)):.1f}" for p in reversed(pts))
                out.append(f'<polygon points="{upper} {lower}" fill="{s.color}" fill-opacity="0.13" stroke="none"/>')
    for s in series:
        path, pen = [], "M"
        for p in s.points:
            if p.value is None:
                pen = "M"
                continue
            path.append(f"{pen}{x(p.period):.1f},{y(p.value):.1f}")
            pen = "L"
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        single = len([p for p in s.points if p.value is not None]) == 1
        if single:
            p = next(p for p in s.points if p.value is not None)
            out.append(f'<circle cx="{x(p.period):.1f}" cy="{y(p.value):.1f}" r="3.5" fill="{s.color}"/>')
        else:
            out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{s.color}" stroke-width="2"{dash} stroke-linejoin="round"/>')
        many = len(s.points) > 60
        for p in s.points:
            if p.value is None:
                continue
            tip = f"{s.name} · {p.period:%d %b %Y}: {fmt_metric(s.metric or metric, p.value, currency)} ({fmt_n(p.n)})"
            if p.low:
                out.append(f'<circle cx="{x(p.period):.1f}" cy="{y(p.value):.1f}" r="{2 if many else 3}" fill="{LOW_COLOR}"><title>{esc(tip)} · low sample</title></circle>')
            elif not many:
                out.append(f'<circle cx="{x(p.period):.1f}" cy="{y(p.value):.1f}" r="2.5" fill="{s.color}"><title>{esc(tip)}</title></circle>')
    out.extend(ref_labels)  # above the lines, so they stay readable
    # end labels, nudged apart
    ends = []
    for s in series:
        last = next((p for p in reversed(s.points) if p.value is not None), None)
        if last is not None:
            ends.append([y(last.value), s, last])
    ends.sort(key=lambda e: e[0])
    for i in range(1, len(ends)):
        if ends[i][0] - ends[i - 1][0] < 13:
            ends[i][0] = ends[i - 1][0] + 13
    for ypos, s, last in ends:
        out.append(f'<text x="{ml + pw + 6}" y="{ypos + 4:.1f}" font-size="12" font-weight="700" fill="{s.color}">{esc(fmt_metric(s.metric or metric, last.value, currency))}</text>')
    lx = ml
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{s.color}" stroke-width="3"{dash}/>')
        out.append(f'<text x="{lx + 23}" y="16" font-size="12" fill="#374151">{esc(s.name)}</text>')
        lx += 32 + 7 * len(s.name)
    out.append("</svg>")
    return "".join(out)


def bar_rows(
    rows: list[tuple[str, Point]],
    *,
    metric: str,
    width: int = 420,
    currency: str = "USD",
    label: str = "",
    max_rows: int = 12,
) -> str:
    """Horizontal bars, one per segment, with CI whiskers and n; low-sample bars in grey."""
    rows = [(k, p) for k, p in rows if p.value is not None]
    if not rows:
        return empty(label)
    hidden = 0
    if len(rows) > max_rows:  # keep the largest samples
        keep = sorted(rows, key=lambda r: -(r[1].n or 0))[:max_rows]
        hidden = len(rows) - max_rows
        rows = [r for r in rows if r in keep]
    info = METRICS.get(metric, MetricInfo(metric, ""))
    row_h, top = 22, 6
    lab_w, val_w = 118, 118
    pw = width - lab_w - val_w
    height = top + row_h * len(rows) + 8 + (14 if hidden else 0)
    values = [p.value for _, p in rows] + [v for _, p in rows for v in (p.ci_low, p.ci_high)]
    if info.domain:
        lo, hi = info.domain
        if lo > 0 and not info.money:
            lo = 0.0
    else:
        lo, hi = _domain(values, None, include_zero=True)
    lo = min(lo, 0.0)

    def x(v: float) -> float:
        return lab_w + pw * (min(max(v, lo), hi) - lo) / ((hi - lo) or 1)

    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{esc(label)}">']
    zero = x(0.0)
    for i, (name, p) in enumerate(rows):
        yc = top + i * row_h + row_h / 2
        color = LOW_COLOR if p.low else "#2563eb"
        text_color = "#9ca3af" if p.low else "#1f2937"
        short = name if len(name) <= 17 else name[:16] + "…"
        out.append(f'<text x="{lab_w - 8}" y="{yc + 4:.1f}" text-anchor="end" font-size="12" fill="{text_color}"><title>{esc(name)}</title>{esc(short)}</text>')
        x0, x1 = sorted((zero, x(p.value)))
        tip = f"{name}: {fmt_metric(metric, p.value, currency)} ({fmt_n(p.n)}{', ' + ci_text(p, metric) if ci_text(p, metric) else ''})"
        out.append(f'<rect x="{x0:.1f}" y="{yc - 7:.1f}" width="{max(x1 - x0, 1.5):.1f}" height="14" rx="2" fill="{color}"><title>{esc(tip)}</title></rect>')
        if p.ci_low is not None and p.ci_high is not None:
            a, b = x(p.ci_low), x(p.ci_high)
            out.append(f'<line x1="{a:.1f}" x2="{b:.1f}" y1="{yc:.1f}" y2="{yc:.1f}" stroke="#374151" stroke-width="1.2"/>')
            out.append(f'<line x1="{a:.1f}" x2="{a:.1f}" y1="{yc - 4:.1f}" y2="{yc + 4:.1f}" stroke="#374151" stroke-width="1.2"/>')
            out.append(f'<line x1="{b:.1f}" x2="{b:.1f}" y1="{yc - 4:.1f}" y2="{yc + 4:.1f}" stroke="#374151" stroke-width="1.2"/>')
        out.append(
            f'<text x="{lab_w + pw + 8}" y="{yc + 4:.1f}" font-size="12" fill="{text_color}">'
            f'<tspan font-weight="700">{esc(fmt_metric(metric, p.value, currency))}</tspan>'
            f'<tspan fill="#9ca3af" font-size="11"> {esc(fmt_n(p.n))}</tspan></text>'
        )
    out.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 2}" y2="{top + row_h * len(rows)}" stroke="#9ca3af"/>')
    if hidden:
        out.append(f'<text x="{lab_w}" y="{height - 4}" font-size="11" fill="#6b7280">+ {hidden} smaller segments not shown</text>')
    out.append("</svg>")
    return "".join(out)


def diverging_columns(
    months: list[date], stacks: dict[str, list[float | None]], colors: dict[str, str], *, width: int = 600,
    height: int = 240, currency: str = "USD", label: str = "",
) -> str:
    """Stacked columns above (positive) and below (negative) zero, one per month."""
    if not months or not any(v for vals in stacks.values() for v in vals if v):
        return empty(label)
    ml, mr, mt, mb = 56, 10, 28, 24
    pw, ph = width - ml - mr, height - mt - mb
    pos_tot = [sum(max(vals[i] or 0, 0) for vals in stacks.values()) for i in range(len(months))]
    neg_tot = [sum(min(vals[i] or 0, 0) for vals in stacks.values()) for i in range(len(months))]
    ticks = nice_ticks(min(neg_tot + [0]), max(pos_tot + [0]) or 1)
    lo, hi = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return mt + ph * (1 - (v - lo) / ((hi - lo) or 1))

    slot = pw / len(months)
    bw = min(34.0, slot * 0.7)
    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{esc(label)}">']
    for t in ticks:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eceff3"/>')
        out.append(f'<text x="{ml - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7280">{esc(fmt_money(t, currency))}</text>')
    for i, m in enumerate(months):
        cx = ml + slot * (i + 0.5)
        up, down = 0.0, 0.0
        for name, vals in stacks.items():
            v = vals[i] or 0.0
            if v == 0:
                continue
            base = up if v > 0 else down
            top_v = base + v
            y0, y1 = sorted((y(base), y(top_v)))
            out.append(
                f'<rect x="{cx - bw / 2:.1f}" y="{y0:.1f}" width="{bw:.1f}" height="{max(y1 - y0, 0.8):.1f}" fill="{colors[name]}">'
                f'<title>{esc(f"{m:%b %Y} · {name}: {fmt_money(v, currency)}")}</title></rect>'
            )
            if v > 0:
                up = top_v
            else:
                down = top_v
        if i % max(1, math.ceil(len(months) / 12)) == 0:
            out.append(f'<text x="{cx:.1f}" y="{mt + ph + 16}" text-anchor="middle" font-size="11" fill="#6b7280">{m:%b %y}</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#6b7280"/>')
    lx = ml
    for name in stacks:
        out.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colors[name]}"/>')
        out.append(f'<text x="{lx + 16}" y="16" font-size="12" fill="#374151">{esc(name)}</text>')
        lx += 30 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def sparkline(points: list[Point], color: str = "#2563eb", width: int = 160, height: int = 34) -> str:
    pts = [p for p in points if p.value is not None]
    if len(pts) < 2:
        return ""
    vals = [p.value for p in pts]
    lo, hi = min(vals), max(vals)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    n = len(pts)

    def xy(i: int, v: float) -> str:
        return f"{2 + (width - 4) * i / (n - 1):.1f},{3 + (height - 6) * (1 - (v - lo) / (hi - lo)):.1f}"

    line = " ".join(xy(i, p.value) for i, p in enumerate(pts))
    last = xy(n - 1, pts[-1].value).split(",")
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" aria-hidden="true">'
        f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.8" stroke-linejoin="round" '
        f'vector-effect="non-scaling-stroke"/>'
        f'<line x1="{last[0]}" x2="{last[0]}" y1="{last[1]}" y2="{last[1]}" stroke="{color}" stroke-width="6" '
        f'stroke-linecap="round" vector-effect="non-scaling-stroke"/></svg>'
    )


# --------------------------------------------------------------------------------------------
# HTML building blocks
# --------------------------------------------------------------------------------------------


def empty(what: str = "") -> str:
    title = f' title="{esc(what)}"' if what else ""
    return f'<div class="empty-note"{title}>{NO_DATA}</div>'


def card(title: str, body: str, subtitle: str = "", note: str = "", cls: str = "card") -> str:
    sub = f"<small>{esc(subtitle)}</small>" if subtitle else ""
    foot = f'<p class="note">{note}</p>' if note else ""
    return f'<div class="{cls}"><h3>{esc(title)}{sub}</h3>{body}{foot}</div>'


def tile(
    label: str,
    metric: str | None,
    point: Point | None,
    *,
    period: str = "",
    currency: str = "USD",
    value_text: str | None = None,
    sub: str | None = None,
    spark: str = "",
    accent: str | None = None,
) -> str:
    """A headline number with its unit, sample size, CI and period; grey when the sample is low."""
    if value_text is None and (point is None or point.value is None):
        return (
            f'<div class="tile empty" data-metric="{esc(metric or label)}"><div class="label">{esc(label)}</div>'
            f'<div class="value">{NO_DATA}</div></div>'
        )
    cls = "tile low" if point is not None and point.low else "tile"
    if value_text is None:
        info = METRICS.get(metric or "", MetricInfo(label, ""))
        if info.money:
            value_html = esc(fmt_money(point.value, currency))
        else:
            value_html = esc(fmt_number(point.value, info.decimals, info.signed))
            if info.unit:
                value_html += f'<span class="unit">{esc(info.unit)}</span>'
    else:
        value_html = value_text
    band = band_for(metric or "", point.value if point else None)
    band_html = f'<span class="band {band[1]}">{esc(band[0])}</span>' if band and not (point and point.low) else ""
    bits = []
    if sub is not None:
        bits.append(sub)
    elif point is not None:
        bits.append(esc(fmt_n(point.n)))
        ci = ci_text(point, metric or "")
        if ci:
            bits.append(esc(ci))
        if point.low:
            bits.append('<span class="badge low">low sample</span>')
    if period:
        bits.append(esc(period))
    style = f' style="border-left-color:{accent}"' if accent else ""
    return (
        f'<div class="{cls}" data-metric="{esc(metric or label)}"{style}><div class="label">{esc(label)}</div>'
        f'<div class="value">{value_html}{band_html}</div><div class="sub">{" · ".join(bits)}</div>{spark}</div>'
    )


def table(headers: list[tuple[str, str]], rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """headers: (label, css class); cells are HTML already escaped by the caller."""
    if not rows:
        return empty()
    head = "".join(f'<th class="{c}">{esc(h)}</th>' for h, c in headers)
    body = []
    for i, r in enumerate(rows):
        rc = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{rc}>" + "".join(f'<td class="{headers[j][1]}">{cell}</td>' for j, cell in enumerate(r)) + "</tr>")
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def section(view_id: str, title: str, lede: str, body: str) -> str:
    return f'<section class="view" id="{view_id}"><h2>{esc(title)}</h2><p class="lede">{lede}</p>{body}</section>'


# --------------------------------------------------------------------------------------------
# The five views
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    data: Serving
    as_of: date | None
    currency: str
    min_sample: int
    windows: list[int]
    frt_targets: dict[str, float] = field(default_factory=dict)
    figures: dict[str, float | int | None] = field(default_factory=dict)


def _latest_health(ctx: Context) -> tuple[date | None, list[dict[str, Any]]]:
    d = ctx.data
    if not d.has("marts", "account_health", "account_id", "as_of_date", "health_score"):
        return None, []
    last = d.scalar("select max(as_of_date) from marts.account_health")
    if last is None:
        return None, []
    rows = d.rows("select * from marts.account_health where as_of_date = ?", [last])
    return _as_date(last), rows


def _account_names(ctx: Context) -> dict[str, dict[str, Any]]:
    d = ctx.data
    if not d.has("marts", "dim_accounts", "account_id"):
        return {}
    cols = [c for c in ("account_name", "industry", "tier", "csm_owner_id", "csm_owner_name", "arr") if d.has("marts", "dim_accounts", c)]
    sel = ", ".join(["account_id", *cols])
    return {str(r["account_id"]): r for r in d.rows(f"select {sel} from marts.dim_accounts")}


def view_health(ctx: Context) -> str:
    d = ctx.data
    scored_on, health = _latest_health(ctx)
    names = _account_names(ctx)
    at_risk = [r for r in health if r.get("is_at_risk")]
    n_scored = len(health)
    ctx.figures["accounts_scored"] = n_scored if health else None
    ctx.figures["at_risk_accounts"] = len(at_risk) if health else None
    scores = [_num(r.get("health_score")) for r in health]
    scores = [s for s in scores if s is not None]
    avg = sum(scores) / len(scores) if scores else None
    ctx.figures["health_score_avg"] = round(avg, 1) if avg is not None else None
    period = f"scored {scored_on:%d %b %Y}" if scored_on else ""

    nps = d.latest("nps", "rolling", 90)
    csat = d.latest("csat_pct", "rolling", 30)
    ctx.figures["nps"] = nps.value if nps else None
    ctx.figures["csat_pct"] = csat.value if csat else None

    alerts = []
    if d.has("marts", "alerts", "alert_type", "status"):
        alerts = d.rows(
            "select alert_type, count(*) as n, count(*) filter (where status = 'open') as open, "
            "count(*) filter (where status = 'overdue') as overdue, "
            "count(*) filter (where status = 'followed_up') as followed_up, "
            "count(*) filter (where within_sla) as in_sla, count(within_sla) as sla_known "
            "from marts.alerts group by alert_type order by count(*) filter (where status <> 'followed_up') desc, alert_type"
            if d.has("marts", "alerts", "within_sla")
            else "select alert_type, count(*) as n, count(*) filter (where status = 'open') as open, "
            "count(*) filter (where status = 'overdue') as overdue, "
            "count(*) filter (where status = 'followed_up') as followed_up, 0 as in_sla, 0 as sla_known "
            "from marts.alerts group by alert_type order by alert_type"
        )
    open_n = sum(int(a["open"]) for a in alerts)
    overdue_n = sum(int(a["overdue"]) for a in alerts)
    ctx.figures["open_alerts"] = open_n if alerts else None
    ctx.figures["overdue_alerts"] = overdue_n if alerts else None

    tiles = [
        tile("Accounts scored", None, None, value_text=f"{n_scored:,}" if health else None, sub="latest score per account",
             period=period) if health else tile("Accounts scored", "accounts_scored", None),
        tile("At-risk accounts", "at_risk_accounts", None,
             value_text=(f'{len(at_risk):,}<span class="unit">{100 * len(at_risk) / n_scored:.0f}% of scored</span>'
                         if health else None),
             sub=f"n = {n_scored:,} accounts", period=period, accent="#b91c1c") if health
        else tile("At-risk accounts", "at_risk_accounts", None),
        tile("Health score, mean", "health_score_avg", Point(scored_on or date.today(), avg, n=n_scored) if avg is not None else None,
             period=period),
        tile("NPS", "nps", nps, period="rolling 90 days"),
        tile("CSAT", "csat_pct", csat, period="rolling 30 days"),
        tile("Open alerts", None, None,
             value_text=(f'{open_n + overdue_n:,}<span class="unit">{overdue_n:,} overdue</span>' if alerts else None),
             sub="awaiting follow-up", accent="#ea580c") if alerts else tile("Open alerts", "open_alerts", None),
    ]
    out = [f'<div class="grid tiles">{"".join(tiles)}</div>']

    # health bands
    if health:
        counts = {b: sum(1 for r in health if r.get("health_band") == b) for b in ("green", "yellow", "red")}
        total = sum(counts.values()) or 1
        parts = "".join(
            f'<div style="width:{100 * c / total:.2f}%;background:{BAND_COLORS[b]}" title="{b}: {c}">{c if c / total > 0.06 else ""}</div>'
            for b, c in counts.items() if c
        )
        legend = " · ".join(f'<span style="color:{BAND_COLORS[b]};font-weight:700">■</span> {b} {c:,} ({100 * c / total:.0f}%)'
                            for b, c in counts.items())
        bands = f'<div class="stack">{parts}</div><div class="legend">{legend}</div>'
    else:
        bands = empty("account_health")

    # at-risk table
    risk_rows, risk_cls = [], []
    comp_cols = [c for c in (health[0].keys() if health else []) if c.endswith("_score") and c not in ("health_score",)]
    for r in sorted(at_risk, key=lambda r: (_num(r.get("health_score")) or 0.0))[:AT_RISK_ROWS]:
        acct = names.get(str(r["account_id"]), {})
        name = acct.get("account_name") or r["account_id"]
        band = r.get("health_band") or ""
        change = _num(r.get("change_30d_pct"))
        change_html = (f'<span class="{"down" if change < 0 else "up"}">{fmt_number(change, 0, True)}%</span>'
                       if change is not None else "–")
        comps = [(c[:-6], _num(r.get(c))) for c in comp_cols]
        comps = [(c, v) for c, v in comps if v is not None]
        weakest = min(comps, key=lambda cv: cv[1]) if comps else None
        days = r.get("days_to_renewal")
        csm = acct.get("csm_owner_name") or r.get("csm_owner_id") or acct.get("csm_owner_id") or "–"
        risk_rows.append([
            f'<strong title="{esc(r["account_id"])}">{esc(name)}</strong><br><span class="legend">'
            f'{esc(" · ".join(str(x) for x in (r.get("tier") or acct.get("tier"), acct.get("industry")) if x))}</span>',
            esc(csm),
            f'<span class="chip {esc(band)}">{fmt_number(_num(r.get("health_score")), 0)}</span>',
            change_html,
            esc(f"{weakest[0]} ({weakest[1]:.0f})") if weakest else "–",
            f"{int(days):,} d" if _num(days) is not None else "–",
        ])
        risk_cls.append("")
    risk_table = table(
        [("Account", ""), ("CSM", "nowrap"), ("Score", "num"), ("30-day change", "num"),
         ("Weakest component", ""), ("Renewal in", "num")],
        risk_rows, risk_cls,
    ) if at_risk else empty("no account is at risk" if health else "account_health")
    more = (f"{len(at_risk) - AT_RISK_ROWS:,} more at-risk accounts in marts.account_health. "
            if len(at_risk) > AT_RISK_ROWS else "")

    # recent responses
    responses = _recent_responses(ctx, names)

    # alerts table
    alert_rows = []
    for a in alerts:
        sla = f"{100 * int(a['in_sla']) / int(a['sla_known']):.0f}%" if int(a["sla_known"] or 0) else "–"
        overdue = f'<span class="down">{int(a["overdue"]):,}</span>' if int(a["overdue"]) else "0"
        alert_rows.append([esc(a["alert_type"]), f"{int(a['open']):,}", overdue, f"{int(a['followed_up']):,}",
                           f"{sla} <span class='legend'>of {int(a['sla_known'] or 0):,}</span>"])
    alert_table = table([("Alert type", ""), ("Open", "num"), ("Overdue", "num"), ("Followed up", "num"),
                         ("Within SLA", "num")], alert_rows) if alerts else empty("marts.alerts")

    out.append('<div class="grid wide">')
    out.append(card("At-risk accounts", f'<div class="scroll">{risk_table}</div>',
                    subtitle=f"{len(at_risk):,} accounts, lowest score first" if health else "",
                    note=more + "Score 0–100 (green ≥ 70, yellow ≥ 40). At risk: red band, or 15% or more below "
                                "its score 30 days earlier. Weakest component: the lowest component score (0–100)."))
    out.append('<div class="grid stackcol">')
    out.append(card("Health bands", bands, subtitle=period))
    out.append(card("Alerts: the closed loop", alert_table, subtitle="all alerts by type"))
    out.append("</div></div>")
    out.append(f'<div class="grid" style="margin-top:14px">{card("Recent survey responses", f"<div class=scroll>{responses}</div>", subtitle="latest 15")}</div>')
    return "".join(out)


def _recent_responses(ctx: Context, names: dict[str, dict[str, Any]]) -> str:
    d = ctx.data
    t = ("marts", "fct_survey_responses")
    if t not in d.columns:
        return empty("marts.fct_survey_responses")
    when = d.pick(*t, "responded_at", "response_date", "responded_on")
    if when is None:
        return empty("marts.fct_survey_responses")
    metric = d.pick(*t, "survey_metric", "metric")
    score = d.pick(*t, "score", "raw_score")
    klass = d.pick(*t, "nps_class", "response_class", "score_class", "class")
    touch = d.pick(*t, "touchpoint", "trigger")
    comment = d.pick(*t, "comment", "comment_redacted")
    scale = d.pick(*t, "scale_max")
    cols = [c for c in (when, "account_id" if d.has(*t, "account_id") else None, metric, score, scale, klass, touch, comment) if c]
    rows = d.rows(f"select {', '.join(cols)} from marts.fct_survey_responses order by {when} desc nulls last limit 15")
    if not rows:
        return empty("marts.fct_survey_responses")
    out_rows = []
    for r in rows:
        acct = names.get(str(r.get("account_id")), {})
        sc = _num(r.get(score)) if score else None
        sc_text = fmt_number(sc, 0) if sc is not None else "–"
        if scale and _num(r.get(scale)) is not None:
            sc_text += f' <span class="legend">/ {fmt_number(_num(r.get(scale)), 0)}</span>'
        k = str(r.get(klass) or "") if klass else ""
        kcls = {"detractor": "down", "promoter": "up"}.get(k, "")
        text = str(r.get(comment) or "") if comment else ""
        out_rows.append([
            esc(str(r[when])[:16]),
            esc(acct.get("account_name") or r.get("account_id") or "–"),
            esc((r.get(metric) or "").upper()) if metric else "–",
            sc_text,
            f'<span class="{kcls}">{esc(k)}</span>' if k else "–",
            esc(r.get(touch) or "–") if touch else "–",
            esc(text[:140] + ("…" if len(text) > 140 else "")) or '<span class="legend">–</span>',
        ])
    return table([("Responded", ""), ("Account", ""), ("Survey", ""), ("Score", "num"), ("Class", ""),
                  ("Touchpoint", ""), ("Comment (personal data redacted)", "text")], out_rows)


def view_trends(ctx: Context) -> str:
    d = ctx.data
    since = (ctx.as_of - timedelta(days=TREND_DAYS)) if ctx.as_of else None
    charts = []
    specs = [
        ("nps", "NPS", [(0, "0"), (30, "30 strong"), (70, "70 exceptional")]),
        ("csat_pct", "CSAT", [(60, "60 friction below"), (75, "75 healthy"), (85, "85 strong")]),
        ("ces_avg", "Customer effort (CES, 1 = least effort)", []),
    ]
    for metric, title, refs in specs:
        series = []
        for w in ctx.windows:
            pts = d.series(metric, "rolling", w, since=since, until=ctx.as_of)
            series.append(Series(f"{w}-day", pts, COLORS.get(w, SERIES_COLORS[len(series) % 5]), show_ci=(w == max(ctx.windows))))
        latest = {w: d.latest(metric, "rolling", w) for w in ctx.windows}
        sub = " · ".join(f"{w} d: {fmt_n(p.n)}" for w, p in latest.items() if p)
        charts.append(card(title, line_chart(series, metric=metric, ref_lines=refs, currency=ctx.currency, label=metric),
                           subtitle=sub, note=f"Shaded: 95% CI of the {max(ctx.windows)}-day window. Grey dots: fewer than "
                                              f"{ctx.min_sample} responses in the window (low sample)."))
    mix = [
        Series("Promoters (9–10)", d.series("nps_promoter_pct", "rolling", max(ctx.windows), since=since, until=ctx.as_of),
               "#15803d"),
        Series("Detractors (0–6)", d.series("nps_detractor_pct", "rolling", max(ctx.windows), since=since, until=ctx.as_of),
               "#b91c1c"),
    ]
    charts.append(card("NPS: promoters and detractors", line_chart(mix, metric="nps_promoter_pct", currency=ctx.currency,
                                                                    label="nps mix"),
                       subtitle=f"% of NPS responses, rolling {max(ctx.windows)} days",
                       note="NPS = promoters % − detractors %; passives (7–8) make up the rest."))
    until = ctx.as_of
    churn = [
        Series("Logo churn", d.series("logo_churn_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
        Series("Revenue churn", d.series("revenue_churn_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[1]),
    ]
    retention = [
        Series("Customer retention", d.series("customer_retention_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[2]),
    ]
    charts.append(card("Churn, monthly", line_chart(churn, metric="logo_churn_rate_pct", currency=ctx.currency, label="churn"),
                       subtitle="% of accounts / of MRR at month start",
                       note="Logo churn: accounts with MRR at the start of the month and none at its end."))
    charts.append(card("Customer retention, monthly", line_chart(retention, metric="customer_retention_rate_pct",
                                                                 ref_lines=[(100, "100%")], currency=ctx.currency, label="retention"),
                       subtitle="(accounts at end − new) / accounts at start"))
    return f'<div class="grid two">{"".join(charts)}</div>'


def segment_cell(point: Point | None, metric: str, lo: float, hi: float, currency: str, width: int = 130) -> str:
    """One scorecard cell: a small bar (with CI whisker) on the column's shared scale, value and n."""
    if point is None or point.value is None:
        return '<span class="legend">–</span>'
    h = 16

    def x(v: float) -> float:
        return 2 + (width - 4) * (min(max(v, lo), hi) - lo) / ((hi - lo) or 1)

    color = LOW_COLOR if point.low else "#2563eb"
    x0, x1 = sorted((x(0.0 if lo <= 0 <= hi else lo), x(point.value)))
    parts = [f'<svg class="cell" viewBox="0 0 {width} {h}" width="{width}" height="{h}" aria-hidden="true">',
             f'<rect x="0" y="3" width="{width}" height="{h - 6}" fill="#f1f3f6" rx="2"/>',
             f'<rect x="{x0:.1f}" y="3" width="{max(x1 - x0, 1.5):.1f}" height="{h - 6}" fill="{color}" rx="2"/>']
    if lo < 0 < hi:
        parts.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="0" y2="{h}" stroke="#6b7280"/>')
    if point.ci_low is not None and point.ci_high is not None:
        a, b = x(point.ci_low), x(point.ci_high)
        parts.append(f'<path d="M{a:.1f},{h / 2} H{b:.1f} M{a:.1f},4 V{h - 4} M{b:.1f},4 V{h - 4}" stroke="#374151" '
                     'stroke-width="1.2" fill="none"/>')
    parts.append("</svg>")
    ci = ci_text(point, metric)
    tip = f"{fmt_metric(metric, point.value, currency)}, {fmt_n(point.n)}{', ' + ci if ci else ''}{', low sample' if point.low else ''}"
    cls = "segcell low" if point.low else "segcell"
    return (f'<span class="{cls}" title="{esc(tip)}">{"".join(parts)}<b>{esc(fmt_metric(metric, point.value, currency))}</b>'
            f'<span class="n">{esc(fmt_n(point.n))}</span></span>')


SEGMENT_METRICS = [
    ("nps", "rolling", 90, "NPS", "rolling 90 d"),
    ("csat_pct", "rolling", 90, "CSAT", "rolling 90 d"),
    ("health_score_avg", "day", None, "Health score", "mean, latest day"),
    ("at_risk_accounts", "day", None, "At-risk accounts", "latest day"),
]


def segment_scorecard(ctx: Context, seg: str, csm_names: dict[str, str]) -> str:
    d = ctx.data
    columns = []
    for metric, grain, window, title, sub in SEGMENT_METRICS:
        rows = dict(d.by_segment(metric, grain, window, seg))
        if rows:
            columns.append((metric, title, sub, rows))
    if not columns:
        return empty(f"metric_values by {seg}")
    values = sorted({k for _, _, _, rows in columns for k in rows})
    head = "".join(f'<th>{esc(t)} <span class="legend">{esc(sub)}</span></th>' for _, t, sub, _ in columns)
    body = []
    for v in values:
        cells = []
        for metric, _, _, rows in columns:
            info = METRICS.get(metric, MetricInfo(metric, ""))
            vals = [v for p in rows.values() for v in (p.value, p.ci_low, p.ci_high) if v is not None]
            if info.domain and info.domain[1] <= 100 and metric != "nps":
                lo, hi = min(0.0, info.domain[0]), info.domain[1]
            else:
                lo, hi = _domain(vals, info.domain, include_zero=True)
            cells.append(f"<td>{segment_cell(rows.get(v), metric, lo, hi, ctx.currency)}</td>")
        label = csm_names.get(v, v) if seg == "csm_owner" else v
        all_low = all(rows[v].low for _, _, _, rows in columns if v in rows)
        body.append(f'<tr class="{"low" if all_low else ""}"><th scope="row" title="{esc(v)}">{esc(label)}</th>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="data seg"><thead><tr><th>{esc(SEGMENT_LABELS.get(seg, seg))}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def view_segments(ctx: Context) -> str:
    names = _account_names(ctx)
    csm_names = {str(a.get("csm_owner_id")): a.get("csm_owner_name") for a in names.values() if a.get("csm_owner_name")}
    cards = []
    for seg in ("tier", "industry", "onboarding_cohort", "csm_owner"):
        cards.append(card(f"By {SEGMENT_LABELS[seg].lower() if seg != 'csm_owner' else 'customer-success manager'}",
                          segment_scorecard(ctx, seg, csm_names)))
    note = (f'<p class="note">Bars share one scale per column; whiskers: 95% confidence interval; grey: low sample (fewer than '
            f'{ctx.min_sample} observations), read with care. Hover a cell for its exact figures.</p>')
    return f'<div class="grid">{"".join(cards)}</div>{note}'


def view_operations(ctx: Context) -> str:
    d = ctx.data
    until = ctx.as_of
    metrics = [
        ("frt_median_minutes", "First response, median"),
        ("frt_within_target_pct", "First response within target"),
        ("resolution_median_hours", "Resolution time, median"),
        ("fcr_pct", "First-contact resolution"),
        ("escalation_rate_pct", "Escalation rate"),
        ("call_answer_within_20s_pct", "Calls answered ≤ 20 s"),
        ("ticket_count", "Tickets created"),
        ("unresolved_tickets", "Unresolved tickets"),
    ]
    tiles = []
    for i, (metric, label) in enumerate(metrics):
        p = d.latest(metric, "month", until=until)
        spark_pts = d.series(metric, "month", until=until)[-MONTHS:]
        ctx.figures[metric] = p.value if p else None
        tiles.append(tile(label, metric, p, period=fmt_period(p.period, "month") if p else "", currency=ctx.currency,
                          spark=sparkline(spark_pts, SERIES_COLORS[i % 4])))
    out = [f'<div class="grid tiles four">{"".join(tiles)}</div>']
    by_channel = d.by_segment("frt_within_target_pct", "month", None, "channel")
    by_category = d.by_segment("resolution_median_hours", "month", None, "category")
    targets = ctx.frt_targets or {"email": 3600, "chat": 60, "phone": 20, "web": 3600}
    target_text = ", ".join(f"{ch} {_duration(sec)}" for ch, sec in targets.items())
    charts = [
        card("First response within target, by channel",
             bar_rows(by_channel, metric="frt_within_target_pct", currency=ctx.currency, label="frt by channel", width=560),
             subtitle=f"% of tickets, {fmt_period(by_channel[0][1].period, 'month')}" if by_channel else "",
             note=f"Targets: {target_text}."),
        card("Resolution time by category",
             bar_rows(by_category, metric="resolution_median_hours", currency=ctx.currency, label="resolution by category",
                      width=560),
             subtitle=f"median hours, {fmt_period(by_category[0][1].period, 'month')}" if by_category else ""),
        card("First-contact resolution and escalations, monthly",
             line_chart([Series("FCR", d.series("fcr_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
                         Series("Escalation rate", d.series("escalation_rate_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[1]),
                         Series("Calls ≤ 20 s", d.series("call_answer_within_20s_pct", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[2])],
                        metric="fcr_pct", currency=ctx.currency, label="fcr"),
             subtitle="% of solved tickets / tickets / calls offered"),
        card("First response and resolution, monthly medians",
             line_chart([Series("First response (min)", d.series("frt_median_minutes", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[0]),
                         Series("Resolution (h)", d.series("resolution_median_hours", "month", until=until)[-MONTHS * 2:], SERIES_COLORS[3], dashed=True,
                                metric="resolution_median_hours")],
                        metric="frt_median_minutes", currency=ctx.currency, label="frt"),
             subtitle="minutes (first response) and hours (resolution)"),
    ]
    out.append(f'<div class="grid two">{"".join(charts)}</div>')
    return "".join(out)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def view_executive(ctx: Context) -> str:
    d = ctx.data
    until = ctx.as_of
    tiles = []
    for metric, label, grain in (
        ("nrr_pct", "Net revenue retention", "month"),
        ("grr_pct", "Gross revenue retention", "month"),
        ("logo_churn_rate_pct", "Logo churn, monthly", "month"),
        ("annualized_logo_churn_pct", "Logo churn, annualized", "month"),
        ("revenue_churn_rate_pct", "Revenue churn, monthly", "month"),
        ("cltv", "Customer lifetime value", "month"),
        ("arpa_annual", "ARPA, annual", "month"),
        ("nrr_pct", "NRR, last quarter", "quarter"),
    ):
        p = d.latest(metric, grain, until=until)
        if grain == "month":
            ctx.figures.setdefault(metric, p.value if p else None)
        tiles.append(tile(label, metric, p, period=fmt_period(p.period, grain) if p else "", currency=ctx.currency))
    out = [f'<div class="grid tiles four">{"".join(tiles)}</div>']
    nrr = d.series("nrr_pct", "month", until=until)[-MONTHS * 2:]
    grr = d.series("grr_pct", "month", until=until)[-MONTHS * 2:]
    movements = {
        "New": "new_mrr", "Expansion": "expansion_mrr", "Reactivation": "reactivation_mrr",
        "Contraction": "contraction_mrr", "Churned": "churned_mrr",
    }
    per_metric = {label: {p.period: p.value for p in d.series(m, "month", until=until)} for label, m in movements.items()}
    months = sorted({m for vals in per_metric.values() for m in vals})[-MONTHS:]
    stacks = {}
    for label, vals in per_metric.items():
        sign = -1.0 if label in ("Contraction", "Churned") else 1.0
        stacks[label] = [(sign * abs(vals[m]) if vals.get(m) is not None else None) for m in months]
    colors = {"New": "#15803d", "Expansion": "#4ade80", "Reactivation": "#0d9488", "Contraction": "#f59e0b", "Churned": "#b91c1c"}
    charts = [
        card("Revenue retention, monthly",
             line_chart([Series("NRR", nrr, SERIES_COLORS[0]), Series("GRR", grr, SERIES_COLORS[1])], metric="nrr_pct",
                        ref_lines=[(100, "100%")], currency=ctx.currency, label="nrr"),
             subtitle="% of MRR at month start, accounts active at start",
             note="NRR = (start + expansion − contraction − churned) / start; GRR excludes expansion (never above 100%)."),
        card("MRR movements, monthly",
             diverging_columns(months, stacks, colors, currency=ctx.currency, label="mrr movements"),
             subtitle=f"{ctx.currency}, between consecutive month ends"),
    ]
    out.append(f'<div class="grid two">{"".join(charts)}</div>')
    return "".join(out)


VIEW_BUILDERS: dict[str, tuple[str, Callable[[Context], str]]] = {
    "health": ("Accounts at risk now, the latest survey responses and the alerts awaiting follow-up.", view_health),
    "trends": ("Attitudinal metrics over rolling 30/60/90-day windows, and churn and retention by month.", view_trends),
    "segments": ("The same metrics by tier, industry, onboarding cohort and customer-success manager.", view_segments),
    "operations": ("Support service levels by month: first response, resolution, first-contact resolution, escalations "
                   "and the phone queue.", view_operations),
    "executive": ("Revenue retention, churn and customer lifetime value: the numbers for the board.", view_executive),
}


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


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
    if d._mv_ok:
        candidates.append(d.scalar("select max(period_start) from marts.metric_values where grain in ('day', 'rolling')"))
    dates = [_as_date(c) for c in candidates if c is not None]
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
    cfg = _settings()
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
                      frt_targets=dict(cfg.get("frt_target_seconds") or {}))
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
        "Definitions: <code>METRICS.md</code>; every figure comes from the serving copy "
        f"<code>{esc(sfile.name)}</code> (tables <code>marts.metric_values</code>, <code>marts.account_health</code>, "
        "<code>marts.alerts</code>, ...). Lineage and checks: the Dagster UI. "
        f"Generated {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by <code>orchestration/lib/dashboard.py</code>."
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
