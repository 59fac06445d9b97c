"""The dashboard's views, in page order: one module and one function per view."""

from __future__ import annotations

from collections.abc import Callable

from orchestration.lib.serve.dashboard.views.common import Context
from orchestration.lib.serve.dashboard.views.executive import view_executive
from orchestration.lib.serve.dashboard.views.health import view_health
from orchestration.lib.serve.dashboard.views.operations import view_operations
from orchestration.lib.serve.dashboard.views.program import view_program
from orchestration.lib.serve.dashboard.views.segments import view_segments
from orchestration.lib.serve.dashboard.views.trends import view_trends

VIEWS = [
    ("health", "Real-time health"),
    ("program", "Program"),
    ("trends", "Trends"),
    ("segments", "Segments"),
    ("operations", "Operations"),
    ("executive", "Executive"),
]

VIEW_BUILDERS: dict[str, tuple[str, Callable[[Context], str]]] = {
    "health": ("Accounts at risk now, the latest survey responses and the alerts awaiting follow-up.", view_health),
    "program": ("What each owner team has to review now, breaches first: the value, the previous period, the change "
                "and the sample it rests on.", view_program),
    "trends": ("Attitudinal metrics over rolling 30/60/90-day windows, the survey program's response, fatigue and "
               "timeliness, and churn and retention by month.", view_trends),
    "segments": ("The same metrics by tier, industry, onboarding cohort and customer-success manager.", view_segments),
    "operations": ("Support service levels by month: first response, resolution, first-contact resolution, escalations "
                   "and the phone queue.", view_operations),
    "executive": ("Revenue retention, churn and customer lifetime value: the numbers for the board.", view_executive),
}

