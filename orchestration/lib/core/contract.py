"""The extract contract (docs/contract.md, "Extracts in") as data.

Everything that reads, validates, generates or stages extracts takes its entity list,
column names, types, keys and enumerations from here, so the contract is written once.
Types are DuckDB SQL types; the raw Parquet layer stores exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SNAPSHOT = "snapshot"
DELTA = "delta"

# Logical type -> DuckDB type used in raw Parquet.
ID = "VARCHAR"
TEXT = "VARCHAR"
TS = "TIMESTAMP"  # UTC, no offset: offsets in the extract are converted on ingest
DATE = "DATE"
DOUBLE = "DOUBLE"
INT = "INTEGER"
BOOL = "BOOLEAN"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False  # a row with this column empty is quarantined
    allowed: tuple[str, ...] | None = None  # lower-case enumeration, checked on ingest
    optional: bool = False  # the contract's "optional" columns: a file may leave the column out (all empty)


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    kind: str
    columns: tuple[Column, ...]
    key: str = field(default="")

    @property
    def asset_name(self) -> str:
        return f"{self.source}__{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self.column_names


def _e(source: str, name: str, kind: str, *cols: Column) -> Entity:
    key = cols[0].name  # the contract lists the key first in every entity
    return Entity(source, name, kind, tuple(cols), key)


def C(name: str, type_: str = TEXT, required: bool = False, allowed=None, optional: bool = False) -> Column:  # noqa: N802
    return Column(name, type_, required, tuple(allowed) if allowed else None, optional)


TIERS = ("enterprise", "mid_market", "smb")
TEAMS = ("customer_success", "support", "product", "executive")
SURVEY_METRICS = ("csat", "nps", "ces", "acsi")
# the three questions of an `acsi` satisfaction index (surveys.index_item)
ACSI_ITEMS = ("satisfaction", "expectations", "ideal")
# an `acsi` item's declared scale (docs/contract.md: each on 1-10 with 10 best)
ACSI_SCALE = (1, 10)

ENTITIES: tuple[Entity, ...] = (
    # crm
    _e("crm", "accounts", SNAPSHOT,
       C("account_id", ID, True), C("account_name"), C("industry"), C("tier", TEXT, False, TIERS),
       C("region"), C("plan"), C("csm_owner_id", ID), C("created_at", TS)),
    _e("crm", "owners", SNAPSHOT,
       C("owner_id", ID, True), C("owner_name"), C("email"), C("team", TEXT, False, TEAMS)),
    _e("crm", "contacts", SNAPSHOT,
       C("contact_id", ID, True), C("account_id", ID, True), C("email"), C("full_name"),
       C("role", TEXT, False, ("champion", "executive_sponsor", "admin", "user")), C("created_at", TS)),
    _e("crm", "subscriptions", SNAPSHOT,
       C("subscription_id", ID, True), C("account_id", ID, True), C("product"),
       C("start_date", DATE, True), C("end_date", DATE), C("mrr", DOUBLE, True), C("currency", TEXT, True),
       C("seats", INT), C("status", TEXT, False, ("active", "cancelled", "expired"))),
    _e("crm", "milestones", SNAPSHOT,
       C("milestone_id", ID, True), C("account_id", ID, True), C("milestone_name"), C("sequence", INT),
       C("planned_date", DATE), C("completed_date", DATE), C("owner_id", ID)),
    _e("crm", "activities", DELTA,
       C("activity_id", ID, True), C("account_id", ID, True),
       C("activity_type", TEXT, True, ("qbr", "exec_checkin", "call", "meeting", "email")),
       C("occurred_at", TS, True), C("owner_id", ID), C("contact_id", ID)),
    _e("crm", "tasks", DELTA,
       C("task_id", ID, True), C("account_id", ID), C("owner_id", ID), C("created_at", TS, True),
       C("completed_at", TS),
       C("related_type", TEXT, False, ("survey_response", "ticket", "alert", "review")),
       C("related_id", ID), C("outcome")),
    # survey
    _e("survey", "surveys", SNAPSHOT,
       C("survey_id", ID, True), C("metric", TEXT, True, SURVEY_METRICS), C("question"),
       C("scale_min", INT, True), C("scale_max", INT, True), C("higher_is_better", BOOL),
       C("trigger", TEXT, False, ("ticket_solved", "onboarding_milestone", "relationship",
                                  "feature_adoption", "release")),
       C("channel", TEXT, False, ("email", "in_app")), C("owner_team", TEXT, False, TEAMS),
       C("index_item", TEXT, False, ACSI_ITEMS, optional=True)),
    _e("survey", "invitations", DELTA,
       C("invitation_id", ID, True), C("survey_id", ID, True), C("account_id", ID), C("contact_id", ID),
       C("sent_at", TS, True), C("trigger_ref_type"), C("trigger_ref_id", ID)),
    _e("survey", "responses", DELTA,
       C("response_id", ID, True), C("invitation_id", ID), C("survey_id", ID, True), C("account_id", ID),
       C("contact_id", ID), C("score", DOUBLE, True), C("comment"), C("responded_at", TS, True)),
    # product
    _e("product", "events", DELTA,
       C("event_id", ID, True), C("account_id", ID, True), C("user_id", ID), C("event_name", TEXT, True),
       C("occurred_at", TS, True), C("properties")),
    _e("product", "features", SNAPSHOT,
       C("feature_key", ID, True), C("event_name", TEXT, True), C("feature_name"), C("is_core", BOOL)),
    # helpdesk
    _e("helpdesk", "tickets", DELTA,
       C("ticket_id", ID, True), C("account_id", ID), C("requester_contact_id", ID),
       C("channel", TEXT, False, ("email", "chat", "phone", "web")), C("category"),
       C("priority", TEXT, False, ("low", "normal", "high", "urgent")),
       C("status", TEXT, False, ("new", "open", "pending", "solved", "closed")),
       C("created_at", TS, True), C("first_response_at", TS), C("solved_at", TS), C("updated_at", TS),
       C("assignee_id", ID), C("reopen_count", INT), C("escalated", BOOL)),
    _e("helpdesk", "ticket_comments", DELTA,
       C("comment_id", ID, True), C("ticket_id", ID, True),
       C("author_type", TEXT, False, ("agent", "customer", "system")), C("created_at", TS, True),
       C("is_public", BOOL)),
    _e("helpdesk", "calls", DELTA,
       C("call_id", ID, True), C("account_id", ID), C("queue"), C("offered_at", TS, True),
       C("answered_at", TS), C("ended_at", TS), C("abandoned", BOOL)),
    # reviews
    _e("reviews", "reviews", DELTA,
       C("review_id", ID, True), C("platform", TEXT, False, ("g2", "capterra", "trustpilot", "google")),
       C("rating", DOUBLE, True), C("rating_scale_max", DOUBLE, True), C("title"), C("body"),
       C("reviewed_at", TS, True), C("account_id", ID)),
)

BY_NAME: dict[tuple[str, str], Entity] = {(e.source, e.name): e for e in ENTITIES}
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(e.source for e in ENTITIES))

# Columns added by ingestion to every raw row (lineage; never in the landing files).
LINEAGE_COLUMNS = {
    "_extract_date": DATE,  # the partition the row arrived in
    "_source_file": TEXT,  # landing file path, relative to the landing zone
    "_row_number": "BIGINT",  # 1-based record number in that file
}


def entity(source: str, name: str) -> Entity:
    return BY_NAME[(source, name)]
