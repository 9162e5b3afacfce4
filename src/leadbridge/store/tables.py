"""The state store's tables, as SQLAlchemy Core metadata.

Datetimes are stored as UTC ISO strings with a fixed width (see codec.iso):
they compare as text in the same order as in time, on SQLite and PostgreSQL
alike, and the dedupe keys built from them do not depend on a driver's
timezone handling. Record ids are the remote systems' ids, never ours.
Migrations (migrations/versions) are written out by hand, not imported from
here, so an old migration never changes when this file does; a test checks
the two agree.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

# JSON, not JSONB: JSONB stores numbers as numeric, so the float 1e16 would come
# back as an int; JSON keeps the text we wrote and with it every value's type.
_JSON = sa.JSON()
# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STAMP = sa.String(32)  # "2026-01-01T00:00:00.000000+00:00"
_SYSTEM = sa.String(16)
_OBJECT = sa.String(64)
_RECORD = sa.String(64)
_LEAD = sa.String(64)


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, on both databases."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("system", _SYSTEM, primary_key=True),
    sa.Column("object", _OBJECT, primary_key=True),
    sa.Column("cursor", _JSON, nullable=False),
    sa.Column("updated_at", _STAMP, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),  # "change" | "removal"
    sa.Column("system", _SYSTEM, nullable=False),
    sa.Column("object", _OBJECT, nullable=False),
    sa.Column("record_id", _RECORD, nullable=False),
    sa.Column("modified_at", _STAMP, nullable=False),
    sa.Column("fields", _JSON, nullable=False),
    sa.Column("merged_into", _RECORD, nullable=True),
    # Items of one lead are processed in order; the key is the lead id when the
    # record was already linked at enqueue time, else the record itself.
    sa.Column("lead_key", sa.String(160), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # pending | done | parked
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("enqueued_at", _STAMP, nullable=False),
    sa.Column("done_at", _STAMP, nullable=True),
    sa.UniqueConstraint(
        "system", "object", "record_id", "modified_at", "kind", name="uq_inbox_item"
    ),
    # Partial (migration 0007): an item leaves these indexes when it is done, instead of
    # moving to a "done" part of them at a random place (its lead's key). Indexing every
    # item made a 100,000-person first sync write each of those index pages once a round.
    # A query's bound status is matched against the condition (SQLite and PostgreSQL plan
    # with the values bound: tests/store/test_partial_indexes.py checks the plans).
    sa.Index("ix_inbox_claim", "lead_key", "modified_at", "id", **_where("status = 'pending'")),
    # Claims walk pending items in this order and stop at their limit (migration 0004).
    sa.Index("ix_inbox_order", "modified_at", "id", **_where("status = 'pending'")),
    # A held lead's items set aside, found again when a person releases it.
    sa.Index("ix_inbox_parked", "lead_key", "system", "object", **_where("status = 'parked'")),
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("system", _SYSTEM, primary_key=True),
    sa.Column("object", _OBJECT, primary_key=True),
    sa.Column("record_id", _RECORD, primary_key=True),
    sa.Column("lead_id", _LEAD, primary_key=True),
    sa.Column("email", sa.String(320), nullable=True),  # lowercased
    sa.Column("role", sa.String(16), nullable=False),  # active | converted | merged
    sa.Column("updated_at", _STAMP, nullable=False),
    sa.Index("ix_links_lead", "lead_id"),
    sa.Index("ix_links_email", "email"),
)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", _LEAD, primary_key=True),
    sa.Column("stage", sa.String(64), nullable=False),
    sa.Column("stage_entered_at", _STAMP, nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("fields", _JSON, nullable=False),
    sa.Column("stamps", _JSON, nullable=False),
    sa.Column("seen", _JSON, nullable=False),
    sa.Column("deals", _JSON, nullable=False),
    sa.Column("blocked", _JSON, nullable=False),
    # Set when this lead was folded into another; lookups follow it.
    sa.Column("merged_into", _LEAD, nullable=True),
    sa.Column("updated_at", _STAMP, nullable=False),
    sa.Index("ix_leads_stage", "stage", "stage_entered_at"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("system", _SYSTEM, primary_key=True),
    sa.Column("object", _OBJECT, primary_key=True),
    sa.Column("record_id", _RECORD, primary_key=True),
    sa.Column("values", _JSON, nullable=False),
    sa.Column("origin", sa.String(8), nullable=False),  # read | write: who last set it
    sa.Column("updated_at", _STAMP, nullable=False),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("lead_id", _LEAD, nullable=False),
    sa.Column("from_stage", sa.String(64), nullable=False),
    sa.Column("to_stage", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("cause_system", _SYSTEM, nullable=False),
    sa.Column("cause_object", _OBJECT, nullable=False),
    sa.Column("cause_id", _RECORD, nullable=False),
    sa.Column("cause_modified_at", _STAMP, nullable=False),
    sa.Column("at", _STAMP, nullable=False),
    sa.Column("writes", _JSON, nullable=False),
    # Replaying a change must never journal its transition twice.
    sa.UniqueConstraint(
        "lead_id",
        "cause_system",
        "cause_object",
        "cause_id",
        "cause_modified_at",
        "rule",
        name="uq_journal_cause",
    ),
    # A lead's entries are found through uq_journal_cause, which starts with lead_id: a
    # second index by lead (dropped in migration 0007) cost a random insert per entry.
    sa.Index("ix_journal_at", "at"),
)

write_log = sa.Table(
    "write_log",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),  # idempotency key (sha256 hex)
    sa.Column("lead_id", _LEAD, nullable=False),
    sa.Column("system", _SYSTEM, nullable=False),
    sa.Column("object", _OBJECT, nullable=False),
    sa.Column("record_id", _RECORD, nullable=True),  # None until an upsert created it
    sa.Column("upsert_key", _JSON, nullable=True),
    sa.Column("steps", _JSON, nullable=False),  # enough to send it again after a crash
    # planned | sent | confirmed | refused (its values were refused: it waits for a person)
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", _STAMP, nullable=False),
    sa.Column("updated_at", _STAMP, nullable=False),
    sa.Index("ix_write_log_status", "status", "created_at"),
)

parked = sa.Table(
    "parked",
    metadata,
    sa.Column("system", _SYSTEM, primary_key=True),
    sa.Column("object", _OBJECT, primary_key=True),
    sa.Column("record_id", _RECORD, primary_key=True),
    sa.Column("lead_id", _LEAD, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", _STAMP, nullable=False),
    sa.Column("last_seen", _STAMP, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_retry_at", _STAMP, nullable=True),  # None: only a person can unpark it
    sa.Index("ix_parked_retry", "next_retry_at"),
)

# Records a system pushed (webhook, Outbound Message) that are still to be read by id;
# one row per record however often it was pushed, so a storm of pushes is one read.
hints = sa.Table(
    "hints",
    metadata,
    sa.Column("system", _SYSTEM, primary_key=True),
    sa.Column("object", _OBJECT, primary_key=True),
    sa.Column("record_id", _RECORD, primary_key=True),
    sa.Column("received_at", _STAMP, nullable=False),
    sa.Index("ix_hints_received", "received_at"),
)

# Work only one replica may do at a time (polling, the SLA sweep): whoever holds the
# unexpired row. A replica that dies stops renewing, and another takes over at expiry.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("acquired_at", _STAMP, nullable=False),
    sa.Column("expires_at", _STAMP, nullable=False),
)

# Slack alerts, each recorded before it is sent (status pending, key unique) and marked sent
# after: a restart or a second replica finds it recorded and never decides it again, and a
# send that failed waits for next_try_at. While one replica sends, next_try_at is its claim.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # lead | digest | health
    sa.Column("level", sa.String(16), nullable=False),  # overdue | escalation | down | up | ...
    sa.Column("route", sa.String(16), nullable=False),  # which webhook: alerts | escalation | ...
    sa.Column("lead_id", _LEAD, nullable=True),  # a lead alert's stage entry
    sa.Column("stage", sa.String(64), nullable=True),
    sa.Column("entered_at", _STAMP, nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("blocks", _JSON, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # pending | sent | failed | dropped
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_try_at", _STAMP, nullable=True),  # None once sent, failed or dropped
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", _STAMP, nullable=False),
    sa.Column("sent_at", _STAMP, nullable=True),
    sa.UniqueConstraint("key", name="uq_alerts_key"),
    sa.Index("ix_alerts_due", "status", "next_try_at"),
    sa.Index("ix_alerts_entry", "lead_id", "stage", "entered_at"),
)

# The last health each component reported, so a health alert fires when it changes only.
alert_health = sa.Table(
    "alert_health",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("healthy", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("since", _STAMP, nullable=False),  # when it entered this state
    sa.Column("checked_at", _STAMP, nullable=False),
)

# The funnel each sync ran with, one row per change of it: the rules' definitions by name,
# so a changed rule can be told from an unchanged one (sync.redeploy) and `leadbridge check
# --impact` can show what deploying new mappings would do before they ship.
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("rules", _JSON, nullable=False),  # rule name -> its definition, as text
    sa.Column("at", _STAMP, nullable=False),
)

# Switches a person flips for every replica at once (`leadbridge pause`): one row per switch
# that is on, read by each job at each tick, so no replica needs telling.
switches = sa.Table(
    "switches",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # "pause"
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("by", sa.String(128), nullable=False),
    sa.Column("at", _STAMP, nullable=False),
)

# What people did about parked records (`leadbridge parked retry | ignore`), kept for good:
# a record ignored is never dropped without a trace of who, when and why.
parked_actions = sa.Table(
    "parked_actions",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(8), nullable=False),  # retry | ignore
    sa.Column("system", _SYSTEM, nullable=False),
    sa.Column("object", _OBJECT, nullable=False),
    sa.Column("record_id", _RECORD, nullable=False),
    sa.Column("lead_id", _LEAD, nullable=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),  # why it was parked
    sa.Column("why", sa.Text, nullable=True),  # the person's words (ignore)
    sa.Column("by", sa.String(128), nullable=False),
    sa.Column("items", sa.Integer, nullable=False),  # inbox items put back or settled
    sa.Column("writes", sa.Integer, nullable=False),  # writes sent again or given up
    sa.Column("at", _STAMP, nullable=False),
    sa.Index("ix_parked_actions_record", "system", "object", "record_id"),
    sa.Index("ix_parked_actions_at", "at"),
)

# What each running daemon last said about itself (`leadbridge status` reads it): its last
# sync cycle, its API budget left and whether each CRM answers. A row per replica, rewritten
# every few seconds; a replica gone quiet is shown by the age of `seen_at`.
replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("holder", sa.String(128), primary_key=True),
    sa.Column("seen_at", _STAMP, nullable=False),
    sa.Column("status", _JSON, nullable=False),
)
