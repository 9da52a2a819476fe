"""Deleting what people wrote: one chat on request (/vergeet), everything old (`loketbot purge`).

Tickets are not deleted: their status, times, area, topic and officer keep the queue, the
history and the figures right. Their texts (question, context, answer, follow-ups, the texts of
their outbox rows) become a marker, and they move to one anonymous chat (ANONYMOUS), so nothing
links them to the person any more and an officer's answer can no longer reach anyone.
"""

from __future__ import annotations

__all__ = [
    "ANONYMOUS",
    "EXPIRED",
    "FORGOTTEN",
    "PurgeCounts",
    "anonymise_tickets",
    "forget_chat",
    "purge_older",
]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Delete, Update, delete, exists, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from loketbot.store.guards import ConsoleSession, RateHit
from loketbot.store.models import (
    Conversation,
    Feedback,
    Handoff,
    HandoffEvent,
    Initiative,
    Message,
    Outbox,
    ProcessedUpdate,
    Suggestion,
    User,
    utcnow,
)
from loketbot.store.records import ChatKey, HandoffRecord, handoff_record, insert_ignoring

# The chat anonymised tickets belong to; no channel delivers to it.
ANONYMOUS = ChatKey("anoniem", "-")
FORGOTTEN = "[verwijderd op verzoek]"
EXPIRED = "[verwijderd na de bewaartermijn]"
_BATCH = 500  # ids per IN (...): far below SQLite's limit on parameters


@dataclass(frozen=True)
class PurgeCounts:
    """What one purge deleted (or, in a dry run, would delete)."""

    messages: int = 0
    feedback: int = 0
    outbox: int = 0
    updates: int = 0
    tickets: int = 0
    conversations: int = 0
    chats: int = 0

    def __str__(self) -> str:
        return (
            f"{self.messages} messages, {self.feedback} feedback, {self.outbox} outbox rows, "
            f"{self.updates} processed updates deleted; {self.tickets} tickets anonymised; "
            f"{self.conversations} conversation states reset; {self.chats} inactive chats removed"
        )


def forget_chat(session: Session, conversation_id: int, key: ChatKey) -> list[HandoffRecord]:
    """Delete the chat's messages and feedback and its undelivered outbox rows, blank the texts
    of the rows already sent, and anonymise its tickets (returned as they now read)."""
    session.flush()  # this turn's own messages go too
    tickets = anonymise_tickets(session, [Handoff.conversation_id == conversation_id], FORGOTTEN)
    session.execute(delete(Message).where(Message.conversation_id == conversation_id))
    session.execute(delete(Feedback).where(Feedback.conversation_id == conversation_id))
    # The initiative's profile and fixed contact go too (migration 0006).
    session.execute(delete(Initiative).where(Initiative.conversation_id == conversation_id))
    _blank_outbox(
        session, [Outbox.channel == key.channel, Outbox.chat_id == key.external_id], FORGOTTEN
    )
    return tickets


