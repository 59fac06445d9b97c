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

The package: `data` reads the serving copy, `formatting` holds units and number formats,
`charts` draws SVG, `blocks` the HTML pieces (cards, tiles, tables), `views` builds one function
per view and `page` assembles them into `template.html`.
"""

from orchestration.lib.serve.dashboard.formatting import NO_DATA
from orchestration.lib.serve.dashboard.page import DashboardResult, render_dashboard
from orchestration.lib.serve.dashboard.views import VIEWS

__all__ = ["NO_DATA", "VIEWS", "DashboardResult", "render_dashboard"]
