"""Units, labels and number formatting shared by charts and views."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import Any

from orchestration.lib.serve.dashboard.data import Point

NO_DATA = "no data yet"


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
    "surveys_per_contact_90d": MetricInfo("Surveys per contact, 90 d", "", 2, higher_is_better=False),
    "survey_timeliness_pct": MetricInfo("Survey timeliness", "%", 1, (0, 100)),
    "acsi_index": MetricInfo("ACSI", "/ 100", 1, (0, 100)),
    "acsi_incomplete_respondents": MetricInfo("ACSI respondents with an item missing", "", 0, higher_is_better=False),
    "review_count": MetricInfo("Reviews", "", 0, higher_is_better=None),
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
    "detractor_recovery_pct": MetricInfo("Detractors recovered", "%", 1, (0, 100)),
    "active_users": MetricInfo("Active users", "", 0),
    "feature_adoption_pct": MetricInfo("Feature adoption", "%", 1, (0, 100)),
    "usage_change_pct": MetricInfo("Usage change, 30 d", "%", 1, signed=True),
    "milestone_on_time_pct": MetricInfo("Milestones on time", "%", 1, (0, 100)),
    "time_to_value_days": MetricInfo("Time to value (median)", "d", 0, higher_is_better=False),
}

# metric_reviews.cadence -> the metric_values grain a review period corresponds to
CADENCE_GRAIN = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}
TEAM_LABELS = {"customer_success": "Customer success", "support": "Support", "product": "Product",
               "executive": "Executive team"}


def metric_label(metric: str) -> str:
    info = METRICS.get(metric)
    return info.label if info else metric.replace("_", " ").capitalize()


def pct(value: float | None, decimals: int = 0) -> str:
    """A 0-1 share as a percentage."""
    return "–" if value is None else f"{100 * value:.{decimals}f}%"

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


_CURRENCY = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    if value is None:
        return "–"
    if round(value, decimals) == 0:
        value = 0.0  # never "−0"
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
    """The reading bands of docs/metrics.md: (label, css class)."""
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

