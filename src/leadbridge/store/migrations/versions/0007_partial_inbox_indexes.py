"""The inbox's claim indexes hold pending items only, and the journal loses its second index
by lead: on a first sync of 100,000 people each of them cost a random index insert per item
or entry, and every page touched that way was written again at every commit.

- ix_inbox_claim and ix_inbox_order index pending items only (a finished item leaves them);
- ix_inbox_parked finds a held lead's items set aside, once a person releases it;
- ix_journal_lead goes: uq_journal_cause starts with lead_id and answers the same look-ups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.drop_index("ix_inbox_claim", table_name="inbox")
    op.drop_index("ix_inbox_order", table_name="inbox")
    pending = _where("status = 'pending'")
    op.create_index("ix_inbox_claim", "inbox", ["lead_key", "modified_at", "id"], **pending)
    op.create_index("ix_inbox_order", "inbox", ["modified_at", "id"], **pending)
    op.create_index(
        "ix_inbox_parked", "inbox", ["lead_key", "system", "object"], **_where("status = 'parked'")
    )
    op.drop_index("ix_journal_lead", table_name="journal")


def downgrade() -> None:
    op.create_index("ix_journal_lead", "journal", ["lead_id", "at"])
    op.drop_index("ix_inbox_parked", table_name="inbox")
    op.drop_index("ix_inbox_order", table_name="inbox")
    op.drop_index("ix_inbox_claim", table_name="inbox")
    op.create_index("ix_inbox_order", "inbox", ["status", "modified_at", "id"])
    op.create_index("ix_inbox_claim", "inbox", ["status", "lead_key", "modified_at", "id"])
