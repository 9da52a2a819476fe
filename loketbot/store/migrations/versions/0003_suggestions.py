"""Suggestions: officers' answers marked useful for others, for editors to turn into knowledge.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the suggestions table."""
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=9), server_default="new", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'used', 'dismissed')", name=op.f("ck_suggestions_status")
        ),
        sa.ForeignKeyConstraint(
            ["ticket"], ["handoffs.id"], name=op.f("fk_suggestions_ticket_handoffs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
    )
    op.create_index("ix_suggestions_status_id", "suggestions", ["status", "id"])


def downgrade() -> None:
    """Drop the suggestions table."""
    op.drop_index("ix_suggestions_status_id", table_name="suggestions")
    op.drop_table("suggestions")
