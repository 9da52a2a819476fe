"""Answer times kept: reminders before the deadline, escalation and an honest word after it.

The state lives in the database, not in timers: every ticket has `remind_at` and `due_at`
(set when it is created, from the Promise), and `reminded_at` / `escalated_at` once done.
`Deadlines.run_once` finds the tickets that are due, locks each one, checks again, marks it
and writes the messages as outbox rows with fixed keys, all in one transaction. So after a
crash nothing is lost (the marks were not written either) and with several instances each
message is written once (the row lock, the marks and the outbox's unique keys).
"""

from __future__ import annotations

__all__ = ["Deadlines"]

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select

from loketbot.conversation.face import tell
from loketbot.errors import StoreError
from loketbot.service.answertime import Promise, local_text
from loketbot.service.tickets import CARD_CHANNEL
from loketbot.store.models import Handoff, Officer
from loketbot.store.privacy import ANONYMOUS
from loketbot.store.store import Store

log = logging.getLogger(__name__)
CHECK_EVERY = 30.0  # seconds between looks at the deadlines


class Deadlines:
    """Reminds assignees, escalates overdue tickets to coordinators and tells initiators."""

    def __init__(
        self,
        store: Store,
        promise: Promise,
        *,
        officers_chat: str | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.promise = promise
        self.officers_chat = officers_chat
        self.clock = clock
        self.on_commit = on_commit

    async def run(self, every: float = CHECK_EVERY) -> None:
        """Look every `every` seconds until cancelled; database trouble waits for the next look."""
        while True:
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("deadlines not checked: %s", exc)
            await asyncio.sleep(every)

    async def run_once(self) -> int:
        """Handle every ticket whose reminder or deadline has come; returns how many changed."""
        now = self.clock()
        query = (
            select(Handoff.id)
            .where(
                Handoff.status.in_(("open", "claimed")),
                or_(
                    and_(Handoff.reminded_at.is_(None), Handoff.remind_at <= now),
                    and_(Handoff.escalated_at.is_(None), Handoff.due_at <= now),
                ),
            )
            .order_by(Handoff.id)
            .limit(200)
        )
        async with self.store.reading("read ticket deadlines from") as session:
            numbers = list((await session.scalars(query)).all())
            found = await session.execute(
                select(Officer.id, Officer.telegram_id).where(Officer.role == "coordinator")
            )
            coordinators = [(int(i), t) for i, t in found.all()]
            people = {
                name: telegram_id
                for name, telegram_id in (
                    await session.execute(select(Officer.name, Officer.telegram_id))
                ).all()
            }
        changed = 0
        for number in numbers:
            changed += await self._one(number, now, coordinators, people)
        if changed:
            self.on_commit()
        return changed

    async def _one(
        self,
        number: int,
        now: datetime,
        coordinators: list[tuple[int, int | None]],
        people: dict[str, int | None],
    ) -> int:
        async with self.store.ticket(number) as tx:
            record = tx.record  # read again under the row lock: another instance may be done
            if record.status not in ("open", "claimed"):
                return 0
            group = record.card_chat_id or record.route_chat or self.officers_chat
            due = record.due_at
            if due is None:
                return 0
            if due <= now and record.escalated_at is None:
                new_due = self.promise.due(now)
                left = f"{record.ticket} is over tijd (was uiterlijk {local_text(due)})"
                tx.mark(
                    "escalate",
                    text=f"over tijd; nieuwe verwachting {local_text(new_due)}",
                    escalated_at=now,
                    reminded_at=record.reminded_at or now,
                    due_at=new_due,
                )
                text = f"⚠️ Ticket {left}. Naar de coördinator."
                if group:
                    tx.add_outbox(
                        "message",
                        {"text": text, "buttons": [], "reply_to_ticket": record.ticket},
                        key=f"escalate:{record.ticket}:group",
                        channel=CARD_CHANNEL,
                        chat_id=group,
                    )
                for officer_id, telegram_id in coordinators:
                    if telegram_id is not None:
                        tx.add_outbox(
                            "message",
                            {"text": text + f"\nBij: {record.assigned_officer or 'niemand'}."},
                            key=f"escalate:{record.ticket}:{officer_id}",
                            channel=CARD_CHANNEL,
                            chat_id=str(telegram_id),
                        )
                if record.channel != ANONYMOUS.channel:
                    when = local_text(new_due, record.lang)
                    tx.add_outbox(
                        "message",
                        {"text": tell("late", record.lang, ticket=record.ticket, when=when)},
                        key=f"late:{record.ticket}",
                        channel=record.channel,
                        chat_id=record.external_id,
                    )
                    tx.mark("late", text=f"initiatiefnemer verteld: uiterlijk {when}")
                log.info("ticket %s escalated", record.ticket)
                return 1
            remind_at = record.remind_at
            if record.reminded_at is None and remind_at is not None and remind_at <= now:
                tx.mark("reminded", reminded_at=now)
                left = self.promise.left(now, due)
                text = (
                    f"⏰ Ticket {record.ticket} moet uiterlijk {local_text(due)} beantwoord zijn "
                    f"({left})."
                )
                assignee = record.assigned_officer
                telegram_id = people.get(assignee) if assignee else None
                if telegram_id is not None:
                    tx.add_outbox(
                        "message",
                        {"text": text},
                        key=f"remind:{record.ticket}:dm",
                        channel=CARD_CHANNEL,
                        chat_id=str(telegram_id),
                    )
                if group:
                    tx.add_outbox(
                        "message",
                        {"text": text, "buttons": [], "reply_to_ticket": record.ticket},
                        key=f"remind:{record.ticket}:group",
                        channel=CARD_CHANNEL,
                        chat_id=group,
                    )
                log.info("ticket %s reminded", record.ticket)
                return 1
        return 0
