"""The async store: users, conversation state, messages, handoffs and feedback in SQL."""

from __future__ import annotations

__all__ = ["ChatKey", "HandoffRecord", "MessageRecord", "Store", "Turn"]

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import ColumnElement, Connection, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from .errors import StoreError
from .models import (
    DIRECTIONS,
    HANDOFF_STATUSES,
    Conversation,
    Feedback,
    Handoff,
    Message,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

_Row = TypeVar("_Row", User, Conversation)

MIGRATIONS = Path(__file__).with_name("migrations")
# Execution option read by the SQLite "begin" hook: take the write lock when the transaction starts.
_IMMEDIATE = "loketbot_begin_immediate"
# Key of the PostgreSQL advisory lock that keeps two processes from migrating at once.
_MIGRATION_LOCK = 0x6C6F6B6574
# OSError: refused connections and timeouts, raised by drivers before SQLAlchemy wraps anything.
_DB_ERRORS = (SQLAlchemyError, OSError, CommandError)


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


@dataclass(frozen=True)
class MessageRecord:
    """One message of a transcript."""

    direction: str
    text: str
    intent: str | None
    score: float | None
    action: str | None
    created_at: datetime


class Turn:
    """What one incoming message may read and write; everything is committed together."""

    def __init__(
        self,
        session: AsyncSession,
        user: User,
        conversation: Conversation,
        error: Callable[[str, BaseException], StoreError],
    ) -> None:
        self._session = session
        self._error = error
        self._user = user
        self._conversation = conversation
        self._new_state: dict[str, Any] | None = None
        # A copy, so that changing the dict in place does not count as saving it.
        self.state: dict[str, Any] | None = copy.deepcopy(conversation.state)
        self.version: int = conversation.version

    def save_state(self, state: dict[str, Any]) -> None:
        """Keep `state` as the conversation state; it is written at commit, version + 1."""
        self._new_state = copy.deepcopy(state)

    def set_lang(self, lang: str) -> None:
        """Set the user's language (two letters, e.g. 'nl')."""
        if len(lang) != 2:
            raise ValueError(f"language must be a two-letter code, not {lang!r}")
        self._user.lang = lang

    def add_message(
        self,
        direction: str,
        text: str,
        *,
        intent: str | None = None,
        score: float | None = None,
        action: str | None = None,
    ) -> None:
        """Record a message received ('in') or sent ('out')."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        self._session.add(
            Message(
                conversation_id=self._conversation.id,
                direction=direction,
                text=text,
                intent=intent,
                score=score,
                action=action,
                created_at=utcnow(),
            )
        )

    async def add_handoff(self, *, question: str, lang: str, context: dict[str, Any]) -> int:
        """Open a handoff for an officer and return its ticket number."""
        handoff = Handoff(
            conversation_id=self._conversation.id,
            status="open",
            lang=lang,
            question=question,
            context=copy.deepcopy(context),
            created_at=utcnow(),
        )
        self._session.add(handoff)
        try:
            await self._session.flush()  # the database hands out the ticket number
        except _DB_ERRORS as exc:
            raise self._error("cannot add a handoff to", exc) from exc
        return handoff.id

    def add_feedback(self, entry_id: str, helpful: bool) -> None:
        """Record whether the answer from knowledge entry `entry_id` helped."""
        self._session.add(
            Feedback(
                conversation_id=self._conversation.id,
                entry_id=entry_id,
                helpful=helpful,
                created_at=utcnow(),
            )
        )

    async def _write_state(self) -> None:
        """Write the saved state, checking that nobody else wrote since it was read."""
        if self._new_state is None:
            return
        result = await self._session.execute(
            update(Conversation)
            .where(Conversation.id == self._conversation.id, Conversation.version == self.version)
            .values(state=self._new_state, version=self.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            raise StoreError(f"conversation {self._conversation.id} was changed by another turn")
        self.state, self.version = self._new_state, self.version + 1
        self._new_state = None


class Store:
    """Conversations, messages, handoffs and feedback in SQLite or PostgreSQL."""

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

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to `url`, bring the schema up to date and return the store."""
        try:
            engine = _create_engine(url)
        except (SQLAlchemyError, ValueError, ImportError, OSError) as exc:
            shown = _shown_url(url)
            raise StoreError(f"cannot use database {shown}: {_reason(exc, url)}") from exc
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
        await self._engine.dispose()

    def turn(self, key: ChatKey) -> AbstractAsyncContextManager[Turn]:
        """One transaction for one incoming message; turns of the same chat run one at a time."""
        return self._turn(key)

    async def handoffs(self, status: str | None = None) -> list[HandoffRecord]:
        """Handoffs by ticket number, all or only those with `status`."""
        if status is not None and status not in HANDOFF_STATUSES:
            raise ValueError(f"status must be one of {HANDOFF_STATUSES}, not {status!r}")
        query = _handoff_query()
        if status is not None:
            query = query.where(Handoff.status == status)
        try:
            async with self._reads() as session:
                rows = (await session.execute(query.order_by(Handoff.id))).all()
        except _DB_ERRORS as exc:
            raise self._error("cannot read handoffs from", exc) from exc
        return [_handoff_record(h, channel, external_id) for h, channel, external_id in rows]

    async def handoff(self, ticket: int) -> HandoffRecord | None:
        """The handoff with this ticket number, or None."""
        try:
            async with self._reads() as session:
                row = (await session.execute(_handoff_query().where(Handoff.id == ticket))).first()
        except _DB_ERRORS as exc:
            raise self._error(f"cannot read handoff {ticket} from", exc) from exc
        return None if row is None else _handoff_record(row[0], row[1], row[2])

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

    @asynccontextmanager
    async def _turn(self, key: ChatKey) -> AsyncIterator[Turn]:
        """Lock the chat's conversation, hand out a Turn, commit or roll back."""
        async with self._sqlite_writer or nullcontext(), self._writes() as session:
            try:
                try:
                    turn = await self._begin_turn(session, key)
                except _DB_ERRORS as exc:
                    raise self._error("cannot start a turn in", exc) from exc
                yield turn
                try:
                    await turn._write_state()
                    await session.commit()
                except _DB_ERRORS as exc:
                    raise self._error("cannot save a turn in", exc) from exc
            except BaseException:
                try:
                    await session.rollback()
                except _DB_ERRORS:
                    # The original error says more; the connection is discarded by the pool.
                    log.warning("rollback failed on %s", self._url, exc_info=True)
                raise

    async def _begin_turn(self, session: AsyncSession, key: ChatKey) -> Turn:
        """Get or create the user and conversation, holding the conversation's row lock."""
        # On SQLite the first statement starts the transaction with BEGIN IMMEDIATE (see
        # _create_engine), which already excludes every other writer, in any process.
        user = await self._get_or_create(
            session,
            User,
            (User.channel == key.channel, User.external_id == key.external_id),
            {"channel": key.channel, "external_id": key.external_id, "created_at": utcnow()},
        )
        # On PostgreSQL, FOR UPDATE makes a second turn of this chat wait for our commit.
        conversation = await self._get_or_create(
            session,
            Conversation,
            (Conversation.user_id == user.id,),
            {"user_id": user.id, "state": None, "version": 0, "updated_at": utcnow()},
            lock=True,
        )
        return Turn(session, user, conversation, self._error)

    async def _get_or_create(
        self,
        session: AsyncSession,
        model: type[_Row],
        where: tuple[ColumnElement[bool], ...],
        values: dict[str, Any],
        *,
        lock: bool = False,
    ) -> _Row:
        """Select the row; if missing insert it (a concurrent insert wins) and select again."""
        query = select(model).where(*where)
        if lock:
            query = query.with_for_update()
        found = (await session.scalars(query)).first()
        if found is not None:
            return found
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        await session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())
        return (await session.scalars(query)).one()

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
        return StoreError(f"{doing} database {self._url}: {_reason(exc, self._engine.url)}")


