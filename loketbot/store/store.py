"""The async store: users, conversation state, messages, handoffs, feedback, outbox and officers.

Store is the one public class. Its parts: store_turn (Turn), store_outbox, store_tickets (tickets,
officers), store_records (the records it returns), store_engine (engine set-up, error texts) and
store_privacy (deleting and anonymising: /vergeet, `loketbot purge`).
"""

from __future__ import annotations

__all__ = [
    "ChatKey",
    "HandoffRecord",
    "MessageRecord",
    "OfficerRecord",
    "OutboxRecord",
    "Store",
    "TicketEvent",
    "TicketTx",
    "Turn",
]

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from loketbot.errors import StoreError
from loketbot.store.engine import DB_ERRORS as _DB_ERRORS
from loketbot.store.engine import IMMEDIATE as _IMMEDIATE
from loketbot.store.engine import FileWriter, create_engine, reason, shown_url, transient
from loketbot.store.models import (
    HANDOFF_STATUSES,
    Conversation,
    Handoff,
    Message,
    Officer,
    User,
)
from loketbot.store.organisation import TeamRecord, teams
from loketbot.store.outbox import lease_due, mark_dead, mark_retry, mark_sent, outbox_rows
from loketbot.store.records import (
    ChatKey,
    HandoffRecord,
    MessageRecord,
    OfficerRecord,
    OutboxRecord,
    TicketEvent,
    handoff_query,
    handoff_record,
)
from loketbot.store.tickets import (
    TicketTx,
    add_officer,
    card_ticket,
    lock_ticket,
    officers,
    ticket_events,
)
from loketbot.store.turn import Turn, open_turn

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MIGRATIONS = Path(__file__).with_name("migrations")
# How long writes fail at once after the database was found away or locked.
AWAY_SECONDS = 1.0
# Key of the PostgreSQL advisory lock that keeps two processes from migrating at once.
_MIGRATION_LOCK = 0x6C6F6B6574


