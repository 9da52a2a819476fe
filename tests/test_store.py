"""The store contract, run against SQLite and (with LOKETBOT_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from loketbot.errors import StoreError
from loketbot.store import ChatKey, Store

PG_URL = os.environ.get("LOKETBOT_TEST_DATABASE_URL")
TABLES = {"users", "conversations", "messages", "handoffs", "feedback", "alembic_version"}
ALICE = ChatKey("telegram", "1001")
BOB = ChatKey("terminal", "bob")


async def _drop_tables(url: str) -> None:
    """Drop the store's tables, so every PostgreSQL test starts from an empty database."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(sorted(TABLES))} CASCADE"))
    finally:
        await engine.dispose()


async def _scalar(url: str, sql: str) -> object:
    """One value straight from the database, past the store."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL with no loketbot tables in it yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'loketbot.db'}"
        return
    if not PG_URL:
        pytest.skip("LOKETBOT_TEST_DATABASE_URL is not set")
    # This drops the store's tables in that database: point the variable at a test database.
    await _drop_tables(PG_URL)
    yield PG_URL
    await _drop_tables(PG_URL)


@pytest_asyncio.fixture
async def store(url: str) -> AsyncIterator[Store]:
    """An open store on an empty database."""
    opened = await Store.open(url)
    yield opened
    await opened.close()


class TestStore:
    """The same contract on every database."""

    async def test_state_survives_a_restart(self, url: str) -> None:
        first = await Store.open(url)
        async with first.turn(ALICE) as turn:
            assert (turn.state, turn.version) == (None, 0)
            turn.add_message("in", "Welke vergunning heb ik nodig?")
            turn.add_message("out", "Ja.", intent="permit-event", score=0.91, action="answer")
            turn.set_lang("en")
            turn.save_state({"flow": "permit", "step": 2, "answers": {"size": "small"}})
        await first.close()

        second = await Store.open(url)
        async with second.turn(ALICE) as turn:
            assert turn.state == {"flow": "permit", "step": 2, "answers": {"size": "small"}}
            assert turn.version == 1
        transcript = await second.transcript(ALICE)
        await second.close()

        assert [(m.direction, m.text, m.intent, m.score, m.action) for m in transcript] == [
            ("in", "Welke vergunning heb ik nodig?", None, None, None),
            ("out", "Ja.", "permit-event", 0.91, "answer"),
        ]
        assert all(m.created_at.tzinfo == UTC for m in transcript)
        assert await _scalar(url, "SELECT lang FROM users") == "en"

    async def test_a_failed_turn_leaves_nothing_behind(self, store: Store) -> None:
        async with store.turn(ALICE) as turn:
            turn.add_message("in", "hallo")
            turn.save_state({"step": 1})

        with pytest.raises(RuntimeError, match="boom"):  # the caller's own error, not wrapped
            async with store.turn(ALICE) as turn:
                turn.add_message("in", "dit verdwijnt")
                turn.save_state({"step": 2})
                turn.add_feedback("permit-event", helpful=False)
                await turn.add_handoff(question="dit verdwijnt", lang="nl", context={})
                raise RuntimeError("boom")
        with pytest.raises(RuntimeError, match="boom"):  # a brand-new chat leaves no user either
            async with store.turn(BOB) as turn:
                turn.add_message("in", "ook weg")
                raise RuntimeError("boom")

        async with store.turn(ALICE) as turn:
            assert (turn.state, turn.version) == ({"step": 1}, 1)
        async with store.turn(BOB) as turn:
            assert (turn.state, turn.version) == (None, 0)
        assert [m.text for m in await store.transcript(ALICE)] == ["hallo"]
        assert await store.transcript(BOB) == []
        assert await store.handoffs() == []

    async def test_handoff_tickets_are_unique_and_increasing(self, store: Store) -> None:
        context = {"recent": [{"in": "subsidie?"}], "candidates": ["sub-a", "sub-b"], "extra": None}
        asked = [(ALICE, "Kan ik subsidie krijgen?"), (BOB, "Who do I call?"), (ALICE, "En nu?")]
        tickets = []
        for key, question in asked:
            async with store.turn(key) as turn:
                ticket = await turn.add_handoff(question=question, lang="nl", context=context)
            tickets.append(ticket)
        assert tickets == sorted(set(tickets))

        open_ = await store.handoffs(status="open")
        assert [h.ticket for h in open_] == tickets
        first = open_[0]
        assert (first.channel, first.external_id, first.status) == ("telegram", "1001", "open")
        assert (first.question, first.lang, first.context) == (asked[0][1], "nl", context)
        assert [first.assigned_officer, first.answer, first.claimed_at] == [None] * 3
        assert first.created_at.tzinfo == UTC
        assert await store.handoff(tickets[1]) == open_[1]
        assert await store.handoff(tickets[-1] + 1000) is None
        assert await store.handoffs(status="closed") == []
        assert await store.handoffs() == open_

    async def test_concurrent_turns_on_one_chat_are_serialised(self, url: str) -> None:
        # Two stores stand for two processes: only the database can order their turns.
        stores = [await Store.open(url), await Store.open(url)]
        seen: list[int] = []

        async def bump(store: Store) -> None:
            async with store.turn(ALICE) as turn:
                version = turn.version
                count = (turn.state or {}).get("count", 0)
                await asyncio.sleep(0.2)  # another turn would read the same version meanwhile
                turn.save_state({"count": count + 1})
                seen.append(version)

        try:
            await asyncio.gather(*(bump(stores[i % 2]) for i in range(4)))
            async with stores[0].turn(ALICE) as turn:
                assert turn.state == {"count": 4}
                assert turn.version == 4
        finally:
            for opened in stores:
                await opened.close()
        assert sorted(seen) == [0, 1, 2, 3]

    async def test_transcript_is_the_latest_messages_oldest_first(self, store: Store) -> None:
        for n in range(5):
            async with store.turn(ALICE) as turn:
                turn.add_message("in", f"vraag {n}")
                turn.add_message("out", f"antwoord {n}")
        async with store.turn(BOB) as turn:
            turn.add_message("in", "van iemand anders")
        texts = [m.text for m in await store.transcript(ALICE, limit=3)]
        assert texts == ["antwoord 3", "vraag 4", "antwoord 4"]
        assert len(await store.transcript(ALICE)) == 10
        assert await store.transcript(ChatKey("telegram", "nobody")) == []

    async def test_migrations_create_the_schema_and_are_idempotent(self, url: str) -> None:
        first = await Store.open(url)
        async with first.turn(ALICE) as turn:
            turn.save_state({"kept": True})
        await first.close()

        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()
        assert tables >= TABLES
        assert await _scalar(url, "SELECT version_num FROM alembic_version") == "0001"

        second = await Store.open(url)  # nothing left to migrate: opens, data untouched
        async with second.turn(ALICE) as turn:
            assert (turn.state, turn.version) == ({"kept": True}, 1)
        await second.close()
        assert await _scalar(url, "SELECT COUNT(*) FROM alembic_version") == 1


async def test_unreachable_database_gives_store_error_without_password() -> None:
    url = "postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:1/x"
    with pytest.raises(StoreError) as caught:
        await Store.open(url)
    assert not isinstance(caught.value, SQLAlchemyError)
    message = str(caught.value)
    assert "127.0.0.1:1/x" in message
    assert "s3cret-pw" not in message
