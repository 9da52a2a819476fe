"""Databases for end-to-end tests: a SQLite file, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

PG_ENV = "LOKETBOT_TEST_DATABASE_URL"
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
    ),
]


@asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for one test; a PostgreSQL database is created and dropped around it."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'loketbot.db'}"
        return
    base = make_url(os.environ[PG_ENV])
    name = f"loketbot_e2e_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
