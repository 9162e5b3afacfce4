"""The first schema: cursors, inbox, links, leads, snapshots, journal, write log, parked.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported from tables.py, so this migration
# keeps meaning what it meant when it first ran.
# JSON, not JSONB: JSONB stores numbers as numeric, so the float 1e16 would come
# back as an int; JSON keeps the text we wrote and with it every value's type.
JSON = sa.JSON()
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.String(32)
SYSTEM = sa.String(16)
OBJECT = sa.String(64)
RECORD = sa.String(64)
LEAD = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("system", SYSTEM, primary_key=True),
        sa.Column("object", OBJECT, primary_key=True),
        sa.Column("cursor", JSON, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("system", SYSTEM, nullable=False),
        sa.Column("object", OBJECT, nullable=False),
        sa.Column("record_id", RECORD, nullable=False),
        sa.Column("modified_at", STAMP, nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("merged_into", RECORD, nullable=True),
        sa.Column("lead_key", sa.String(160), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("enqueued_at", STAMP, nullable=False),
        sa.Column("done_at", STAMP, nullable=True),
        sa.UniqueConstraint(
            "system", "object", "record_id", "modified_at", "kind", name="uq_inbox_item"
        ),
    )
    op.create_index("ix_inbox_claim", "inbox", ["status", "lead_key", "modified_at", "id"])
    op.create_table(
        "links",
        sa.Column("system", SYSTEM, primary_key=True),
        sa.Column("object", OBJECT, primary_key=True),
        sa.Column("record_id", RECORD, primary_key=True),
        sa.Column("lead_id", LEAD, primary_key=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_index("ix_links_lead", "links", ["lead_id"])
    op.create_index("ix_links_email", "links", ["email"])
    op.create_table(
        "leads",
        sa.Column("id", LEAD, primary_key=True),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("stage_entered_at", STAMP, nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("stamps", JSON, nullable=False),
        sa.Column("seen", JSON, nullable=False),
        sa.Column("deals", JSON, nullable=False),
        sa.Column("blocked", JSON, nullable=False),
        sa.Column("merged_into", LEAD, nullable=True),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_index("ix_leads_stage", "leads", ["stage", "stage_entered_at"])
    op.create_table(
        "snapshots",
        sa.Column("system", SYSTEM, primary_key=True),
        sa.Column("object", OBJECT, primary_key=True),
        sa.Column("record_id", RECORD, primary_key=True),
        sa.Column("values", JSON, nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("lead_id", LEAD, nullable=False),
        sa.Column("from_stage", sa.String(64), nullable=False),
        sa.Column("to_stage", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("cause_system", SYSTEM, nullable=False),
        sa.Column("cause_object", OBJECT, nullable=False),
        sa.Column("cause_id", RECORD, nullable=False),
        sa.Column("cause_modified_at", STAMP, nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("writes", JSON, nullable=False),
        sa.UniqueConstraint(
            "lead_id",
            "cause_system",
            "cause_object",
            "cause_id",
            "cause_modified_at",
            "rule",
            name="uq_journal_cause",
        ),
    )
    op.create_index("ix_journal_lead", "journal", ["lead_id", "at"])
    op.create_index("ix_journal_at", "journal", ["at"])
    op.create_table(
        "write_log",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("lead_id", LEAD, nullable=False),
        sa.Column("system", SYSTEM, nullable=False),
        sa.Column("object", OBJECT, nullable=False),
        sa.Column("record_id", RECORD, nullable=True),
        sa.Column("upsert_key", JSON, nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    )
    op.create_index("ix_write_log_status", "write_log", ["status", "created_at"])
    op.create_table(
        "parked",
        sa.Column("system", SYSTEM, primary_key=True),
        sa.Column("object", OBJECT, primary_key=True),
        sa.Column("record_id", RECORD, primary_key=True),
        sa.Column("lead_id", LEAD, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_seen", STAMP, nullable=False),
        sa.Column("last_seen", STAMP, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_retry_at", STAMP, nullable=True),
    )
    op.create_index("ix_parked_retry", "parked", ["next_retry_at"])


def downgrade() -> None:
    for table in (
        "parked",
        "write_log",
        "journal",
        "snapshots",
        "leads",
        "links",
        "inbox",
        "cursors",
    ):
        op.drop_table(table)