def _create_engine(url: str) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys and explicit BEGIN [IMMEDIATE]."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    _make_parent_dir(parsed)
    engine = create_async_engine(parsed)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # The driver's own implicit BEGIN is deferred and skipped for DDL; we emit our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _make_parent_dir(url: URL) -> None:
    """Create the folder of a SQLite database file, so a fresh path just works."""
    database = url.database
    if database and database != ":memory:" and not url.query.get("uri"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _shown_url(url: str) -> str:
    """The URL as it may appear in messages and logs: without the password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable database URL>"


def _reason(exc: BaseException, url: str | URL) -> str:
    """The first line of the driver's message: no SQL, no parameters (they may hold user text)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    reason = f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__
    try:
        password = make_url(url).password
    except (SQLAlchemyError, ValueError):
        password = None
    # Drivers rarely echo the password, but this message may end up in a log.
    return reason.replace(str(password), "***") if password else reason


def _handoff_query() -> Any:
    """Handoffs joined with the chat they came from."""
    return (
        select(Handoff, User.channel, User.external_id)
        .join(Conversation, Handoff.conversation_id == Conversation.id)
        .join(User, Conversation.user_id == User.id)
    )


def _handoff_record(h: Handoff, channel: str, external_id: str) -> HandoffRecord:
    """A frozen record of a handoff row."""
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
    )
