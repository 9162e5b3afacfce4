"""The inbox's pending items in claim order, so a claim reads the first items it hands out
instead of sorting every pending item: its cost no longer grows with the inbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_order", "inbox", ["status", "modified_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_order", table_name="inbox")
