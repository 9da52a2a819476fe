"""An index on handoffs by conversation: every turn reads its chat's latest handoff.

Without it that read scans the handoffs table, and grows with every ticket ever opened.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index."""
    op.create_index("ix_handoffs_conversation_id_id", "handoffs", ["conversation_id", "id"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_handoffs_conversation_id_id", table_name="handoffs")
