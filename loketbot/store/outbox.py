"""The outbox: messages written with the change that caused them, then leased and sent in order.

Each chat's rows go out one at a time in id order: only a chat's oldest undelivered row is
leased, so a second message waits until the first is sent or given up.
"""

from __future__ import annotations

__all__ = [
    "ERROR_CHARS",
    "OutboxBuffer",
    "lease_due",
    "mark_dead",
    "mark_retry",
    "mark_sent",
    "outbox_rows",
]

import copy
import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Insert, and_, bindparam, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loketbot.errors import StoreError
from loketbot.store.engine import insert_ignoring_conflict
from loketbot.store.models import OUTBOX_KINDS, OUTBOX_STATUSES, Handoff, Outbox, table_of, utcnow
from loketbot.store.records import OutboxRecord, outbox_record

log = logging.getLogger(__name__)

# Errors are stored for the console, cut to this length (they must not carry message text).
ERROR_CHARS = 200
_UNDELIVERED = ("pending", "sending")
_OUTBOX = table_of(Outbox)
_HANDOFFS = table_of(Handoff)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at", type_=_OUTBOX.c.sent_at.type),
        lease_until=None,
        error=None,
        result=bindparam("row_result", type_=_OUTBOX.c.result.type),
    )
)


@functools.cache
def _insert_new(dialect: str) -> Insert:
    """INSERT of outbox rows that skips a key already in the table."""
    return insert_ignoring_conflict(dialect, _OUTBOX, ["key"])


class OutboxBuffer:
    """Outbox rows of one transaction, inserted just before it commits; a reused key is skipped."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def add(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str,
        channel: str,
        chat_id: str,
        ticket: int | None,
    ) -> None:
        """Keep a row to insert; the first row with a given key wins."""
        if kind not in OUTBOX_KINDS:
            raise ValueError(f"kind must be one of {OUTBOX_KINDS}, not {kind!r}")
        if not key:
            raise ValueError("an outbox row needs a non-empty key")
        if key not in self._rows:
            self._rows[key] = {
                "channel": channel,
                "chat_id": chat_id,
                "kind": kind,
                "payload": copy.deepcopy(payload),
                "key": key,
                "ticket": ticket,
            }

    def write(self, session: Session | Connection) -> None:
        """Insert the rows in the order they were added; keys already in the table are skipped."""
        if not self._rows:
            return
        now = utcnow()
        rows = [
            {**values, "status": "pending", "attempts": 0, "not_before": now, "created_at": now}
            for values in self._rows.values()
        ]
        connection = session.connection() if isinstance(session, Session) else session
        connection.execute(_insert_new(connection.dialect.name), rows)
        self._rows.clear()


def lease_due(
    connection: Connection,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int,
    channel: str | None,
    chat_id: str | None,
    reclaim: bool = False,
) -> list[OutboxRecord]:
    """Lease each chat's oldest undelivered row if it is due; rows being leased are skipped
    unless `reclaim` (the caller knows their lessee is gone)."""
    _check_aware(now, "now")
    if lease_seconds <= 0 or limit < 1:
        raise ValueError("lease_seconds must be positive and limit at least 1")
    older = _OUTBOX.alias("older")
    waits = (
        select(older.c.id)
        .where(
            older.c.channel == _OUTBOX.c.channel,
            older.c.chat_id == _OUTBOX.c.chat_id,
            older.c.id < _OUTBOX.c.id,
            older.c.status.in_(_UNDELIVERED),
        )
        .exists()
    )
    status = _OUTBOX.c.status
    due = or_(
        and_(status == "pending", _OUTBOX.c.not_before <= now),
        and_(status == "sending", or_(_OUTBOX.c.lease_until <= now, literal(reclaim))),
    )
    query = select(_OUTBOX).where(due, ~waits)
    if channel is not None:
        query = query.where(_OUTBOX.c.channel == channel)
    if chat_id is not None:
        query = query.where(_OUTBOX.c.chat_id == chat_id)
    # PostgreSQL: rows another caller is leasing are skipped, and a row that caller has leased
    # meanwhile fails the re-checked condition. SQLite: the whole transaction is exclusive.
    query = query.order_by(_OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True, of=_OUTBOX)
    rows = connection.execute(query).all()
    if rows:
        until = now + timedelta(seconds=lease_seconds)
        connection.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_([row.id for row in rows]))
            .values(status="sending", lease_until=until)
        )
    return [outbox_record(row, status="sending") for row in rows]


def mark_sent(
    connection: Connection, results: Mapping[int, dict[str, Any]], *, now: datetime
) -> None:
    """Mark the rows sent, each with its result; a ticket's card message becomes its card."""
    _check_aware(now, "now")
    if not results:
        return
    connection.execute(
        _MARK_SENT,
        [
            {"row_id": row_id, "sent_at": now, "row_result": copy.deepcopy(result)}
            for row_id, result in results.items()
        ],
    )
    cards = connection.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.chat_id, _OUTBOX.c.ticket, _OUTBOX.c.payload).where(
            _OUTBOX.c.id.in_(list(results)),
            _OUTBOX.c.ticket.is_not(None),
            _OUTBOX.c.kind == "message",
        )
    ).all()
    for row in cards:
        if not row.payload.get("card"):
            continue
        message_id = results[row.id].get("message_id")
        if not isinstance(message_id, int):
            log.warning("outbox row %s: card for ticket %s has no message_id", row.id, row.ticket)
            continue
        connection.execute(
            update(_HANDOFFS)
            .where(_HANDOFFS.c.id == row.ticket)
            .values(card_chat_id=row.chat_id, card_message_id=message_id)
        )


