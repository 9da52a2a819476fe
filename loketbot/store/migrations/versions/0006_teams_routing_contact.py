"""Teams, officers' areas and themes, the coordinator role, initiatives and answer times.

New tables: teams (with an optional Telegram group), initiatives (a chat's profile and its fixed
contact). New columns: officers (team, areas, themes, public name and role, phone), handoffs
(team, theme, why it was routed there, the group of its card, deadline and reminder marks,
whether the answer helped). Two check constraints widen: the coordinator role and the new
history events (passed on, reminded, escalated, late notice, helped, still unclear).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = "'created', 'claimed', 'answered', 'closed', 'reopened', 'followup'"
_NEW_KINDS = _OLD_KINDS + ", 'passed', 'reminded', 'escalate', 'late', 'helped', 'unclear'"


def upgrade() -> None:
    """Create the tables and columns; widen the two check constraints."""
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=True),
        sa.Column("areas", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("themes", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    with op.batch_alter_table("officers") as batch:
        batch.drop_constraint(op.f("ck_officers_role"), type_="check")
        batch.alter_column("role", type_=sa.String(length=11), existing_nullable=False)
        batch.create_check_constraint("role", "role IN ('officer', 'editor', 'coordinator')")
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("areas", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("themes", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("public_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("public_role", sa.String(), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(), nullable=True))
        batch.create_foreign_key(op.f("fk_officers_team_id_teams"), "teams", ["team_id"], ["id"])
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("legal_form", sa.String(), nullable=True),
        sa.Column("area", sa.String(), nullable=True),
        sa.Column("themes", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("contact_officer_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_initiatives_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_officer_id"],
            ["officers.id"],
            name=op.f("fk_initiatives_contact_officer_id_officers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_initiatives_conversation_id")),
    )
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("theme", sa.String(), nullable=True))
        batch.add_column(sa.Column("route_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("route_chat", sa.String(), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("helped", sa.Boolean(), nullable=True))
        batch.create_foreign_key(op.f("fk_handoffs_team_id_teams"), "teams", ["team_id"], ["id"])
    with op.batch_alter_table("handoff_events") as batch:
        batch.drop_constraint(op.f("ck_handoff_events_kind"), type_="check")
        batch.create_check_constraint("kind", f"kind IN ({_NEW_KINDS})")


def downgrade() -> None:
    """Drop what upgrade added; the constraints narrow again (rows using new values must go)."""
    op.execute(
        "DELETE FROM handoff_events WHERE kind IN "
        "('passed', 'reminded', 'escalate', 'late', 'helped', 'unclear')"
    )
    with op.batch_alter_table("handoff_events") as batch:
        batch.drop_constraint(op.f("ck_handoff_events_kind"), type_="check")
        batch.create_check_constraint("kind", f"kind IN ({_OLD_KINDS})")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_constraint(op.f("fk_handoffs_team_id_teams"), type_="foreignkey")
        for column in (
            "helped",
            "escalated_at",
            "reminded_at",
            "remind_at",
            "due_at",
            "route_chat",
            "route_reason",
            "theme",
            "team_id",
        ):
            batch.drop_column(column)
    op.drop_table("initiatives")
    op.execute("UPDATE officers SET role = 'officer' WHERE role = 'coordinator'")
    with op.batch_alter_table("officers") as batch:
        batch.drop_constraint(op.f("fk_officers_team_id_teams"), type_="foreignkey")
        for column in ("phone", "public_role", "public_name", "themes", "areas", "team_id"):
            batch.drop_column(column)
        batch.drop_constraint(op.f("ck_officers_role"), type_="check")
        batch.alter_column("role", type_=sa.String(length=7), existing_nullable=False)
        batch.create_check_constraint("role", "role IN ('officer', 'editor')")
    op.drop_table("teams")
