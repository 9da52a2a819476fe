"""Outbox, officers, ticket events, processed updates; officers' cards, area and topic on handoffs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    """Timestamp column type; values are always UTC."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the new tables and add the new handoff columns."""
    # Batch mode: on SQLite a plain ALTER where it can, a table rebuild where it cannot.
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("card_chat_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("card_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("area", sa.String(), nullable=True))
        batch.add_column(sa.Column("topic", sa.String(), nullable=True))
        batch.add_column(sa.Column("updated_at", _utc(), nullable=True))
        batch.create_index(
            "ix_handoffs_card_chat_id_card_message_id", ["card_chat_id", "card_message_id"]
        )
    op.create_table(
        "handoff_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'claimed', 'answered', 'closed', 'reopened', 'followup')",
            name=op.f("ck_handoff_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name=op.f("fk_handoff_events_handoff_id_handoffs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_events")),
    )
    op.create_index("ix_handoff_events_handoff_id_id", "handoff_events", ["handoff_id", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=11), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=7), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("lease_until", _utc(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("ticket", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('message', 'edit_markup', 'edit_text')", name=op.f("ck_outbox_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["ticket"], ["handoffs.id"], name=op.f("fk_outbox_ticket_handoffs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_index("ix_outbox_channel_chat_id_id", "outbox", ["channel", "chat_id", "id"])
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=7), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("role IN ('officer', 'editor')", name=op.f("ck_officers_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officers")),
        sa.UniqueConstraint("name", name=op.f("uq_officers_name")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_officers_telegram_id")),
    )
    op.create_table(
        "processed_updates",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name=op.f("pk_processed_updates")),
    )


def downgrade() -> None:
    """Drop the new tables and handoff columns."""
    op.drop_table("processed_updates")
    op.drop_table("officers")
    op.drop_index("ix_outbox_channel_chat_id_id", table_name="outbox")
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_handoff_events_handoff_id_id", table_name="handoff_events")
    op.drop_table("handoff_events")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_index("ix_handoffs_card_chat_id_card_message_id")
        batch.drop_column("updated_at")
        batch.drop_column("topic")
        batch.drop_column("area")
        batch.drop_column("card_message_id")
        batch.drop_column("card_chat_id")
