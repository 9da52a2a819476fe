"""SQLAlchemy table models of the store; the schema itself is created by loketbot/migrations."""

from __future__ import annotations

__all__ = [
    "DIRECTIONS",
    "HANDOFF_STATUSES",
    "OFFICER_ROLES",
    "OUTBOX_KINDS",
    "OUTBOX_STATUSES",
    "SUGGESTION_STATUSES",
    "TICKET_EVENTS",
    "Base",
    "Conversation",
    "Feedback",
    "Handoff",
    "HandoffEvent",
    "Initiative",
    "Message",
    "Officer",
    "Outbox",
    "ProcessedUpdate",
    "Suggestion",
    "Team",
    "UTCDateTime",
    "User",
    "table_of",
    "utcnow",
]

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DIRECTIONS = ("in", "out")
HANDOFF_STATUSES = ("open", "claimed", "answered", "closed")
TICKET_EVENTS = (
    "created",
    "claimed",
    "answered",
    "closed",
    "reopened",
    "followup",
    # migration 0006: routing, passing on, answer times, "did it help?"
    "passed",
    "reminded",
    "escalate",
    "late",
    "helped",
    "unclear",
)
OUTBOX_KINDS = ("message", "edit_markup", "edit_text")
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")
OFFICER_ROLES = ("officer", "editor", "coordinator")
SUGGESTION_STATUSES = ("new", "used", "dismissed")

# Fixed constraint names keep future Alembic migrations (and SQLite batch mode) deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements on the hot paths (typed as the Table it is)."""
    return cast("Table", model.__table__)


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database; SQLite stores no zone, so it is added back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class User(Base):
    """Someone who wrote to the bot on one channel."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String)
    external_id: Mapped[str] = mapped_column(String)
    display_name: Mapped[str | None] = mapped_column(String)
    lang: Mapped[str] = mapped_column(String(2), default="nl", server_default="nl")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """The dialogue state of one user; `version` grows by one with every saved state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # none_as_null: a new conversation has SQL NULL, not the JSON value null.
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message received from or sent to the user."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String)
    score: Mapped[float | None] = mapped_column(Float)
    action: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """A question handed to a liaison officer; the id is the ticket number people see."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'claimed', 'answered', 'closed')", name="status"),
        Index("ix_handoffs_status", "status"),
        Index("ix_handoffs_conversation_id_id", "conversation_id", "id"),
        Index("ix_handoffs_card_chat_id_card_message_id", "card_chat_id", "card_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[str] = mapped_column(String(8), default="open")
    lang: Mapped[str] = mapped_column(String(2))
    question: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    assigned_officer: Mapped[str | None] = mapped_column(String)
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The officers' card (a message in their group) that shows this ticket, once it is sent.
    card_chat_id: Mapped[str | None] = mapped_column(String)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    area: Mapped[str | None] = mapped_column(String)
    topic: Mapped[str | None] = mapped_column(String)
    updated_at: Mapped[datetime | None]
    # Migration 0006: where the ticket was routed, why, and by when it should be answered.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    theme: Mapped[str | None] = mapped_column(String)
    route_reason: Mapped[str | None] = mapped_column(Text)
    route_chat: Mapped[str | None] = mapped_column(String)  # the group its card goes to
    due_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    helped: Mapped[bool | None]


class HandoffEvent(Base):
    """One step in a ticket's history: created, claimed, answered, closed, reopened, followup."""

    __tablename__ = "handoff_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('created', 'claimed', 'answered', 'closed', 'reopened', 'followup', "
            "'passed', 'reminded', 'escalate', 'late', 'helped', 'unclear')",
            name="kind",
        ),
        Index("ix_handoff_events_handoff_id_id", "handoff_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"))
    kind: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str | None] = mapped_column(String)  # the officer; None for the citizen
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """Whether an answer (a knowledge entry) helped."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    entry_id: Mapped[str] = mapped_column(String)
    helpful: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """A message to send or edit, written with the turn that caused it and delivered in id order."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('message', 'edit_markup', 'edit_text')", name="kind"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'dead')", name="status"),
        Index("ix_outbox_status_not_before", "status", "not_before"),
        Index("ix_outbox_channel_chat_id_id", "channel", "chat_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String)
    chat_id: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String(11))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    key: Mapped[str] = mapped_column(String, unique=True)  # idempotency key
    status: Mapped[str] = mapped_column(String(7), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String)  # short, never the message text
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    ticket: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Officer(Base):
    """A liaison officer or editor, known by name and optionally by Telegram id."""

    __tablename__ = "officers"
    __table_args__ = (CheckConstraint("role IN ('officer', 'editor', 'coordinator')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String(11))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Migration 0006: what the officer covers and how initiators see them.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    areas: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    themes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    public_name: Mapped[str | None] = mapped_column(String)
    public_role: Mapped[str | None] = mapped_column(String)
    phone: Mapped[str | None] = mapped_column(String)  # only when the officer enters it


class Team(Base):
    """A team of officers for some areas and themes, optionally with its own Telegram group."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    chat_id: Mapped[str | None] = mapped_column(String)
    areas: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    themes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Initiative(Base):
    """What the bot knows of the initiative behind one chat: its profile and fixed contact."""

    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    name: Mapped[str | None] = mapped_column(String)
    legal_form: Mapped[str | None] = mapped_column(String)
    area: Mapped[str | None] = mapped_column(String)
    themes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    stage: Mapped[str | None] = mapped_column(String)
    contact_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """An inbound update already handled, so a redelivered one changes nothing."""

    __tablename__ = "processed_updates"
    __table_args__ = (PrimaryKeyConstraint("channel", "update_id"),)

    channel: Mapped[str] = mapped_column(String)
    update_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suggestion(Base):
    """An officer's answer marked useful for others: a knowledge suggestion for editors."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'used', 'dismissed')", name="status"),
        Index("ix_suggestions_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[int] = mapped_column(ForeignKey("handoffs.id"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(9), default="new", server_default="new")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
