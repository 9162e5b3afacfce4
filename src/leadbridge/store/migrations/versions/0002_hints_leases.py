"""Pushed hints (webhooks, Outbound Messages) and leases for several replicas.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = sa.String(32)
SYSTEM = sa.String(16)
OBJECT = sa.String(64)
RECORD = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "hints",
        sa.Column("system", SYSTEM, primary_key=True),
        sa.Column("object", OBJECT, primary_key=True),
        sa.Column("record_id", RECORD, primary_key=True),
        sa.Column("received_at", STAMP, nullable=False),
    )
    op.create_index("ix_hints_received", "hints", ["received_at"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("acquired_at", STAMP, nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_hints_received", table_name="hints")
    op.drop_table("hints")
