"""Free text for comments, reviews and tickets: commas, quotes, newlines and, now and then,
personal data (an email address or a phone number) that staging must redact."""

from __future__ import annotations

import random

POSITIVE = (
    "Great product, the team loves the dashboards.",
    'Support was quick and "actually" helpful, thanks!',
    "Easy to use. Reports save us hours every week.",
    "Solid release, the new workflows are a big win.",
    "Onboarding was smooth, clear steps and good docs.",
)
NEUTRAL = (
    "It works, mostly. Some screens are slow.",
    "OK overall, but the export options are limited.",
    "Fine for now; we need better integrations, though.",
    "Decent, but pricing is hard to justify for small teams.",
)
NEGATIVE = (
    "Too slow, and the last update broke our reports.",
    'Support keeps saying "we are looking into it". Still broken.',
    "We struggle to get value from it, adoption is low.\nConsidering alternatives.",
    "Billing errors again, this is the third time.",
    "Hard to set up, the integration failed twice; no one called back.",
)
PROBLEMS = (
    "Dashboard does not load after login, we get a blank page.",
    'Error "403 forbidden" when syncing the CRM integration.',
    "How do I schedule a report for my team, weekly on Mondays?",
    "Invoice shows 120 seats but we only have 95, please check.",
    "Export to CSV cuts off after 10,000 rows.",
    "Users cannot reset their password; the email never arrives.",
    "Everything is very slow since this morning,\nplease advise.",
)
AGENT_REPLIES = (
    "Thanks for reaching out! I have checked your account, could you try again now?",
    'Hi, this is a known issue; the fix is "in progress". I will keep you posted.',
    "Hello,\nI've adjusted the settings on our side. Let me know if it works.\nBest regards",
    "Could you send a screenshot and the time it happened (with time zone)?",
    "The seats were corrected, a credit note will follow.",
)
PRIVATE_NOTES = ("Customer is frustrated, 2nd time this month.", "Checked logs: sync token expired.",
                 "Looping in tier 2, see internal thread.", "Possible churn risk, informed CSM.")
REVIEW_TITLES_POS = ("Best tool we've used", "Great value", "Powerful, easy to use", "Five stars from our team")
REVIEW_TITLES_NEU = ("Good, with caveats", "Does the job", "Solid but pricey")
REVIEW_TITLES_NEG = ("Disappointing", "Support, where are you?", "Not worth the price", "Buggy since update")


def pii(r: random.Random, first: str = "jane", last: str = "doe") -> str:
    if r.random() < 0.5:
        return f"{first.lower()}.{last.lower()}@example-mail.com".replace("'", "")
    return f"+1 415 555 {r.randrange(1000, 9999)}" if r.random() < 0.5 else f"+44 20 7946 {r.randrange(1000, 9999)}"


def with_pii(r: random.Random, text: str, p: float) -> str:
    if r.random() < p:
        return text + r.choice((" Call me at ", " Reach me on ", " My contact: ")) + pii(r) + "."
    return text


def sentiment_text(r: random.Random, score01: float, pii_p: float = 0.08) -> str:
    pool = POSITIVE if score01 >= 0.7 else NEUTRAL if score01 >= 0.45 else NEGATIVE
    return with_pii(r, r.choice(pool), pii_p)


def review_text(r: random.Random, score01: float) -> tuple[str, str]:
    titles = REVIEW_TITLES_POS if score01 >= 0.7 else REVIEW_TITLES_NEU if score01 >= 0.45 else REVIEW_TITLES_NEG
    body = sentiment_text(r, score01, 0.1)
    if r.random() < 0.3:
        body += "\n" + sentiment_text(r, score01, 0.0)
    return r.choice(titles), body
