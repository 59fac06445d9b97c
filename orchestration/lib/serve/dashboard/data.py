"""Reading the serving copy: read-only access that never raises for a missing table or column.

`Serving` lists the copy's columns once, so every view can ask whether a table (or a column added
by a later mart) exists and fall back to "no data yet" instead of failing the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb


def load_settings() -> dict[str, Any]:
    try:
        from orchestration.lib.core import settings

        return settings.load()
    except Exception:  # the dashboard must render even without the dbt project beside it
        return {}



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
    grain: str | None = None  # of the series it belongs to: how far apart consecutive periods are


def as_date(value: Any) -> date | None:
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


def num(value: Any) -> float | None:
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

    @property
    def has_metric_values(self) -> bool:
        return self._mv_ok

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
        n = int(n) if num(n) is not None else None
        low = r.get("is_low_sample")
        if low is None:
            low = n is not None and n < self.min_sample
        return Point(
            period=as_date(r["period_start"]),
            value=num(r["value"]),
            ci_low=num(r.get("ci_low")),
            ci_high=num(r.get("ci_high")),
            n=n,
            low=bool(low),
            numerator=num(r.get("numerator")),
            denominator=num(r.get("denominator")),
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
        points = [self._point(r) for r in rows]
        for p in points:
            p.grain = grain
        return points

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


# --------------------------------------------------------------------------------------------
# The program marts (metric_catalog, metric_reviews) and the churn model's marts
# (account_health.churn_probability, account_risk_drivers, health_score_evidence,
# health_score_reliability). Each reader returns nothing when its table or columns are absent:
# they are built by later marts, and the page says "not available yet" until they exist.
# --------------------------------------------------------------------------------------------

CATALOG = ("marts", "metric_catalog")
REVIEWS = ("marts", "metric_reviews")
RISK_DRIVERS = ("marts", "account_risk_drivers")
EVIDENCE = ("marts", "health_score_evidence")
RELIABILITY = ("marts", "health_score_reliability")

CATALOG_KEY = ("metric", "owner_team", "cadence")
REVIEW_KEY = ("metric", "segment_type", "segment_value", "owner_team", "period_start", "due_date", "value",
              "is_breached")


def read_catalog(d: Serving) -> dict[str, dict[str, Any]]:
    """metric -> its catalog row (definition, unit, direction, owner, cadence, threshold, headline)."""
    if not d.has(*CATALOG, *CATALOG_KEY):
        return {}
    return {str(r["metric"]): r for r in d.rows("select * from marts.metric_catalog order by metric")}


def headline_metrics(catalog: dict[str, dict[str, Any]]) -> list[str]:
    """The configured headline set, in its rank order."""
    heads = [r for r in catalog.values() if r.get("is_headline")]
    return [str(r["metric"]) for r in sorted(heads, key=lambda r: (num(r.get("headline_rank")) or 1e9, r["metric"]))]


def due_reviews(d: Serving, as_of: date | None, with_value: bool = False) -> list[dict[str, Any]]:
    """What is due for review now: per metric and segment, the latest review period whose due
    date has come by `as_of` (the data's date; every period's latest when unknown). With
    `with_value`, the latest such period that has a value (NPS surveyed in waves has months
    without one)."""
    if not d.has(*REVIEWS, *REVIEW_KEY):
        return []
    conds, params = [], []
    if as_of is not None:
        conds.append("due_date <= ?")
        params.append(as_of)
    if with_value:
        conds.append("value is not null")
    where = ("where " + " and ".join(conds)) if conds else ""
    return d.rows(
        "select * exclude (recency) from (select *, row_number() over (partition by metric, segment_type, segment_value "
        f"order by period_start desc) as recency from marts.metric_reviews {where}) where recency = 1",
        params,
    )


def risk_drivers(d: Serving, as_of: date | None) -> dict[str, list[dict[str, Any]]]:
    """account_id -> its top drivers (rank order) on its latest date up to `as_of`."""
    if not d.has(*RISK_DRIVERS, "account_id", "as_of_date", "driver_rank", "feature", "contribution"):
        return {}
    value = "feature_value" if d.has(*RISK_DRIVERS, "feature_value") else "null as feature_value"
    where, params = ("where as_of_date <= ?", [as_of]) if as_of is not None else ("", [])
    rows = d.rows(
        f"select account_id, as_of_date, driver_rank, feature, contribution, {value} from ("
        "select *, max(as_of_date) over (partition by account_id) as latest "
        f"from marts.account_risk_drivers {where}) where as_of_date = latest order by account_id, driver_rank",
        params,
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r["account_id"]), []).append(r)
    return out


def evidence_rows(d: Serving) -> list[dict[str, Any]]:
    """The health score's evidence for the whole book (segment 'all'), one row per measure."""
    if not d.has(*EVIDENCE, "measure", "value"):
        return []
    cols = ["measure", "value"] + [c if d.has(*EVIDENCE, c) else f"null as {c}"
                                   for c in ("goal", "meets_goal", "sample_size", "value_text")]
    where = "where segment_type = 'all'" if d.has(*EVIDENCE, "segment_type") else ""
    return d.rows(f"select {', '.join(cols)} from marts.health_score_evidence {where}")


def reliability_rows(d: Serving) -> list[dict[str, Any]]:
    """The calibration table: per decile of predicted churn probability, predicted vs observed."""
    if not d.has(*RELIABILITY, "decile", "predicted", "observed", "n"):
        return []
    return d.rows("select decile, predicted, observed, n from marts.health_score_reliability order by decile")
