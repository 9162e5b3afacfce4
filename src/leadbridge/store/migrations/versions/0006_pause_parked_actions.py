"""The pause switch every replica honours, the log of what people did about parked records
(retry, ignore), and each replica's last word about itself (`leadbridge status`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "switches",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_table(
        "parked_actions",
        sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("writes", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_index("ix_parked_actions_record", "parked_actions", ["system", "object", "record_id"])
    op.create_index("ix_parked_actions_at", "parked_actions", ["at"])
    op.create_table(
        "replicas",
        sa.Column("holder", sa.String(128), primary_key=True),
        sa.Column("seen_at", sa.String(32), nullable=False),
        sa.Column("status", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replicas")
    op.drop_index("ix_parked_actions_at", table_name="parked_actions")
    op.drop_index("ix_parked_actions_record", table_name="parked_actions")
    op.drop_table("parked_actions")
    op.drop_table("switches")
