"""The store's engine: SQLite and PostgreSQL set up alike, and error texts without secrets."""

from __future__ import annotations

__all__ = [
    "DB_ERRORS",
    "IMMEDIATE",
    "FileWriter",
    "create_engine",
    "insert_ignoring_conflict",
    "reason",
    "shown_url",
    "transient",
]

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic.util import CommandError
from sqlalchemy import Connection, Engine, Insert, Table, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# Execution option read by the SQLite "begin" hook: take the write lock when the transaction starts.
IMMEDIATE = "loketbot_begin_immediate"
CONNECT_SECONDS = 10
POOL_SIZE = 20
POOL_OVERFLOW = 0
# OSError: refused connections and timeouts, raised by drivers before SQLAlchemy wraps anything.
DB_ERRORS = (SQLAlchemyError, OSError, CommandError)
_T = TypeVar("_T")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys and explicit BEGIN [IMMEDIATE]."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # asyncpg waits 60 s for a connection by default: too long to tell a user "try later".
        connect = {"timeout": CONNECT_SECONDS} if parsed.get_driver_name() == "asyncpg" else {}
        return create_async_engine(
            parsed,
            pool_pre_ping=True,
            connect_args=connect,
            # A connection beyond the pool's size would be closed when returned, and opening
            # one costs more than a turn: with many chats at once, turns wait for one instead.
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
    _make_parent_dir(parsed)
    engine = create_async_engine(parsed)
    _set_up_sqlite(engine.sync_engine)
    return engine


def insert_ignoring_conflict(dialect: str, table: Table, columns: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (columns) DO NOTHING in `dialect` ("postgresql" or "sqlite")."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=columns)


@dataclass(frozen=True)
class FileWriter:
    """On a SQLite file, the busiest transactions run whole in one thread with a plain sqlite3
    connection: one hop per transaction instead of several per statement (aiosqlite's cost)."""

    engine: Engine
    thread: ThreadPoolExecutor

    @classmethod
    def open(cls, engine: AsyncEngine) -> FileWriter | None:
        """A writer on the same file as `engine`; None for other databases (and in-memory
        SQLite, which one connection must hold)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        if url.query.get("uri") or url.query.get("mode"):
            return None
        sync = create_sync_engine(url.set(drivername="sqlite+pysqlite"))
        _set_up_sqlite(sync)
        thread = ThreadPoolExecutor(1, thread_name_prefix="loketbot-sqlite")
        return cls(sync.execution_options(**{IMMEDIATE: True}), thread)

    async def run(self, work: Callable[[Connection], _T]) -> _T:
        """Run `work` in one BEGIN IMMEDIATE transaction in the writer thread; rolled back
        when it raises."""
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._run, work)

    def _run(self, work: Callable[[Connection], _T]) -> _T:
        with self.engine.begin() as connection:
            return work(connection)

    async def close(self) -> None:
        """Close the file's connections in their own thread, then end the thread."""
        await asyncio.get_running_loop().run_in_executor(self.thread, self.engine.dispose)
        self.thread.shutdown()


def _set_up_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and our own BEGIN [IMMEDIATE] on every connection of `engine`."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # The driver's own implicit BEGIN is deferred and skipped for DDL; we emit our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL loses nothing when the process dies (kill -9); only a power
            # cut may undo the last commits. FULL would fsync on every turn.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _make_parent_dir(url: URL) -> None:
    """Create the folder of a SQLite database file, so a fresh path just works."""
    database = url.database
    if database and database != ":memory:" and not url.query.get("uri"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def transient(exc: BaseException) -> bool:
    """Whether the error says the database is away or busy (worth retrying), not a refusal."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout | OSError
    )


def shown_url(url: str) -> str:
    """The URL as it may appear in messages and logs: without the password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable database URL>"


def reason(exc: BaseException, url: str | URL) -> str:
    """The first line of the driver's message: no SQL, no parameters (they may hold user text)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    text = f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__
    try:
        password = make_url(url).password
    except (SQLAlchemyError, ValueError):
        password = None
    # Drivers rarely echo the password, but this message may end up in a log.
    return text.replace(str(password), "***") if password else text
