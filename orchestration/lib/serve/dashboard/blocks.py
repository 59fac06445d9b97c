"""HTML building blocks: cards, tiles, tables, sections and the "no data yet" note."""

from __future__ import annotations

from orchestration.lib.serve.dashboard.data import Point
from orchestration.lib.serve.dashboard.formatting import (
    METRICS,
    NO_DATA,
    MetricInfo,
    band_for,
    ci_text,
    esc,
    fmt_money,
    fmt_n,
    fmt_number,
)


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
        f'<div class="value">{value_html}{" " + band_html if band_html else ""}</div><div class="sub">{" · ".join(bits)}</div>{spark}</div>'
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



NOT_AVAILABLE = "not available yet"


def unavailable(title: str, tables: str, what: str) -> str:
    """A card for a part of the page whose mart is not in the serving copy yet: which table, and
    what it will show, instead of an error or a blank."""
    return (f'<div class="card unavailable" data-unavailable="{esc(tables)}"><h3>{esc(title)}</h3>'
            f'<div class="empty-note">{NOT_AVAILABLE}</div>'
            f'<p class="note"><code>{esc(tables)}</code> {"are" if "," in tables else "is"} not in the serving copy yet. '
            f'{esc(what)}</p></div>')
