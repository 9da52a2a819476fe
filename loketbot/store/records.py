"""The frozen records the store hands out, and the queries and converters shared by its parts."""

from __future__ import annotations

__all__ = [
    "ChatKey",
    "HandoffRecord",
    "MessageRecord",
    "OfficerRecord",
    "OutboxRecord",
    "TicketEvent",
    "handoff_query",
    "handoff_record",
    "insert_ignoring",
    "officer_record",
    "outbox_record",
]

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from loketbot.store.engine import insert_ignoring_conflict
from loketbot.store.models import Base, Conversation, Handoff, Officer, Outbox, User, table_of


@dataclass(frozen=True)
class ChatKey:
    """Identifies one chat: the channel and the user's id on it."""

    channel: str  # "telegram" | "terminal" | "memory" ...
    external_id: str  # chat/user id as string


@dataclass(frozen=True)
class HandoffRecord:
    """A handoff as officers see it, with the chat it came from."""

    ticket: int
    channel: str
    external_id: str
    status: str
    lang: str
    question: str
    context: dict[str, Any]
    assigned_officer: str | None
    answer: str | None
    created_at: datetime
    claimed_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    card_chat_id: str | None
    card_message_id: int | None
    area: str | None
    topic: str | None
    updated_at: datetime | None
    team_id: int | None = None
    theme: str | None = None
    route_reason: str | None = None
    route_chat: str | None = None
    due_at: datetime | None = None
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    helped: bool | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One message of a transcript."""

    direction: str
    text: str
    intent: str | None
    score: float | None
    action: str | None
    created_at: datetime


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox row: a message to send or edit in one chat."""

    id: int
    channel: str
    chat_id: str
    kind: str
    payload: dict[str, Any]
    key: str
    status: str
    attempts: int
    ticket: int | None
    created_at: datetime
    result: dict[str, Any] | None


@dataclass(frozen=True)
class OfficerRecord:
    """A liaison officer or editor."""

    id: int
    name: str
    role: str
    telegram_id: int | None
    password_hash: str | None
    team_id: int | None = None
    areas: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    public_name: str | None = None
    public_role: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class TicketEvent:
    """One step in a ticket's history; `actor` is the officer, None for the citizen."""

    kind: str
    actor: str | None
    text: str | None
    created_at: datetime


def handoff_query() -> Any:
    """Handoffs joined with the chat they came from."""
    return (
        select(Handoff, User.channel, User.external_id)
        .join(Conversation, Handoff.conversation_id == Conversation.id)
        .join(User, Conversation.user_id == User.id)
    )


def handoff_record(h: Handoff | Row[Any], channel: str, external_id: str) -> HandoffRecord:
    """A frozen record of a handoff: an ORM object or a Core row of the handoffs table."""
    return HandoffRecord(
        ticket=h.id,
        channel=channel,
        external_id=external_id,
        status=h.status,
        lang=h.lang,
        question=h.question,
        context=h.context,
        assigned_officer=h.assigned_officer,
        answer=h.answer,
        created_at=h.created_at,
        claimed_at=h.claimed_at,
        answered_at=h.answered_at,
        closed_at=h.closed_at,
        card_chat_id=h.card_chat_id,
        card_message_id=h.card_message_id,
        area=h.area,
        topic=h.topic,
        updated_at=h.updated_at,
        team_id=h.team_id,
        theme=h.theme,
        route_reason=h.route_reason,
        route_chat=h.route_chat,
        due_at=h.due_at,
        remind_at=h.remind_at,
        reminded_at=h.reminded_at,
        escalated_at=h.escalated_at,
        helped=h.helped,
    )


def outbox_record(row: Outbox | Row[Any], *, status: str | None = None) -> OutboxRecord:
    """A frozen record of an outbox row (ORM object or Core row), optionally with `status`."""
    return OutboxRecord(
        id=row.id,
        channel=row.channel,
        chat_id=row.chat_id,
        kind=row.kind,
        payload=row.payload,
        key=row.key,
        status=row.status if status is None else status,
        attempts=row.attempts,
        ticket=row.ticket,
        created_at=row.created_at,
        result=row.result,
    )


def officer_record(row: Officer) -> OfficerRecord:
    """A frozen record of an officer row."""
    return OfficerRecord(
        row.id,
        row.name,
        row.role,
        row.telegram_id,
        row.password_hash,
        team_id=row.team_id,
        areas=tuple(row.areas or ()),
        themes=tuple(row.themes or ()),
        public_name=row.public_name,
        public_role=row.public_role,
        phone=row.phone,
    )


def insert_ignoring(
    session: Session, model: type[Base], columns: list[str], values: dict[str, Any]
) -> bool:
    """INSERT ... ON CONFLICT (columns) DO NOTHING; True when the row was inserted."""
    dialect = session.get_bind().dialect.name
    statement = insert_ignoring_conflict(dialect, table_of(model), columns).values(**values)
    return session.connection().execute(statement).rowcount == 1
