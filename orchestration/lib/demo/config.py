"""Presets, reference lists and small date helpers of the demo extract generator.

Nothing here draws random numbers: every value is a constant, so the generated world only
depends on (preset, seed, end_date).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    accounts: int
    days: int  # daily extracts, ending on end_date
    events_per_account_day: float  # average over accounts (inactive ones included)
    csms: int  # customer success managers at the start (one more joins mid-window)
    agents: int  # support agents
    missing_column_files: int  # whole-file defects (a file without a required column)


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 20, 20, 30.0, 4, 3, 1),
    "small": Preset("small", 40, 100, 12.0, 4, 3, 1),  # end-to-end tests: every defect kind, an NPS wave
    # `make run`: a year of 400 accounts, so that about 50 renewals churn and the churn and
    # expansion models reach min_events and are in force (200 accounts over six months gave 15
    # churns: the configured weights stayed); about the event volume of those six months
    "demo": Preset("demo", 400, 365, 9.0, 5, 6, 2),
    "s": Preset("S", 1_000, 365, 27.4, 7, 12, 3),
    "m": Preset("M", 10_000, 365, 27.4, 7, 40, 4),
    # bench/incremental.py: a long history (400 extract dates) at a small daily volume
    "history": Preset("history", 200, 400, 27.4, 5, 6, 1),
    # bench/worlds.py: enough renewals to measure a churn score on (~400 accounts over 18 months)
    "worlds": Preset("worlds", 400, 548, 6.0, 5, 6, 1),
    # bench/worlds.py, held-out figures: three times the accounts at a third of the events per
    # account-day (about the same event volume), so that renewals held out in time hold enough
    # churns for an AUC worth reading (~50 churned renewals held out instead of ~15)
    "worlds_large": Preset("worlds_large", 1_200, 548, 2.0, 8, 10, 1),
    # tests/test_worlds.py: one short pipeline run with enough renewals to fit weights on
    "worlds_test": Preset("worlds_test", 400, 240, 0.5, 5, 6, 1),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(p.name for p in PRESETS.values())}") from None


# --- latent processes ("worlds") ---------------------------------------------------------------
# Which signals carry an account's latent health, and how health turns into churn and expansion.
# `default` is the generator's original process (every signal follows health; churn from health
# 60-30 days before the renewal, budget cuts without warning); the others let a health score that
# was tuned on one world be checked on histories whose warnings live elsewhere.
CHANNELS = ("usage", "adoption", "milestones", "support", "sentiment", "engagement")


@dataclass(frozen=True)
class Latent:
    name: str
    summary: str
    # share of each channel's health that is the account's latent health; the rest is a path of
    # its own (same kind of walk, dips and declines) that has nothing to do with churn
    carries: tuple[tuple[str, float], ...] = tuple((c, 1.0) for c in CHANNELS)
    sentiment_noise: float = 0.13  # sd of a survey answer's sentiment around the sentiment channel
    # churn at a renewal, from the mean latent health over days [r-75, r-45) (known 45 days before):
    # annual probability = 1 - (1 - logistic(churn_logit0 + churn_slope x (0.5 - health))) x (1 - silent_churn);
    # a monthly term's probability is the monthly equivalent of that annual one
    churn_logit0: float = -3.0
    churn_slope: float = 12.0
    silent_churn: float = 0.0  # annual probability of a churn no signal announces (budget cut)
    # expansion (seats up at renewal, a seat pack mid-term), from value 45 days before:
    # logistic(expand_logit0 + expand_util x (seat use - 0.45) + expand_growth x usage growth over 60 days)
    expand_logit0: float = -1.6
    expand_util: float = 5.0
    expand_growth: float = 8.0
    seat_use_sigma: float = 0.3  # spread of accounts' seat use (active users per licensed seat)

    @property
    def is_default(self) -> bool:
        return self.name == "default"

    def share(self, channel: str) -> float:
        return dict(self.carries)[channel]


WORLDS: dict[str, Latent] = {
    "default": Latent("default", "every signal follows health; churn from health 60-30 days before the renewal"),
    # the independent history of issue 30: usage trend and support load carry the warning, NPS is
    # noisy, some churn comes with no warning
    "usage_support": Latent(
        "usage_support", "usage and support carry the warning; surveys noisy; some churn unannounced",
        carries=(("usage", 1.0), ("adoption", 0.5), ("milestones", 0.2), ("support", 1.0), ("sentiment", 0.35),
                 ("engagement", 0.2)),
        sentiment_noise=0.25, silent_churn=0.04),
    # usage says little: the warning is in CSM engagement, onboarding milestones and survey answers
    "engagement": Latent(
        "engagement", "engagement, milestones and NPS carry the warning; usage and support say little",
        carries=(("usage", 0.15), ("adoption", 0.15), ("milestones", 1.0), ("support", 0.2), ("sentiment", 1.0),
                 ("engagement", 1.0)),
        sentiment_noise=0.10, silent_churn=0.02),
    # most churn is a budget decision no signal announces, and unhappy accounts mostly renew
    "silent": Latent(
        "silent", "most churn is an unannounced budget cut; unhappy accounts mostly renew",
        carries=tuple((c, 0.7) for c in CHANNELS), churn_logit0=-4.0, churn_slope=6.0, silent_churn=0.10),
}


def latent(name: str) -> Latent:
    try:
        return WORLDS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown world {name!r}; choose one of {', '.join(WORLDS)}") from None


def add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def window(p: Preset, end_date: dt.date) -> tuple[dt.date, int]:
    """First extract date and number of daily extracts."""
    start = end_date - dt.timedelta(days=p.days - 1)
    return start, p.days


def quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


# --- segments ---------------------------------------------------------------------------------
TIERS = ("enterprise", "mid_market", "smb")
TIER_SHARE = (0.10, 0.30, 0.60)
SEATS_MEDIAN = {"enterprise": 350.0, "mid_market": 60.0, "smb": 10.0}
SEATS_SIGMA = {"enterprise": 0.7, "mid_market": 0.6, "smb": 0.6}
PLANS = {"enterprise": (("premium", 0.7), ("growth", 0.3)),
         "mid_market": (("growth", 0.6), ("premium", 0.25), ("essentials", 0.15)),
         "smb": (("essentials", 0.6), ("growth", 0.4))}
PRICE_PER_SEAT_USD = {"essentials": 15.0, "growth": 32.0, "premium": 55.0}
FX_FROM_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}
REGIONS = (("na", 0.45), ("emea", 0.30), ("apac", 0.15), ("latam", 0.10))
# UTC offset (hours) of each region's business day, and the offset written on the few
# timestamps that carry one (same instant, other representation).
REGION_UTC_OFFSET = {"na": -5, "emea": 1, "apac": 8, "latam": -3}
REGION_TZ_LABEL = {"na": -300, "emea": 120, "apac": 480, "latam": -180}  # minutes
INDUSTRIES = ("software", "healthcare", "financial_services", "retail", "manufacturing",
              "education", "media", "logistics", "public_sector")

# --- names ------------------------------------------------------------------------------------
NAME_A = ("Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
          "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Oscorp", "Aperture", "Blue Sun", "Dunder",
          "Monarch", "Müller", "Société Lumière", "Kōbe", "Nordlys", "Pinecone", "Redwood", "Harbor",
          "Summit", "Atlas", "Beacon", "Cobalt", "Delta", "Evergreen", "Falcon", "Granite", "Helix",
          "Ironclad", "Juniper", "Keystone", "Lighthouse", "Meridian", "Nimbus")
NAME_B = ("Logistics", "Health", "Foods", "Labs", "Systems", "Partners", "Analytics", "Retail", "Media",
          "Bank", "Energy", "Robotics", "Insurance", "Learning", "Motors", "Pharma", "Studios", "Capital")
NAME_SUFFIX = ("Inc.", "Ltd", "GmbH", "S.A.", "LLC", ", Inc.", "& Co", "Group", "", "")
FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
               "Liam", "Maya", "Noor", "Oscar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
               "Wei", "Ximena", "Yusuf", "Zoë", "Amara", "Bruno", "Carmen", "Diego", "Emma", "Felix")
LAST_NAMES = ("Adeyemi", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ivanova",
              "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Quint", "Rossi",
              "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann", "Nguyen", "Kim")

# --- product ----------------------------------------------------------------------------------
# (feature_key, event_name, feature_name, is_core, weight among features of its kind)
FEATURES = (
    ("dashboards", "dashboard_viewed", "Dashboards", True, 5.0),
    ("reports", "report_created", "Reports", True, 4.0),
    ("data_import", "data_imported", "Data import", True, 2.0),
    ("alerts", "alert_configured", "Alerts", True, 1.5),
    ("collaboration", "comment_added", "Comments & mentions", True, 3.0),
    ("workflows", "workflow_run", "Workflow automation", True, 2.5),
    ("integrations", "integration_synced", "Integrations", True, 2.0),
    ("sharing", "dashboard_shared", "Sharing", True, 1.5),
    ("api", "api_call", "Public API", False, 4.0),
    ("exports", "export_downloaded", "Exports (CSV, \"Excel\")", False, 2.0),
    ("mobile_app", "mobile_session", "Mobile app", False, 2.0),
    ("templates", "template_used", "Templates", False, 1.5),
    ("sso", "sso_login", "Single sign-on", False, 1.0),
    ("audit_log", "audit_log_viewed", "Audit log", False, 0.5),
    ("custom_fields", "custom_field_created", "Custom fields", False, 1.0),
    ("forecasting", "forecast_run", "Forecasting", False, 1.0),
    ("ai_assistant", "assistant_prompt", "AI assistant", False, 1.5),
    ("scheduled_reports", "report_scheduled", "Scheduled reports", False, 1.0),
    ("billing_portal", "billing_viewed", "Billing portal", False, 0.3),
    ("admin_console", "admin_settings_changed", "Admin console", False, 0.5),
)
GENERIC_EVENTS = (("login", 4.0), ("page_view", 8.0), ("search", 3.0))
PROPERTIES = ("", "", '{"platform":"web"}', '{"platform":"web","browser":"chrome"}',
              '{"platform":"web","browser":"firefox"}', '{"platform":"mobile","os":"ios"}',
              '{"platform":"mobile","os":"android"}', '{"source":"api","version":"v2"}', "{}",
              '{"platform":"web","duration_ms":1250}')

# --- surveys ----------------------------------------------------------------------------------
# survey_id, metric, question, scale_min, scale_max, higher_is_better, trigger, channel, owner_team
SURVEYS = (
    ("srv_csat_ticket_email", "csat", "How satisfied were you with the support you received?", 1, 5, True,
     "ticket_solved", "email", "support"),
    ("srv_csat_ticket_chat", "csat", "How would you rate this chat, from 1 (very poor) to 7 (excellent)?", 1, 7,
     True, "ticket_solved", "in_app", "support"),
    ("srv_nps_relationship", "nps", "How likely are you to recommend us to a friend or colleague?", 0, 10, True,
     "relationship", "email", "customer_success"),
    ("srv_ces_onboarding", "ces", "How much effort did it take to complete this onboarding step?", 1, 7, False,
     "onboarding_milestone", "email", "customer_success"),
    ("srv_ces_feature", "ces", "\"It was easy to get started with this feature.\" Do you agree?", 1, 7, True,
     "feature_adoption", "in_app", "product"),
    ("srv_csat_release", "csat", "How satisfied are you with this release?", 1, 5, True, "release", "in_app",
     "product"),
    # the relationship satisfaction index (ACSI-style): three questions on 1-10, one invitation
    ("srv_acsi_satisfaction", "acsi", "Overall, how satisfied are you with our product and service?", 1, 10,
     True, "relationship", "email", "customer_success"),
    ("srv_acsi_expectations", "acsi", "To what extent has it met your expectations?", 1, 10, True,
     "relationship", "email", "customer_success"),
    ("srv_acsi_ideal", "acsi", "How close is it to the ideal product and service for you?", 1, 10, True,
     "relationship", "email", "customer_success"),
)
SURVEY_BY_ID = {s[0]: s for s in SURVEYS}
# surveys.index_item of the acsi surveys (the others leave it empty); their order is the questions'
ACSI_ITEMS = {"srv_acsi_satisfaction": "satisfaction", "srv_acsi_expectations": "expectations",
              "srv_acsi_ideal": "ideal"}
# item score = 1 + 9 * clip(latent sentiment + shift): answers follow the account's health; the
# ideal is further away than plain satisfaction
ACSI_SHIFT = {"srv_acsi_satisfaction": 0.1, "srv_acsi_expectations": 0.0, "srv_acsi_ideal": -0.1}
ACSI_SHARE = 0.35  # share of an account's contacts invited to each quarterly ACSI wave
ACSI_P_RESPONSE = 0.3
ACSI_P_ITEM_SKIPPED = 0.06  # a respondent leaves one question unanswered (no index for them)
UNKNOWN_SURVEY_IDS = ("srv_pulse_legacy", "srv_nps_2019", "srv_test_do_not_use")

MILESTONES_ONBOARDING = (("kickoff", 7), ("technical_setup", 21), ("data_migration", 35), ("first_value", 45),
                         ("team_training", 60), ("go_live", 75))
TICKET_CATEGORIES = (("how_to", 0.28), ("bug", 0.2), ("integration", 0.14), ("billing", 0.1),
                     ("account_access", 0.1), ("performance", 0.1), ("feature_request", 0.08))
CALL_QUEUES = (("support", 0.6), ("technical", 0.25), ("billing", 0.15))
TASK_OUTCOMES_DONE = ("called the customer, issue acknowledged", "sent apology and workaround",
                      "credit issued", "scheduled a review call", "escalated to product, customer informed",
                      "no reply from customer, closed", 'customer said "all good now"')
