"""Databases for end-to-end tests: a SQLite file, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from .scratch_db import scratch_postgres

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
    async with scratch_postgres(os.environ[PG_ENV], "loketbot_e2e") as url:
        yield url
