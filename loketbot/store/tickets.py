"""Tickets (handoffs) as officers handle them, with their event history, and the officers."""

from __future__ import annotations

__all__ = [
    "TicketTx",
    "add_followup",
    "add_officer",
    "card_ticket",
    "lock_ticket",
    "new_handoff",
    "officers",
    "ticket_events",
]

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loketbot.errors import StoreError
from loketbot.store.models import (
    HANDOFF_STATUSES,
    OFFICER_ROLES,
    TICKET_EVENTS,
    Handoff,
    HandoffEvent,
    Officer,
    utcnow,
)
from loketbot.store.outbox import OutboxBuffer
from loketbot.store.records import (
    HandoffRecord,
    OfficerRecord,
    TicketEvent,
    handoff_query,
    handoff_record,
    officer_record,
)

_T = TypeVar("_T")

# The event each status change writes.
_EVENT_OF_STATUS = {
    "claimed": "claimed",
    "answered": "answered",
    "closed": "closed",
    "open": "reopened",
}


class TicketTx:
    """One officer action on one ticket, its row locked; everything is committed together."""

    def __init__(self, session: AsyncSession, handoff: Handoff, record: HandoffRecord) -> None:
        self._session = session
        self._handoff = handoff
        self._outbox = OutboxBuffer()
        self.record = record  # as locked at the start

    def set_status(
        self, status: str, *, officer: str | None = None, answer: str | None = None
    ) -> None:
        """Set the status (and officer, answer) with its time, and write the matching event."""
        _set_status(self._session, self._handoff, status, officer=officer, answer=answer)

    def add_outbox(
        self, kind: str, payload: dict[str, Any], *, key: str, channel: str, chat_id: str
    ) -> None:
        """Queue a message about this ticket, written at commit; a key already used is skipped."""
        self._outbox.add(
            kind, payload, key=key, channel=channel, chat_id=chat_id, ticket=self.record.ticket
        )

    @property
    def conversation_id(self) -> int:
        """The conversation the ticket came from."""
        return self._handoff.conversation_id

    async def run_sync(self, work: Callable[[Session], _T]) -> _T:
        """Run a store module's sync function on this transaction's ORM session."""
        return await self._session.run_sync(work)

    def mark(
        self,
        kind: str | None = None,
        *,
        actor: str | None = None,
        text: str | None = None,
        **columns: Any,
    ) -> None:
        """Set columns of the ticket (team_id, due_at, reminded_at, ...) and, with `kind`, add
        that event to its history."""
        now = utcnow()
        for name, value in columns.items():
            if not hasattr(Handoff, name):
                raise ValueError(f"handoffs has no column {name!r}")
            setattr(self._handoff, name, value)
        self._handoff.updated_at = now
        if kind is not None:
            if kind not in TICKET_EVENTS:
                raise ValueError(f"event must be one of {TICKET_EVENTS}, not {kind!r}")
            self._session.add(
                HandoffEvent(
                    handoff_id=self._handoff.id, kind=kind, actor=actor, text=text, created_at=now
                )
            )

    async def _finish(self) -> None:
        """Write what is still queued; the caller commits."""
        await self._session.run_sync(self._outbox.write)


def new_handoff(
    session: Session,
    conversation_id: int,
    *,
    question: str,
    lang: str,
    context: dict[str, Any],
    area: str | None,
    topic: str | None,
) -> int:
    """Insert an open handoff with its 'created' event and return the ticket number."""
    now = utcnow()
    handoff = Handoff(
        conversation_id=conversation_id,
        status="open",
        lang=lang,
        question=question,
        context=copy.deepcopy(context),
        area=area,
        topic=topic,
        created_at=now,
        updated_at=now,
    )
    session.add(handoff)
    session.flush()  # the database hands out the ticket number
    session.add(HandoffEvent(handoff_id=handoff.id, kind="created", text=question, created_at=now))
    return handoff.id


async def lock_ticket(session: AsyncSession, ticket: int) -> TicketTx:
    """Lock the handoff row for this transaction; StoreError when there is no such ticket."""
    found = await session.run_sync(_locked_handoff, Handoff.id == ticket)
    if found is None:
        raise StoreError(f"no ticket {ticket}")
    handoff, record = found
    return TicketTx(session, handoff, record)


