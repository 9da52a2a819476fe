"""Deliver what the outbox holds: retries, order per chat, nothing dropped or sent twice.

Rows are written in the same transaction as the state change that caused them. The store
leases only the oldest undelivered row of each chat, so a chat's messages go out in order
while different chats go out side by side. A channel's `Deliver` function turns a row into
API calls and maps its errors onto DeliveryRetry (try again later) or DeliveryFailed (give up
on this row). The window in which a message can be sent twice is between the API's success
and its "sent" mark committing: only the rows delivered at that moment, on a crash then.
Marks are written one transaction at a time, each with every row delivered meanwhile, so a
busy outbox costs one transaction per batch rather than per message.
"""

from __future__ import annotations

__all__ = ["Deliver", "DeliveryFailed", "DeliveryRetry", "Sender"]

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from loketbot.errors import LoketbotError, StoreError
from loketbot.store.store import OutboxRecord, Store

log = logging.getLogger(__name__)

Deliver = Callable[[OutboxRecord, dict[str, Any]], Awaitable[dict[str, Any]]]
Clock = Callable[[], datetime]
MAX_BACKOFF = 60.0
MAX_UNEXPECTED = 5  # attempts for a row whose delivery raises something unforeseen
# Deliveries under way at once (each to another chat), and how long they may take to end
# when the sender stops.
MAX_SENDING = 64
STOP_SECONDS = 5.0


