"""SVG charts drawn as strings: line charts, horizontal bars, diverging columns, sparklines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from orchestration.lib.serve.dashboard.blocks import empty
from orchestration.lib.serve.dashboard.data import Point
from orchestration.lib.serve.dashboard.formatting import (
    METRICS,
    MetricInfo,
    ci_text,
    esc,
    fmt_metric,
    fmt_money,
    fmt_n,
)

COLORS = {30: "#2563eb", 60: "#ea580c", 90: "#0d9488"}
SERIES_COLORS = ["#2563eb", "#ea580c", "#0d9488", "#7c3aed", "#db2777"]
BAND_COLORS = {"green": "#15803d", "yellow": "#ca8a04", "red": "#b91c1c"}
LOW_COLOR = "#b8bec8"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def axis_domain(values: Iterable[float | None], fixed: tuple[float, float] | None, include_zero: bool = False) -> tuple[float, float]:
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


GRAIN_DAYS = {"day": 1, "rolling": 1, "week": 7, "month": 31, "quarter": 92}


def max_step_days(points: Sequence[Point]) -> float:
    """The longest distance between two consecutive periods that still counts as "next": a
    little over the series' own step (1 day, 7 days, a month of 28-31 days, a quarter), so a
    missing day, week, month or quarter is a gap. The step is the points' grain where known (two
    monthly values three months apart are a gap, not a quarterly series), else the shortest
    distance between them."""
    grain = next((p.grain for p in points if p.grain), None)
    if grain in GRAIN_DAYS:
        step = GRAIN_DAYS[grain]
    else:
        ds = sorted({p.period for p in points})
        steps = [(b - a).days for a, b in zip(ds, ds[1:], strict=False) if b > a]
        if not steps:
            return 1.0
        step = min(steps)
    return step * 1.2 + (4 if step >= 28 else 0)


def firm_runs(points: Sequence[Point], max_gap: float) -> list[list[Point]]:
    """The stretches a line may join: consecutive firm (not low-sample) values with no period
    missing between them. A missing period or a low-sample value ends a stretch."""
    runs: list[list[Point]] = []
    current: list[Point] = []
    for p in sorted((p for p in points if p.value is not None), key=lambda p: p.period):
        if p.low:
            if current:
                runs.append(current)
            current = []
            continue
        if current and (p.period - current[-1].period).days > max_gap:
            runs.append(current)
            current = []
        current.append(p)
    if current:
        runs.append(current)
    return runs


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
    """A line chart with gridlines, date axis and optional CI bands.

    Lines join only consecutive firm values: where a period has no value the line breaks (a gap,
    not a straight segment across it), and a low-sample value is a hollow grey marker off the
    line. The axis is scaled to the firm values, so one low-sample extreme (an NPS of -100 on two
    responses) cannot squash the rest; such a point sits on the axis' edge, marked as off scale.
    """
    series = [s for s in series if any(p.value is not None for p in s.points)]
    if not series:
        return empty(label)
    info = METRICS.get(metric, MetricInfo(metric, ""))
    ml, mr, mt, mb = 46, 70, 26, 26
    pw, ph = width - ml - mr, height - mt - mb
    dates = [p.period for s in series for p in s.points]
    d0, d1 = min(dates), max(dates)
    span = max((d1 - d0).days, 1)
    firm = [p for s in series for p in s.points if p.value is not None and not p.low]
    basis = firm or [p for s in series for p in s.points if p.value is not None]
    values: list[float | None] = [p.value for p in basis]
    values += [v for s in series if s.show_ci for p in s.points if p in basis for v in (p.ci_low, p.ci_high)]
    values += [v for v, _ in ref_lines if info.domain is None or info.domain[0] <= v <= info.domain[1]]
    lo, hi = axis_domain(values, info.domain, include_zero=info.money)

    def x(d: date) -> float:
        return ml + pw * ((d - d0).days / span if span else 0.5)

    def y(v: float) -> float:
        return mt + ph * (1 - (min(max(v, lo), hi) - lo) / ((hi - lo) or 1))

    out = [f'<svg class="line-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="{esc(label)}" data-chart="{esc(label)}">']
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
    runs_of = {id(s): firm_runs(s.points, max_step_days([p for p in s.points if p.value is not None]))
               for s in series}
    for s in series:
        if s.show_ci:
            for run in runs_of[id(s)]:
                pts = [p for p in run if p.ci_low is not None and p.ci_high is not None]
                if len(pts) > 1:
                    upper = " ".join(f"{x(p.period):.1f},{y(p.ci_high):.1f}" for p in pts)
                    lower = " ".join(f"{x(p.period):.1f},{y(p.ci_low):.1f}" for p in reversed(pts))
                    out.append(f'<polygon points="{upper} {lower}" fill="{s.color}" fill-opacity="0.13" stroke="none"/>')
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        many = len(s.points) > 60
        fmt = "%d %b %Y"
        for run in runs_of[id(s)]:
            span_attrs = (f'data-series="{esc(s.name)}" data-start="{run[0].period.isoformat()}" '
                          f'data-end="{run[-1].period.isoformat()}" data-points="{len(run)}"')
            if len(run) == 1:
                p = run[0]
                out.append(f'<circle class="run single" {span_attrs} cx="{x(p.period):.1f}" cy="{y(p.value):.1f}" r="3" '
                           f'fill="{s.color}"/>')
            else:
                path = " ".join(f"{'M' if i == 0 else 'L'}{x(p.period):.1f},{y(p.value):.1f}" for i, p in enumerate(run))
                out.append(f'<path class="run" {span_attrs} d="{path}" fill="none" stroke="{s.color}" stroke-width="2"{dash} '
                           'stroke-linejoin="round"/>')
        for p in s.points:
            if p.value is None:
                continue
            tip = f"{s.name} · {p.period:{fmt}}: {fmt_metric(s.metric or metric, p.value, currency)} ({fmt_n(p.n)})"
            cx, cy = x(p.period), y(p.value)
            if p.low:
                off = p.value < lo or p.value > hi
                if off:  # a triangle on the edge, pointing where the value lies
                    tip += " · off the scale"
                    dy = 5 if p.value < lo else -5
                    shape = (f'<path class="low-pt off-scale" data-series="{esc(s.name)}" data-date="{p.period.isoformat()}" '
                             f'd="M{cx - 3.5:.1f},{cy - dy / 2:.1f} L{cx + 3.5:.1f},{cy - dy / 2:.1f} L{cx:.1f},{cy + dy / 2:.1f} Z" '
                             f'fill="#fff" stroke="{LOW_COLOR}" stroke-width="1.3">')
                    out.append(f"{shape}<title>{esc(tip)} · low sample</title></path>")
                else:
                    out.append(f'<circle class="low-pt" data-series="{esc(s.name)}" data-date="{p.period.isoformat()}" cx="{cx:.1f}" cy="{cy:.1f}" '
                               f'r="{2.2 if many else 3}" fill="#fff" stroke="{LOW_COLOR}" stroke-width="1.3">'
                               f"<title>{esc(tip)} · low sample</title></circle>")
            elif not many:
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{s.color}"><title>{esc(tip)}</title></circle>')
    out.extend(ref_labels)  # above the lines, so they stay readable
    # end labels (the latest firm value), nudged apart
    ends = []
    for s in series:
        runs = runs_of[id(s)]
        last = runs[-1][-1] if runs else None
        if last is not None:
            ends.append([y(last.value), s, last])
    ends.sort(key=lambda e: e[0])
    for i in range(1, len(ends)):
        if ends[i][0] - ends[i - 1][0] < 13:
            ends[i][0] = ends[i - 1][0] + 13
    for ypos, s, last in ends:
        text = fmt_metric(s.metric or metric, last.value, currency)
        if len(text) > 9:  # "76.1 / 100" does not fit the margin: the scale is in the title
            text = fmt_metric(s.metric or metric, last.value, currency, with_unit=False)
        out.append(f'<text x="{ml + pw + 6}" y="{ypos + 4:.1f}" font-size="12" font-weight="700" fill="{s.color}">{esc(text)}</text>')
    lx = ml
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{s.color}" stroke-width="3"{dash}/>')
        out.append(f'<text x="{lx + 23}" y="16" font-size="12" fill="#374151">{esc(s.name)}</text>')
        lx += 32 + 7 * len(s.name)
    if any(p.low for s in series for p in s.points if p.value is not None):
        out.append(f'<circle cx="{lx + 4}" cy="12" r="3" fill="#fff" stroke="{LOW_COLOR}" stroke-width="1.3"/>')
        out.append(f'<text x="{lx + 11}" y="16" font-size="12" fill="#6b7280">low sample</text>')
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
        lo, hi = axis_domain(values, None, include_zero=True)
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
    """A small trend line by date: broken where a period is missing, low-sample values as grey dots
    off the line (the scale follows the firm values)."""
    pts = sorted((p for p in points if p.value is not None), key=lambda p: p.period)
    if len(pts) < 2:
        return ""
    firm = [p.value for p in pts if not p.low] or [p.value for p in pts]
    lo, hi = min(firm), max(firm)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    d0, span = pts[0].period, max((pts[-1].period - pts[0].period).days, 1)

    def xy(p: Point) -> tuple[float, float]:
        v = min(max(p.value, lo), hi)
        return 2 + (width - 4) * (p.period - d0).days / span, 3 + (height - 6) * (1 - (v - lo) / (hi - lo))

    def dot(p: Point, c: str) -> str:  # a zero-length round-capped line stays round when the svg stretches
        px, py = xy(p)
        return (f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{py:.1f}" y2="{py:.1f}" stroke="{c}" stroke-width="5" '
                'stroke-linecap="round" vector-effect="non-scaling-stroke"/>')

    parts = []
    for run in firm_runs(pts, max_step_days(pts)):
        if len(run) > 1:
            d = " ".join(f"{'M' if i == 0 else 'L'}{xy(p)[0]:.1f},{xy(p)[1]:.1f}" for i, p in enumerate(run))
            parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.8" stroke-linejoin="round" '
                         'vector-effect="non-scaling-stroke"/>')
        else:
            parts.append(dot(run[0], color))
    parts += [dot(p, LOW_COLOR) for p in pts if p.low]
    if not pts[-1].low:
        parts.append(dot(pts[-1], color).replace('stroke-width="5"', 'stroke-width="6"'))
    return (f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" aria-hidden="true">'
            f'{"".join(parts)}</svg>')


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