async def mark_retry(
    session: AsyncSession, row_id: int, error: str, *, not_before: datetime
) -> None:
    """Put the row back as pending from `not_before`, one attempt more; a sent row stays sent."""
    _check_aware(not_before, "not_before")
    row = await _locked(session, row_id)
    if row.status == "sent":
        log.info("outbox row %s was sent meanwhile; not retrying it", row_id)
        return
    row.status, row.not_before, row.lease_until = "pending", not_before, None
    row.attempts, row.error = row.attempts + 1, error[:ERROR_CHARS]


async def mark_dead(session: AsyncSession, row_id: int, error: str, *, now: datetime) -> None:
    """Give up on the row, one attempt more; the chat's next row becomes deliverable."""
    _check_aware(now, "now")
    row = await _locked(session, row_id)
    if row.status == "sent":
        log.info("outbox row %s was sent meanwhile; not giving it up", row_id)
        return
    row.status, row.lease_until = "dead", None
    row.attempts, row.error = row.attempts + 1, error[:ERROR_CHARS]


async def outbox_rows(
    session: AsyncSession, *, channel: str | None, chat_id: str | None, status: str | None
) -> list[OutboxRecord]:
    """Outbox rows by id, optionally only of one channel, chat or status."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise ValueError(f"status must be one of {OUTBOX_STATUSES}, not {status!r}")
    query = select(Outbox).order_by(Outbox.id)
    if channel is not None:
        query = query.where(Outbox.channel == channel)
    if chat_id is not None:
        query = query.where(Outbox.chat_id == chat_id)
    if status is not None:
        query = query.where(Outbox.status == status)
    return [outbox_record(row) for row in (await session.scalars(query)).all()]


async def _locked(session: AsyncSession, row_id: int) -> Outbox:
    """The outbox row, locked for this transaction; StoreError when there is none."""
    row = await session.get(Outbox, row_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise StoreError(f"no outbox row {row_id}")
    return row


def _check_aware(when: datetime, name: str) -> None:
    """Refuse naive datetimes before they reach SQL (where the error would be vaguer)."""
    if when.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {when!r}")