def add_followup(
    session: Session, conversation_id: int, ticket: int, text: str, *, reopen: bool
) -> HandoffRecord:
    """Add the citizen's follow-up to their ticket, reopening it if asked and not open."""
    found = _locked_handoff(
        session, Handoff.id == ticket, Handoff.conversation_id == conversation_id
    )
    if found is None:
        raise StoreError(f"no ticket {ticket} in this chat")
    handoff, record = found
    now = utcnow()
    session.add(HandoffEvent(handoff_id=ticket, kind="followup", text=text, created_at=now))
    handoff.updated_at = now
    if reopen and handoff.status != "open":
        _set_status(session, handoff, "open")
    return handoff_record(handoff, record.channel, record.external_id)


async def ticket_events(session: AsyncSession, ticket: int) -> list[TicketEvent]:
    """The ticket's history, oldest first; empty for an unknown ticket."""
    query = select(HandoffEvent).where(HandoffEvent.handoff_id == ticket).order_by(HandoffEvent.id)
    return [
        TicketEvent(e.kind, e.actor, e.text, e.created_at)
        for e in (await session.scalars(query)).all()
    ]


async def card_ticket(session: AsyncSession, chat_id: str, message_id: int) -> int | None:
    """The ticket whose officers' card is this message, or None."""
    query = (
        select(Handoff.id)
        .where(Handoff.card_chat_id == chat_id, Handoff.card_message_id == message_id)
        .order_by(Handoff.id.desc())
    )
    return (await session.scalars(query)).first()


async def add_officer(
    session: AsyncSession,
    name: str,
    *,
    role: str,
    telegram_id: int | None,
    password_hash: str | None,
) -> OfficerRecord:
    """Insert an officer; StoreError when the name or Telegram id is taken."""
    if role not in OFFICER_ROLES:
        raise ValueError(f"role must be one of {OFFICER_ROLES}, not {role!r}")
    if not name.strip():
        raise ValueError("an officer needs a name")
    if await officers(session, Officer.name == name):
        raise StoreError(f"an officer named {name!r} already exists")
    taken = (
        [] if telegram_id is None else await officers(session, Officer.telegram_id == telegram_id)
    )
    if taken:
        raise StoreError(f"telegram id {telegram_id} belongs to {taken[0].name}")
    officer = Officer(
        name=name,
        role=role,
        telegram_id=telegram_id,
        password_hash=password_hash,
        created_at=utcnow(),
    )
    session.add(officer)
    await session.flush()
    return officer_record(officer)


async def officers(session: AsyncSession, *where: ColumnElement[bool]) -> list[OfficerRecord]:
    """Officers by name, all or those matching `where`."""
    query = select(Officer).where(*where).order_by(Officer.name)
    return [officer_record(o) for o in (await session.scalars(query)).all()]


def _locked_handoff(
    session: Session, *where: ColumnElement[bool]
) -> tuple[Handoff, HandoffRecord] | None:
    """The handoff row (locked on PostgreSQL; SQLite's transaction is exclusive) and its record."""
    query = (
        handoff_query()
        .where(*where)
        .with_for_update(of=Handoff)
        .execution_options(populate_existing=True)
    )
    row = session.execute(query).first()
    if row is None:
        return None
    handoff, channel, external_id = row
    return handoff, handoff_record(handoff, channel, external_id)


def _set_status(
    session: Session | AsyncSession,
    handoff: Handoff,
    status: str,
    *,
    officer: str | None = None,
    answer: str | None = None,
) -> None:
    """Change the status, stamp its time and updated_at, and add the matching event."""
    if status not in HANDOFF_STATUSES:
        raise ValueError(f"status must be one of {HANDOFF_STATUSES}, not {status!r}")
    now = utcnow()
    handoff.status, handoff.updated_at = status, now
    if officer is not None:
        handoff.assigned_officer = officer
    if answer is not None:
        handoff.answer = answer
    if status == "claimed":
        handoff.claimed_at = now
    elif status == "answered":
        handoff.answered_at = now
    elif status == "closed":
        handoff.closed_at = now
    else:  # open again
        handoff.closed_at = None
    event = HandoffEvent(
        handoff_id=handoff.id,
        kind=_EVENT_OF_STATUS[status],
        actor=officer,
        text=answer,
        created_at=now,
    )
    session.add(event)
