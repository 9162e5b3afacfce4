"""Slack alerts recorded before they are sent, and each component's last known health.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON()
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.String(32)
LEAD = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("lead_id", LEAD, nullable=True),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("entered_at", STAMP, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("blocks", JSON, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try_at", STAMP, nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("sent_at", STAMP, nullable=True),
        sa.UniqueConstraint("key", name="uq_alerts_key"),
    )
    op.create_index("ix_alerts_due", "alerts", ["status", "next_try_at"])
    op.create_index("ix_alerts_entry", "alerts", ["lead_id", "stage", "entered_at"])
    op.create_table(
        "alert_health",
        sa.Column("component", sa.String(64), primary_key=True),
        sa.Column("healthy", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("since", STAMP, nullable=False),
        sa.Column("checked_at", STAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_health")
    op.drop_index("ix_alerts_entry", table_name="alerts")
    op.drop_index("ix_alerts_due", table_name="alerts")
    op.drop_table("alerts")