class Store:
    """Conversations, messages, handoffs, feedback, outbox and officers in SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._url = engine.url.render_as_string(hide_password=True)
        self._sqlite = engine.dialect.name == "sqlite"
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        self._writes = async_sessionmaker(
            engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time anyway; queueing here instead of in SQLite's busy
        # handler leaves its timeout for other processes (and lets an in-memory database work).
        self._sqlite_writer = asyncio.Lock() if self._sqlite else None
        self._immediate = engine.execution_options(**{_IMMEDIATE: True})
        self._file_writer = FileWriter.open(engine)
        # After the database was away or locked, writes fail at once for a moment instead of
        # each waiting out its own timeout in turn; the next write after it tries for real.
        self._away_until = 0.0

    @property
    def shared(self) -> bool:
        """True when several instances may share this database (PostgreSQL, not SQLite): limits
        that must hold across instances are then counted in it."""
        return not self._sqlite

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to `url`, bring the schema up to date and return the store."""
        try:
            engine = create_engine(url)
        except (SQLAlchemyError, ValueError, ImportError, OSError) as exc:
            shown = shown_url(url)
            raise StoreError(f"cannot use database {shown}: {reason(exc, url)}") from exc
        store = cls(engine)
        try:
            await store._migrate()
        except _DB_ERRORS as exc:
            await engine.dispose()
            raise store._error("cannot open", exc) from exc
        except BaseException:
            await engine.dispose()
            raise
        log.info("store open at %s", store._url)
        return store

    async def close(self) -> None:
        """Close every connection."""
        if self._file_writer is not None:
            await self._file_writer.close()
        await self._engine.dispose()

    async def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query."""
        try:
            async with self._reads() as session:
                await session.execute(select(1))
        except _DB_ERRORS as exc:
            raise self._error("cannot reach", exc) from exc

    async def run_turn(self, key: ChatKey, body: Callable[[Turn], _T]) -> _T:
        """Run `body` on the chat's Turn in one transaction and commit; returns what it returns.

        `body` is synchronous and may run in another thread: it must not touch the event loop.
        Turns of the same chat run one at a time. Nothing is written when `body` raises.
        """

        def turn(connection: Connection) -> _T:
            current = open_turn(connection, key)
            result = body(current)
            current._finish()
            return result

        return await self._run_write(turn, "save a turn in")

    async def handoffs(self, status: str | None = None) -> list[HandoffRecord]:
        """Handoffs by ticket number, all or only those with `status`."""
        if status is not None and status not in HANDOFF_STATUSES:
            raise ValueError(f"status must be one of {HANDOFF_STATUSES}, not {status!r}")
        query = handoff_query()
        if status is not None:
            query = query.where(Handoff.status == status)
        try:
            async with self._reads() as session:
                rows = (await session.execute(query.order_by(Handoff.id))).all()
        except _DB_ERRORS as exc:
            raise self._error("cannot read handoffs from", exc) from exc
        return [handoff_record(h, channel, external_id) for h, channel, external_id in rows]

    async def handoff(self, ticket: int) -> HandoffRecord | None:
        """The handoff with this ticket number, or None."""
        try:
            async with self._reads() as session:
                row = (await session.execute(handoff_query().where(Handoff.id == ticket))).first()
        except _DB_ERRORS as exc:
            raise self._error(f"cannot read handoff {ticket} from", exc) from exc
        return None if row is None else handoff_record(row[0], row[1], row[2])

    async def transcript(self, key: ChatKey, limit: int = 50) -> list[MessageRecord]:
        """The last `limit` messages of the chat, oldest first."""
        query = (
            select(Message)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .join(User, Conversation.user_id == User.id)
            .where(User.channel == key.channel, User.external_id == key.external_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        try:
            async with self._reads() as session:
                messages = (await session.scalars(query)).all()
        except _DB_ERRORS as exc:
            raise self._error("cannot read a transcript from", exc) from exc
        return [
            MessageRecord(m.direction, m.text, m.intent, m.score, m.action, m.created_at)
            for m in reversed(messages)
        ]

    def ticket(self, ticket: int) -> AbstractAsyncContextManager[TicketTx]:
        """One transaction on one ticket, its row locked; StoreError("no ticket N") if missing."""
        return self._ticket(ticket)

    async def ticket_events(self, ticket: int) -> list[TicketEvent]:
        """The ticket's history, oldest first."""
        async with self._read(f"read the events of ticket {ticket} from") as session:
            return await ticket_events(session, ticket)

    async def ticket_by_card(self, chat_id: str, message_id: int) -> int | None:
        """The ticket whose officers' card is message `message_id` in `chat_id`, or None."""
        async with self._read("find a ticket card in") as session:
            return await card_ticket(session, chat_id, message_id)

    async def due_outbox(
        self,
        *,
        now: datetime,
        lease_seconds: float = 30.0,
        limit: int = 50,
        channel: str | None = None,
        chat_id: str | None = None,
        reclaim: bool = False,
    ) -> list[OutboxRecord]:
        """Lease what may be sent now: per chat only its oldest undelivered row, if due; by id.

        `reclaim` also takes rows still leased: only for a chat whose one sender restarted.
        """
        return await self._run_write(
            lambda connection: lease_due(
                connection,
                now=now,
                lease_seconds=lease_seconds,
                limit=limit,
                channel=channel,
                chat_id=chat_id,
                reclaim=reclaim,
            ),
            "lease outbox rows in",
        )

    async def outbox_sent(self, row_id: int, result: dict[str, Any], *, now: datetime) -> None:
        """Mark the row sent with the channel's result; a ticket's card row sets the card ids."""
        await self.outbox_sent_many({row_id: result}, now=now)

    async def outbox_sent_many(
        self, results: Mapping[int, dict[str, Any]], *, now: datetime
    ) -> None:
        """Mark rows sent, each with its channel's result, in one transaction."""
        await self._run_write(
            lambda connection: mark_sent(connection, results, now=now),
            f"mark {len(results)} outbox row(s) sent in",
        )

    async def outbox_retry(self, row_id: int, error: str, *, not_before: datetime) -> None:
        """Put the row back as pending from `not_before`, one attempt more."""
        async with self._write(f"retry outbox row {row_id} in") as session:
            await mark_retry(session, row_id, error, not_before=not_before)

    async def outbox_dead(self, row_id: int, error: str, *, now: datetime) -> None:
        """Give up on the row (one attempt more); the chat's next row may go."""
        async with self._write(f"give up outbox row {row_id} in") as session:
            await mark_dead(session, row_id, error, now=now)

    async def outbox_rows(
        self, *, channel: str | None = None, chat_id: str | None = None, status: str | None = None
    ) -> list[OutboxRecord]:
        """Outbox rows by id, all or only those of a channel, chat or status."""
        async with self._read("read outbox rows from") as session:
            return await outbox_rows(session, channel=channel, chat_id=chat_id, status=status)

    async def add_officer(
        self,
        name: str,
        *,
        role: str = "officer",
        telegram_id: int | None = None,
        password_hash: str | None = None,
    ) -> OfficerRecord:
        """Add an officer; StoreError when the name or the Telegram id is taken."""
        async with self._write("add an officer to") as session:
            return await add_officer(
                session, name, role=role, telegram_id=telegram_id, password_hash=password_hash
            )

    async def officer_by_telegram(self, telegram_id: int) -> OfficerRecord | None:
        """The officer with this Telegram id, or None."""
        async with self._read("read officers from") as session:
            found = await officers(session, Officer.telegram_id == telegram_id)
        return found[0] if found else None

    async def officer_by_name(self, name: str) -> OfficerRecord | None:
        """The officer with this name, or None."""
        async with self._read("read officers from") as session:
            found = await officers(session, Officer.name == name)
        return found[0] if found else None

    async def officers(self) -> list[OfficerRecord]:
        """Every officer, by name."""
        async with self._read("read officers from") as session:
            return await officers(session)

    async def teams(self) -> list[TeamRecord]:
        """Every team, by name."""
        async with self._read("read teams from") as session:
            return await teams(session)

    @asynccontextmanager
    async def _ticket(self, ticket: int) -> AsyncIterator[TicketTx]:
        """Lock the ticket's row, hand out a TicketTx, commit or roll back."""
        async with self._transaction() as session:
            try:
                tx = await lock_ticket(session, ticket)
            except _DB_ERRORS as exc:
                raise self._error(f"cannot lock ticket {ticket} in", exc) from exc
            yield tx
            try:
                await tx._finish()
                await session.commit()
            except _DB_ERRORS as exc:
                raise self._error(f"cannot save ticket {ticket} in", exc) from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A write session (one at a time on SQLite), rolled back when anything escapes it."""
        async with self._sqlite_writer or nullcontext():
            if time.monotonic() < self._away_until:
                raise StoreError(f"database {self._url} was away a moment ago", transient=True)
            async with self._writes() as session:
                try:
                    yield session
                except BaseException:
                    try:
                        await session.rollback()
                    except _DB_ERRORS:
                        # The original error says more; the pool discards the connection.
                        log.warning("rollback failed on %s", self._url, exc_info=True)
                    raise

    async def _run_write(self, work: Callable[[Connection], _T], doing: str) -> _T:
        """Run `work` in one write transaction and commit: on a SQLite file in the writer
        thread, otherwise in a greenlet of an async session. Errors name `doing`."""
        async with self._sqlite_writer or nullcontext():
            if time.monotonic() < self._away_until:
                raise StoreError(f"database {self._url} was away a moment ago", transient=True)
            try:
                if self._file_writer is not None:
                    return await self._file_writer.run(work)
                async with self._immediate.begin() as connection:
                    return await connection.run_sync(work)
            except _DB_ERRORS as exc:
                raise self._error(f"cannot {doing}", exc) from exc

    @asynccontextmanager
    async def _write(self, doing: str) -> AsyncIterator[AsyncSession]:
        """A write transaction of the store's own, committed at the end; errors name `doing`."""
        async with self._transaction() as session:
            try:
                yield session
                await session.commit()
            except _DB_ERRORS as exc:
                raise self._error(f"cannot {doing}", exc) from exc

    def reading(self, doing: str) -> AbstractAsyncContextManager[AsyncSession]:
        """A read-only session for query modules (store_*.py, web views); errors name `doing`."""
        return self._read(doing)

    def writing(self, doing: str) -> AbstractAsyncContextManager[AsyncSession]:
        """A write transaction for query modules, committed at the end; errors name `doing`."""
        return self._write(doing)

    @asynccontextmanager
    async def _read(self, doing: str) -> AsyncIterator[AsyncSession]:
        """A read-only session; database errors name `doing`."""
        try:
            async with self._reads() as session:
                yield session
        except _DB_ERRORS as exc:
            raise self._error(f"cannot {doing}", exc) from exc

    async def _migrate(self) -> None:
        """Run `alembic upgrade head` on one of our connections, in one transaction."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))

        def upgrade(connection: Connection) -> None:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self._engine.execution_options(**{_IMMEDIATE: True}).begin() as connection:
            await connection.run_sync(upgrade)

    def _error(self, doing: str, exc: BaseException) -> StoreError:
        """A StoreError that names the database but no password and no SQL parameters."""
        away = transient(exc)
        if away:
            self._away_until = time.monotonic() + AWAY_SECONDS
        return StoreError(
            f"{doing} database {self._url}: {reason(exc, self._engine.url)}", transient=away
        )
