"""Alembic environment: Store.open() runs it on its own connection; `alembic` may run it alone."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from loketbot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _default_url() -> str:
    """The database URL when no connection is handed in: alembic's option, else loketbot's."""
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("LOKETBOT_DATABASE_URL")
        or "sqlite+aiosqlite:///loketbot.db"
    )


def run_migrations(connection: Connection) -> None:
    """Run the migrations on a synchronous connection (inside run_sync for async engines)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    """Open an engine of our own, for the `alembic` command line."""
    engine = create_async_engine(_default_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def _main() -> None:
    """Dispatch on how Alembic was invoked."""
    if context.is_offline_mode():
        context.configure(url=_default_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        # Store.open() already holds a transaction on this connection; the migrations join it.
        run_migrations(connection)
    else:
        asyncio.run(_run_standalone())


_main()
