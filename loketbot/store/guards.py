"""Shared limits and console sessions, kept in the database so they hold across instances.

Two tables: `rate_hits` (one row per counted event: a login attempt per name and per address,
a message of a chat that the flood limit counts) and `console_sessions` (one row per console
login, deleted at logout). Every instance on one database sees the same rows, so N instances
behind a load balancer give no one N times the limit, and logging out on one ends the session
on all. With one instance on SQLite the same tables work with no extra server.
"""

from __future__ import annotations

__all__ = [
    "ConsoleSession",
    "RateHit",
    "count_event",
    "count_hits",
    "drop_hits",
    "end_session",
    "hit",
    "session_officer",
    "start_session",
]

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, Index, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from loketbot.store.models import Base, table_of

if TYPE_CHECKING:  # turn.py imports this module, and store.py imports turn.py
    from loketbot.store.store import Store

MAX_KEY = 300  # keys are built from capped parts (a name of at most 200 characters)


class RateHit(Base):
    """One counted event under a key, e.g. `login-name:anna` or `flood:telegram:42`."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_key_at", "key", "at"), Index("ix_rate_hits_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    at: Mapped[datetime]


class ConsoleSession(Base):
    """A console login; the cookie carries a random token, the table only its SHA-256."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


def _digest(token: str) -> str:
    # A leaked table (a backup, a query log) then holds no usable session.
    return hashlib.sha256(token.encode()).hexdigest()


async def hit(store: Store, keys: Sequence[str], *, now: datetime, keep: timedelta) -> list[int]:
    """Count one event under each key (committed before it returns); returns the rows' ids.

    Committing before counting is what makes the limit hold under concurrency: the k-th event
    to commit sees at least k rows, so at most `limit` callers ever see `limit` or fewer.
    Rows older than `keep` (the longest window) are deleted on the way, so the table stays as
    small as the traffic of one window.
    """
    for key in keys:
        if len(key) > MAX_KEY:
            raise ValueError(f"rate key longer than {MAX_KEY} characters")
    async with store.writing("count an attempt in") as session:
        await session.execute(delete(RateHit).where(RateHit.at < now - keep))
        rows = [RateHit(key=key, at=now) for key in keys]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


def count_event(
    connection: Connection,
    key: str,
    *,
    now: datetime,
    windows: Sequence[timedelta],
    prune: bool,
    events: int = 1,
) -> list[int]:
    """Count `events` events under `key` and return its events in each window, on `connection`.

    Run inside a turn (the flood limit): the turn's lock on the conversation serialises one
    chat's messages over every instance, so the count is exact, and it costs an insert and a
    select in a transaction that runs anyway. `prune` also deletes every key's rows older
    than the longest window.
    """
    longest = max(windows)
    table = table_of(RateHit)
    if prune:
        connection.execute(delete(table).where(table.c.at < now - longest))
    counts = select(*(func.count().filter(table.c.at > now - w) for w in windows)).where(
        table.c.key == key, table.c.at > now - longest
    )
    if connection.dialect.name == "postgresql":
        # One round trip: the insert rides along as a CTE. Its row is not yet visible to the
        # statement's own select, hence the + 1.
        rows = [{"key": key, "at": now}] * events
        added = insert(table).values(rows).returning(table.c.id).cte("added")
        return [int(n) + events for n in connection.execute(counts.add_cte(added)).one()]
    connection.execute(insert(table), [{"key": key, "at": now}] * events)
    return [int(n) for n in connection.execute(counts).one()]


async def count_hits(
    store: Store, key: str, *, now: datetime, windows: Sequence[timedelta]
) -> tuple[list[int], datetime | None]:
    """How many events `key` has in each window up to `now`, and its oldest in the longest."""
    longest = max(windows)
    query = select(
        *(func.count().filter(RateHit.at > now - window) for window in windows),
        func.min(RateHit.at),
    ).where(RateHit.key == key, RateHit.at > now - longest, RateHit.at <= now)
    async with store.reading("count attempts in") as session:
        row = (await session.execute(query)).one()
    oldest = cast("datetime | None", row[-1])
    return [int(n) for n in row[:-1]], oldest


async def drop_hits(store: Store, *, ids: Sequence[int] = (), key: str | None = None) -> None:
    """Forget events: these rows (a refused attempt is no check), or every row of `key`."""
    async with store.writing("forget attempts in") as session:
        if ids:
            await session.execute(delete(RateHit).where(RateHit.id.in_(list(ids))))
        if key is not None:
            await session.execute(delete(RateHit).where(RateHit.key == key))


async def start_session(
    store: Store, token: str, officer: str, *, now: datetime, lifetime: timedelta
) -> None:
    """Record a new console login under `token`; expired logins are deleted on the way."""
    async with store.writing("start a console session in") as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
        session.add(
            ConsoleSession(
                id=_digest(token), officer=officer, created_at=now, expires_at=now + lifetime
            )
        )


async def session_officer(store: Store, token: str, *, now: datetime) -> str | None:
    """The officer's name of a live login with this token, or None (logged out or expired)."""
    query = select(ConsoleSession.officer).where(
        ConsoleSession.id == _digest(token), ConsoleSession.expires_at > now
    )
    async with store.reading("read console sessions from") as session:
        return await session.scalar(query)


async def end_session(store: Store, token: str) -> None:
    """Log out: the token no longer opens anything, on any instance."""
    async with store.writing("end a console session in") as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.id == _digest(token)))