def anonymise_tickets(
    session: Session, where: Sequence[ColumnElement[bool]], marker: str
) -> list[HandoffRecord]:
    """Replace the texts of the tickets matching `where` by `marker` and move them to ANONYMOUS;
    their suggestions are deleted. Returns the changed tickets; already anonymous ones are skipped.
    """
    anonymous = _anonymous_conversation(session)
    query = (
        select(Handoff)
        .where(*where, Handoff.conversation_id != anonymous)
        .order_by(Handoff.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    handoffs = list((session.scalars(query)).all())
    for handoff in handoffs:
        handoff.question = marker
        handoff.context = _anonymous_context(handoff.context, marker)
        if handoff.answer is not None:
            handoff.answer = marker
        handoff.conversation_id = anonymous
    for start in range(0, len(handoffs), _BATCH):
        ids = [h.id for h in handoffs[start : start + _BATCH]]
        session.execute(
            update(HandoffEvent)
            .where(HandoffEvent.handoff_id.in_(ids), HandoffEvent.text.is_not(None))
            .values(text=marker)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(Suggestion).where(Suggestion.ticket.in_(ids)))
        # A card not sent yet still goes out (blanked), so that the edit that follows finds it.
        _blank_outbox(session, [Outbox.ticket.in_(ids)], marker, keep_cards=True)
    session.flush()
    return [handoff_record(h, ANONYMOUS.channel, ANONYMOUS.external_id) for h in handoffs]


def purge_older(session: Session, cutoff: datetime) -> tuple[PurgeCounts, list[HandoffRecord]]:
    """Delete what is older than `cutoff`: messages, feedback, delivered or given-up outbox rows,
    processed updates; anonymise tickets done (answered or closed) before it; reset conversation
    states untouched since, and remove chats with nothing left. The caller commits."""
    if cutoff.tzinfo is None:
        raise ValueError(f"cutoff must be a timezone-aware datetime, not {cutoff!r}")
    done_at = func.coalesce(Handoff.closed_at, Handoff.answered_at)
    tickets = anonymise_tickets(
        session,
        [
            Handoff.status.in_(("answered", "closed")),
            done_at < cutoff,
            func.coalesce(Handoff.updated_at, Handoff.created_at) < cutoff,
        ],
        EXPIRED,
    )
    anonymous = _anonymous_conversation(session)
    old_chat = (Conversation.updated_at < cutoff, Conversation.id != anonymous)
    messages = _count(session, delete(Message).where(Message.created_at < cutoff))
    feedback = _count(session, delete(Feedback).where(Feedback.created_at < cutoff))
    outbox = _count(
        session,
        delete(Outbox).where(Outbox.status.in_(("sent", "dead")), Outbox.created_at < cutoff),
    )
    updates = _count(session, delete(ProcessedUpdate).where(ProcessedUpdate.created_at < cutoff))
    conversations = _count(
        session,
        update(Conversation)
        .where(*old_chat, Conversation.state.is_not(None))
        .values(state=None, version=Conversation.version + 1)
        .execution_options(synchronize_session=False),
    )
    # A profile (and fixed contact) untouched for the retention period goes with the chat.
    session.execute(
        delete(Initiative).where(
            Initiative.updated_at < cutoff,
            Initiative.conversation_id.in_(select(Conversation.id).where(*old_chat)),
        )
    )
    chats = _remove_empty_chats(session, old_chat, cutoff)
    # Login attempts (names, client addresses) and flood counts matter for minutes; they are
    # pruned as new ones come in, and here whatever a quiet day left. Ended logins go too.
    day_ago = utcnow() - timedelta(days=1)
    session.execute(delete(RateHit).where(RateHit.at < max(cutoff, day_ago)))
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utcnow()))
    counts = PurgeCounts(messages, feedback, outbox, updates, len(tickets), conversations, chats)
    return counts, tickets


def _remove_empty_chats(
    session: Session, old_chat: tuple[ColumnElement[bool], ...], cutoff: datetime
) -> int:
    """Delete conversations untouched since `cutoff` with nothing left, then their users."""
    empty = (
        ~exists().where(Message.conversation_id == Conversation.id),
        ~exists().where(Feedback.conversation_id == Conversation.id),
        ~exists().where(Handoff.conversation_id == Conversation.id),
    )
    removed = _count(session, delete(Conversation).where(*old_chat, *empty))
    session.execute(
        delete(User).where(
            ~exists().where(Conversation.user_id == User.id),
            User.created_at < cutoff,
            ~((User.channel == ANONYMOUS.channel) & (User.external_id == ANONYMOUS.external_id)),
        )
    )
    return removed


def _blank_outbox(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    marker: str,
    *,
    keep_cards: bool = False,
) -> None:
    """Delete the matching rows not sent yet (but a ticket's card when `keep_cards`); replace the
    text of the others by `marker`. Rows a sender holds are waited for (PostgreSQL)."""
    query = (
        select(Outbox)
        .where(*where)
        .order_by(Outbox.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    doomed: list[int] = []
    for row in (session.scalars(query)).all():
        if row.status == "pending" and not (keep_cards and row.payload.get("card")):
            doomed.append(row.id)
        elif "text" in row.payload:
            row.payload = {**row.payload, "text": marker}
    session.flush()
    for start in range(0, len(doomed), _BATCH):
        ids = doomed[start : start + _BATCH]
        session.execute(delete(Outbox).where(Outbox.id.in_(ids)))


def _anonymous_context(context: dict[str, Any] | None, marker: str) -> dict[str, Any]:
    """The context without anything the person wrote: the candidate topics stay."""
    candidates = (context or {}).get("candidates") or []
    return {"extra": marker, "recent": [], "candidates": candidates}


def _anonymous_conversation(session: Session) -> int:
    """The id of ANONYMOUS's conversation, created on first use."""
    now = utcnow()
    user = {"channel": ANONYMOUS.channel, "external_id": ANONYMOUS.external_id, "created_at": now}
    insert_ignoring(session, User, ["channel", "external_id"], user)
    user_id = (
        session.scalars(
            select(User.id).where(
                User.channel == ANONYMOUS.channel, User.external_id == ANONYMOUS.external_id
            )
        )
    ).one()
    insert_ignoring(
        session, Conversation, ["user_id"], {"user_id": user_id, "version": 0, "updated_at": now}
    )
    return (session.scalars(select(Conversation.id).where(Conversation.user_id == user_id))).one()


def _count(session: Session, statement: Delete | Update) -> int:
    """Run a DELETE or UPDATE and return how many rows it touched."""
    result = session.execute(statement)
    return cast("CursorResult[Any]", result).rowcount