class DeliveryRetry(LoketbotError):
    """The channel could not deliver now; try again after `after` seconds."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class DeliveryFailed(LoketbotError):
    """The channel will never deliver this row (blocked by the user, malformed)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Sender:
    """Runs the outbox for the channels it has a Deliver function for."""

    def __init__(
        self,
        store: Store,
        deliverers: Mapping[str, Deliver],
        *,
        clock: Clock = _now,
        poll_seconds: float = 1.0,
        lease_seconds: float = 15.0,
    ) -> None:
        """`poll_seconds` bounds how long a row written by another process waits; a lease
        covers one delivery attempt (PTB's own time-outs are shorter), so a crashed sender's
        rows are picked up again after `lease_seconds`."""
        self.store = store
        self.deliverers = deliverers
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self._wake = asyncio.Event()
        self._unrecorded: dict[int, dict[str, Any]] = {}
        self._recording = asyncio.Lock()

    def wake(self) -> None:
        """New rows are committed: deliver without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled. A row is leased as soon as it is due, while earlier ones are
        still being sent; a delivery that ends wakes the loop for its chat's next row."""
        sending: set[asyncio.Task[None]] = set()

        def ended(task: asyncio.Task[None]) -> None:
            sending.discard(task)
            if not task.cancelled() and task.exception() is not None:
                # Its row stays leased and is tried again when the lease runs out.
                log.error("outbox delivery failed", exc_info=task.exception())
            self.wake()

        try:
            while True:
                self._wake.clear()
                room = MAX_SENDING - len(sending)
                rows: list[OutboxRecord] = []
                try:
                    for channel in self.deliverers if room > 0 else ():
                        rows += await self._lease(channel, room - len(rows))
                except StoreError as exc:  # the database is away: keep trying, do not die
                    log.warning("outbox: %s; retrying", exc)
                for row in rows:
                    task = asyncio.create_task(self._deliver(row))
                    sending.add(task)
                    task.add_done_callback(ended)
                if rows:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            # Stopping: let deliveries under way end (a message cut off now might be sent
            # again after a restart), but not for long.
            if sending:
                await asyncio.wait(sending, timeout=STOP_SECONDS)
            for task in sending:
                task.cancel()

    async def _lease(self, channel: str, limit: int) -> list[OutboxRecord]:
        if limit < 1:
            return []
        return await self.store.due_outbox(
            now=self.clock(), lease_seconds=self.lease_seconds, channel=channel, limit=limit
        )

    async def run_once(
        self, *, channel: str | None = None, chat_id: str | None = None, reclaim: bool = False
    ) -> int:
        """Deliver every row due now (optionally for one chat); returns how many were handled.

        `reclaim` re-delivers rows a crashed sender had leased: only for a chat that has one
        sender (a terminal), at its start, never while another delivery may be running.
        """
        channels = [channel] if channel else list(self.deliverers)
        handled = 0
        for name in channels:
            rows = await self.store.due_outbox(
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                channel=name,
                chat_id=chat_id,
                reclaim=reclaim,
            )
            # One row per chat at most: chats go side by side, each chat stays in order.
            await asyncio.gather(*(self._deliver(row) for row in rows))
            handled += len(rows)
        return handled

    async def _deliver(self, row: OutboxRecord) -> None:
        deliver = self.deliverers.get(row.channel)
        if deliver is None:
            return
        try:
            payload = await self._resolve(row)
            result = await deliver(row, payload)
        except DeliveryRetry as exc:
            delay = exc.after if exc.after is not None else min(MAX_BACKOFF, 2.0**row.attempts)
            log.info("outbox %s: retry in %.1fs (%s)", row.id, delay, exc)
            await self.store.outbox_retry(
                row.id, str(exc)[:200], not_before=self.clock() + timedelta(seconds=delay)
            )
            return
        except DeliveryFailed as exc:
            log.warning("outbox %s to %s:%s given up: %s", row.id, row.channel, row.chat_id, exc)
            await self.store.outbox_dead(row.id, str(exc)[:200], now=self.clock())
            return
        except StoreError:
            raise  # the database is away: the row stays leased and is tried again
        except Exception as exc:
            # A row the channel cannot even try (a malformed chat id or payload) would fail the
            # same way every lease, forever: retried a few times, then given up and recorded.
            error = f"unexpected {type(exc).__name__}"
            log.debug("outbox %s: %s", row.id, error, exc_info=True)
            if row.attempts + 1 >= MAX_UNEXPECTED:
                log.warning(
                    "outbox %s given up after %d attempts: %s", row.id, row.attempts + 1, error
                )
                await self.store.outbox_dead(row.id, error, now=self.clock())
            else:
                delay = min(MAX_BACKOFF, 2.0**row.attempts)
                log.warning("outbox %s: %s; retry in %.0fs", row.id, error, delay)
                await self.store.outbox_retry(
                    row.id, error, not_before=self.clock() + timedelta(seconds=delay)
                )
            return
        await self._record_sent(row, result)

    async def _record_sent(self, row: OutboxRecord, result: dict[str, Any]) -> None:
        """Mark a delivered row sent, waiting out a database outage: giving up would send it
        again after the lease, a duplicate the user would see. Rows delivered while a mark is
        being written are written together by whoever gets the lock next."""
        self._unrecorded[row.id] = result
        pause = 0.25
        while row.id in self._unrecorded:
            async with self._recording:
                batch = dict(self._unrecorded)
                if row.id not in batch:
                    return  # an earlier holder wrote it with its batch
                try:
                    await self.store.outbox_sent_many(batch, now=self.clock())
                except StoreError as exc:
                    log.warning(
                        "%d outbox row(s) delivered but not yet recorded: %s", len(batch), exc
                    )
                else:
                    for row_id in batch:
                        self._unrecorded.pop(row_id, None)
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def _resolve(self, row: OutboxRecord) -> dict[str, Any]:
        """Fill in the ticket card's message id, known only once the card was sent."""
        payload = dict(row.payload)
        ticket = payload.pop("reply_to_ticket", None) or payload.pop("edit_ticket_card", None)
        if ticket is None:
            return payload
        record = await self.store.handoff(int(ticket))
        card = record.card_message_id if record is not None else None
        if "text" in payload and row.kind == "message":
            payload["reply_to_message_id"] = card
        else:
            payload["message_id"] = card
        return payload
