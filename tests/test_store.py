"""The store contract, run against SQLite and (with LOKETBOT_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.sql import Executable

from loketbot.errors import StoreError
from loketbot.store.models import Base, Conversation, Handoff, User
from loketbot.store.store import MIGRATIONS, ChatKey, OutboxRecord, Store, Turn

PG_URL = os.environ.get("LOKETBOT_TEST_DATABASE_URL")
TABLES = {
    "users",
    "conversations",
    "messages",
    "handoffs",
    "feedback",
    "outbox",
    "officers",
    "handoff_events",
    "processed_updates",
    "suggestions",
    "teams",
    "initiatives",
    "rate_hits",
    "console_sessions",
    "alembic_version",
}
HEAD = "0006"  # the newest migration
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

        def _turn1(turn: Turn) -> Any:
            assert (turn.state, turn.version) == (None, 0)
            turn.add_message("in", "Welke vergunning heb ik nodig?")
            turn.add_message("out", "Ja.", intent="permit-event", score=0.91, action="answer")
            turn.set_lang("en")
            turn.save_state({"flow": "permit", "step": 2, "answers": {"size": "small"}})

        await first.run_turn(ALICE, _turn1)
        await first.close()

        second = await Store.open(url)

        def _turn2(turn: Turn) -> Any:
            assert turn.state == {"flow": "permit", "step": 2, "answers": {"size": "small"}}
            assert turn.version == 1

        await second.run_turn(ALICE, _turn2)
        transcript = await second.transcript(ALICE)
        await second.close()

        assert [(m.direction, m.text, m.intent, m.score, m.action) for m in transcript] == [
            ("in", "Welke vergunning heb ik nodig?", None, None, None),
            ("out", "Ja.", "permit-event", 0.91, "answer"),
        ]
        assert all(m.created_at.tzinfo == UTC for m in transcript)
        assert await _scalar(url, "SELECT lang FROM users") == "en"

    async def test_a_failed_turn_leaves_nothing_behind(self, store: Store) -> None:
        def _turn3(turn: Turn) -> Any:
            turn.add_message("in", "hallo")
            turn.save_state({"step": 1})

        await store.run_turn(ALICE, _turn3)

        with pytest.raises(RuntimeError, match="boom"):  # the caller's own error, not wrapped

            def _turn4(turn: Turn) -> Any:
                turn.add_message("in", "dit verdwijnt")
                turn.save_state({"step": 2})
                turn.add_feedback("permit-event", helpful=False)
                turn.add_handoff(question="dit verdwijnt", lang="nl", context={})
                raise RuntimeError("boom")

            await store.run_turn(ALICE, _turn4)
        with pytest.raises(RuntimeError, match="boom"):  # a brand-new chat leaves no user either

            def _turn5(turn: Turn) -> Any:
                turn.add_message("in", "ook weg")
                raise RuntimeError("boom")

            await store.run_turn(BOB, _turn5)

        def _turn6(turn: Turn) -> Any:
            assert (turn.state, turn.version) == ({"step": 1}, 1)

        await store.run_turn(ALICE, _turn6)

        def _turn7(turn: Turn) -> Any:
            assert (turn.state, turn.version) == (None, 0)

        await store.run_turn(BOB, _turn7)
        assert [m.text for m in await store.transcript(ALICE)] == ["hallo"]
        assert await store.transcript(BOB) == []
        assert await store.handoffs() == []

    async def test_handoff_tickets_are_unique_and_increasing(self, store: Store) -> None:
        context = {"recent": [{"in": "subsidie?"}], "candidates": ["sub-a", "sub-b"], "extra": None}
        asked = [(ALICE, "Kan ik subsidie krijgen?"), (BOB, "Who do I call?"), (ALICE, "En nu?")]
        tickets = []
        for key, question in asked:
            ticket = await store.run_turn(
                key,
                lambda turn, q=question: turn.add_handoff(question=q, lang="nl", context=context),
            )
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
            def _turn9(turn: Turn) -> Any:
                version = turn.version
                count = (turn.state or {}).get("count", 0)
                time.sleep(0.2)  # another turn would read the same version meanwhile
                turn.save_state({"count": count + 1})
                seen.append(version)

            await store.run_turn(ALICE, _turn9)

        try:
            await asyncio.gather(*(bump(stores[i % 2]) for i in range(4)))

            def _turn10(turn: Turn) -> Any:
                assert turn.state == {"count": 4}
                assert turn.version == 4

            await stores[0].run_turn(ALICE, _turn10)
        finally:
            for opened in stores:
                await opened.close()
        assert sorted(seen) == [0, 1, 2, 3]

    async def test_transcript_is_the_latest_messages_oldest_first(self, store: Store) -> None:
        for n in range(5):

            def _turn11(turn: Turn, n: int = n) -> None:
                turn.add_message("in", f"vraag {n}")
                turn.add_message("out", f"antwoord {n}")

            await store.run_turn(ALICE, _turn11)

        def _turn12(turn: Turn) -> Any:
            turn.add_message("in", "van iemand anders")

        await store.run_turn(BOB, _turn12)
        texts = [m.text for m in await store.transcript(ALICE, limit=3)]
        assert texts == ["antwoord 3", "vraag 4", "antwoord 4"]
        assert len(await store.transcript(ALICE)) == 10
        assert await store.transcript(ChatKey("telegram", "nobody")) == []

    async def test_migrations_create_the_schema_and_are_idempotent(self, url: str) -> None:
        first = await Store.open(url)

        def _turn13(turn: Turn) -> Any:
            turn.save_state({"kept": True})

        await first.run_turn(ALICE, _turn13)
        await first.close()

        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()
        assert tables >= TABLES
        assert await _scalar(url, "SELECT version_num FROM alembic_version") == HEAD

        second = await Store.open(url)  # nothing left to migrate: opens, data untouched

        def _turn14(turn: Turn) -> Any:
            assert (turn.state, turn.version) == ({"kept": True}, 1)

        await second.run_turn(ALICE, _turn14)
        await second.close()
        assert await _scalar(url, "SELECT COUNT(*) FROM alembic_version") == 1


async def _add_chat_rows(store: Store, chats: int, rows: int) -> list[list[int]]:
    """`rows` outbox rows in each of `chats` chats, one turn per chat; their ids per chat."""
    for chat in range(chats):

        def _turn15(turn: Turn, chat: int = chat) -> None:
            for n in range(rows):
                turn.add_outbox("message", {"text": f"{chat}.{n}"}, key=f"k{chat}.{n}")

        await store.run_turn(ChatKey("telegram", f"chat{chat}"), _turn15)
    ids: dict[str, list[int]] = {}
    for row in await store.outbox_rows():
        ids.setdefault(row.chat_id, []).append(row.id)
    return [ids[f"chat{chat}"] for chat in range(chats)]


class TestOutboxAndTickets:
    """Outbox, processed updates, tickets and officers on every database."""

    async def test_outbox_rows_are_written_with_the_turn(self, store: Store) -> None:
        def _turn16(turn: Turn) -> Any:
            turn.add_outbox("message", {"text": "hallo", "buttons": []}, key="reply:1")
            turn.add_outbox("message", {"text": "nog eens"}, key="reply:1")  # same key: skipped
            turn.add_outbox("edit_markup", {"message_id": 7}, key="unbutton:7")
            turn.add_outbox("message", {"text": "kaart"}, key="card:1", channel="x", chat_id="-9")

        await store.run_turn(ALICE, _turn16)
        with pytest.raises(RuntimeError, match="boom"):

            def _turn17(turn: Turn) -> Any:
                turn.add_outbox("message", {"text": "weg"}, key="reply:2")
                raise RuntimeError("boom")

            await store.run_turn(ALICE, _turn17)

        def _turn18(turn: Turn) -> Any:
            turn.add_outbox("message", {"text": "ander"}, key="reply:1")  # key used before
            turn.add_outbox("edit_text", {"text": "b"}, key="reply:3")

        await store.run_turn(BOB, _turn18)

        rows = await store.outbox_rows()
        assert [(r.key, r.channel, r.chat_id, r.kind) for r in rows] == [
            ("reply:1", "telegram", "1001", "message"),
            ("unbutton:7", "telegram", "1001", "edit_markup"),
            ("card:1", "x", "-9", "message"),
            ("reply:3", "terminal", "bob", "edit_text"),
        ]
        first = rows[0]
        assert (first.payload, first.status, first.attempts) == (
            {"text": "hallo", "buttons": []},
            "pending",
            0,
        )
        assert (first.ticket, first.result, first.created_at.tzinfo) == (None, None, UTC)
        assert [r.key for r in await store.outbox_rows(chat_id="1001")] == ["reply:1", "unbutton:7"]
        assert [r.key for r in await store.outbox_rows(channel="terminal")] == ["reply:3"]
        assert await store.outbox_rows(status="sent") == []
        with pytest.raises(ValueError, match="kind"):

            def _turn19(turn: Turn) -> Any:
                turn.add_outbox("photo", {}, key="x")

            await store.run_turn(ALICE, _turn19)

    async def test_due_outbox_gives_each_chat_its_oldest_row_only(
        self, store: Store, url: str
    ) -> None:
        [a, b] = await _add_chat_rows(store, chats=2, rows=3)
        now = datetime.now(UTC)
        due = await store.due_outbox(now=now, lease_seconds=30)
        assert [r.id for r in due] == [a[0], b[0]]
        assert {r.status for r in due} == {"sending"}
        assert await store.due_outbox(now=now) == []  # leased, and the rest waits behind them

        await store.outbox_sent(a[0], {"message_id": 1}, now=now)
        assert [r.id for r in await store.due_outbox(now=now)] == [a[1]]
        await store.outbox_retry(
            a[1], "429 Too Many Requests", not_before=now + timedelta(seconds=5)
        )
        assert await store.due_outbox(now=now) == []  # a[1] waits for its time; a[2] behind it
        assert [r.id for r in await store.due_outbox(now=now + timedelta(seconds=5))] == [a[1]]
        await store.outbox_dead(a[1], "403 Forbidden: bot was blocked by the user", now=now)
        assert [r.id for r in await store.due_outbox(now=now, chat_id="chat0")] == [a[2]]

        # Leases taken at `now` expire: the rows are handed out again (their sender may have died).
        assert [r.id for r in await store.due_outbox(now=now + timedelta(seconds=29))] == []
        again = await store.due_outbox(now=now + timedelta(seconds=31))
        assert [r.id for r in again] == [a[2], b[0]]
        assert await store.due_outbox(now=now + timedelta(seconds=31), channel="terminal") == []

        by_id = {r.id: r for r in await store.outbox_rows()}
        assert (by_id[a[0]].status, by_id[a[0]].result) == ("sent", {"message_id": 1})
        assert (by_id[a[1]].status, by_id[a[1]].attempts) == ("dead", 2)
        assert await _scalar(url, f"SELECT error FROM outbox WHERE id = {a[1]}") == (
            "403 Forbidden: bot was blocked by the user"
        )
        with pytest.raises(StoreError, match="no outbox row 999"):
            await store.outbox_retry(999, "x", not_before=now)

    async def test_a_sent_row_is_not_put_back(self, store: Store) -> None:
        [[row, _]] = await _add_chat_rows(store, chats=1, rows=2)
        now = datetime.now(UTC)
        await store.due_outbox(now=now)
        await store.outbox_sent(row, {"message_id": 5}, now=now)
        await store.outbox_retry(row, "late", not_before=now)  # a stale sender's retry
        await store.outbox_dead(row, "late", now=now)
        [sent] = await store.outbox_rows(status="sent")
        assert (sent.id, sent.attempts) == (row, 0)

    async def test_concurrent_due_outbox_calls_never_share_a_row(self, url: str) -> None:
        stores = [await Store.open(url), await Store.open(url)]
        try:
            heads = [ids[0] for ids in await _add_chat_rows(stores[0], chats=20, rows=2)]
            now = datetime.now(UTC)
            leased: list[int] = []
            for _ in range(3):  # four callers at once, each taking at most 7 rows
                got = await asyncio.gather(*(s.due_outbox(now=now, limit=7) for s in stores * 2))
                leased += [row.id for rows in got for row in rows]
            assert sorted(leased) == heads  # every chat's first row, each exactly once
            sending = await stores[0].outbox_rows(status="sending")
            assert sorted(row.id for row in sending) == heads
        finally:
            for opened in stores:
                await opened.close()

    async def test_workers_deliver_every_row_once_and_each_chat_in_order(self, url: str) -> None:
        # Three stores stand for three sender processes working on the same outbox.
        stores = [await Store.open(url) for _ in range(3)]
        chats, per_chat = 6, 4
        sent: list[OutboxRecord] = []
        ids: list[list[int]] = []

        async def worker(store: Store) -> None:
            while len(sent) < chats * per_chat:
                rows = await store.due_outbox(now=datetime.now(UTC), limit=4)
                done = {r.id for r in sent}
                for row in rows:
                    # Never two rows of a chat at once: a row is leased only once every earlier
                    # row of its chat was sent. (A set of chats in flight, emptied after the
                    # "sent" commit, raced: another worker may lease the next row before this
                    # coroutine resumes from that commit.)
                    earlier = [i for i in ids[int(row.chat_id[4:])] if i < row.id]
                    assert done.issuperset(earlier), (row.id, earlier)
                for row in rows:
                    await asyncio.sleep(0.005)
                    sent.append(row)
                    await store.outbox_sent(row.id, {"message_id": row.id}, now=datetime.now(UTC))
                if not rows:
                    await asyncio.sleep(0.01)

        try:
            ids += await _add_chat_rows(stores[0], chats=chats, rows=per_chat)
            await asyncio.wait_for(asyncio.gather(*(worker(s) for s in stores)), timeout=60)
        finally:
            for opened in stores:
                await opened.close()
        assert sorted(r.id for r in sent) == sorted(i for chat in ids for i in chat)
        for chat in range(chats):
            assert [r.id for r in sent if r.chat_id == f"chat{chat}"] == ids[chat]

    async def test_a_sent_card_becomes_the_tickets_card(self, store: Store) -> None:
        def _turn20(turn: Turn) -> Any:
            ticket = turn.add_handoff(
                question="Wie helpt mij?", lang="nl", context={}, area="Noord", topic="dept-x"
            )
            turn.add_outbox(
                "message",
                {"text": "Ticket", "card": True},
                key=f"card:{ticket}",
                channel="telegram",
                chat_id="-100",
                ticket=ticket,
            )
            turn.add_outbox("message", {"text": "Je ticket"}, key="reply", ticket=ticket)
            return ticket

        ticket = await store.run_turn(ALICE, _turn20)
        now = datetime.now(UTC)
        card, reply = await store.due_outbox(now=now)
        assert (card.ticket, reply.ticket) == (ticket, ticket)
        await store.outbox_sent(reply.id, {"message_id": 11}, now=now)  # no card: changes nothing
        assert await store.ticket_by_card("1001", 11) is None
        await store.outbox_sent(card.id, {"message_id": 42}, now=now)

        record = await store.handoff(ticket)
        assert record is not None
        assert (record.card_chat_id, record.card_message_id) == ("-100", 42)
        assert (record.area, record.topic, record.updated_at) == (
            "Noord",
            "dept-x",
            record.created_at,
        )
        assert await store.ticket_by_card("-100", 42) == ticket
        assert await store.ticket_by_card("-100", 43) is None

    async def test_seen_update_records_an_update_once(self, store: Store) -> None:
        def _turn21(turn: Turn) -> Any:
            assert turn.seen_update(500) is False
            assert turn.seen_update(500) is True  # within the same turn, too

        await store.run_turn(ALICE, _turn21)

        def _turn22(turn: Turn) -> Any:
            assert turn.seen_update(500) is True

        await store.run_turn(ALICE, _turn22)

        def _turn23(turn: Turn) -> Any:
            assert turn.seen_update(500) is False  # update ids are per channel

        await store.run_turn(ChatKey("terminal", "x"), _turn23)
        with pytest.raises(RuntimeError):

            def _turn24(turn: Turn) -> Any:
                assert turn.seen_update(501) is False
                raise RuntimeError("crash before the commit")

            await store.run_turn(ALICE, _turn24)

        def _turn25(turn: Turn) -> Any:
            assert turn.seen_update(2**40) is False

        await store.run_turn(BOB, _turn25)

        def _turn26(turn: Turn) -> Any:
            assert turn.seen_update(501) is False  # the rolled-back turn left nothing

        await store.run_turn(ALICE, _turn26)

    async def test_ticket_status_changes_write_events_in_order(self, store: Store) -> None:
        def _turn27(turn: Turn) -> Any:
            assert turn.latest_handoff() is None
            ticket = turn.add_handoff(question="Subsidie?", lang="nl", context={"a": 1})
            latest = turn.latest_handoff()
            assert latest is not None
            assert (latest.ticket, latest.status, latest.area) == (ticket, "open", None)
            return ticket

        ticket = await store.run_turn(ALICE, _turn27)

        async with store.ticket(ticket) as tx:
            assert (tx.record.ticket, tx.record.status) == (ticket, "open")
            assert (tx.record.channel, tx.record.external_id) == ("telegram", "1001")
            tx.set_status("claimed", officer="Ada")
            tx.add_outbox(
                "edit_text", {"text": "geclaimd"}, key="card-edit:1", channel="t", chat_id="-1"
            )
        claimed = await store.handoff(ticket)
        assert claimed is not None
        assert (claimed.status, claimed.assigned_officer) == ("claimed", "Ada")
        assert claimed.claimed_at is not None and claimed.updated_at == claimed.claimed_at

        async with store.ticket(ticket) as tx:
            assert tx.record == claimed
            tx.set_status("answered", officer="Ada", answer="Ja, via het fonds.")
            tx.set_status("closed", officer="Ada")
        with pytest.raises(RuntimeError):
            async with store.ticket(ticket) as tx:
                tx.set_status("open", officer="Bert")
                tx.add_outbox("message", {"text": "weg"}, key="gone", channel="t", chat_id="1")
                raise RuntimeError("the officer's action failed")
        closed = await store.handoff(ticket)
        assert closed is not None
        assert (closed.status, closed.answer) == ("closed", "Ja, via het fonds.")
        assert closed.answered_at is not None and closed.closed_at is not None

        async with store.ticket(ticket) as tx:
            tx.set_status("open")
        reopened = await store.handoff(ticket)
        assert reopened is not None
        assert (reopened.status, reopened.closed_at, reopened.assigned_officer) == (
            "open",
            None,
            "Ada",
        )

        events = await store.ticket_events(ticket)
        assert [(e.kind, e.actor, e.text) for e in events] == [
            ("created", None, "Subsidie?"),
            ("claimed", "Ada", None),
            ("answered", "Ada", "Ja, via het fonds."),
            ("closed", "Ada", None),
            ("reopened", None, None),
        ]
        assert all(e.created_at.tzinfo == UTC for e in events)
        assert [(r.key, r.ticket) for r in await store.outbox_rows()] == [("card-edit:1", ticket)]
        assert await store.ticket_events(ticket + 1) == []

        with pytest.raises(StoreError, match=f"no ticket {ticket + 1}"):
            async with store.ticket(ticket + 1):
                pass
        with pytest.raises(ValueError, match="status"):
            async with store.ticket(ticket) as tx:
                tx.set_status("lost")

    async def test_followup_adds_an_event_and_may_reopen(self, store: Store) -> None:
        ticket = await store.run_turn(
            ALICE, lambda turn: turn.add_handoff(question="Vraag", lang="nl", context={})
        )
        other = await store.run_turn(
            BOB, lambda turn: turn.add_handoff(question="Van Bob", lang="en", context={})
        )
        async with store.ticket(ticket) as tx:
            tx.set_status("closed", officer="Ada", answer="Klaar.")

        def _turn30(turn: Turn) -> Any:
            kept = turn.ticket_followup(ticket, "Nog iets", reopen=False)
            assert kept.status == "closed"
            record = turn.ticket_followup(ticket, "En dit", reopen=True)
            assert (record.ticket, record.status, record.closed_at) == (ticket, "open", None)
            assert record.updated_at is not None
            with pytest.raises(StoreError, match=f"no ticket {other}"):
                turn.ticket_followup(other, "niet van mij", reopen=False)
            return record

        record = await store.run_turn(ALICE, _turn30)
        assert [(e.kind, e.text) for e in await store.ticket_events(ticket)] == [
            ("created", "Vraag"),
            ("closed", "Klaar."),
            ("followup", "Nog iets"),
            ("followup", "En dit"),
            ("reopened", None),
        ]
        assert await store.handoff(ticket) == record
        assert [e.kind for e in await store.ticket_events(other)] == ["created"]

    async def test_officers(self, store: Store) -> None:
        ada = await store.add_officer("Ada", telegram_id=5_000_000_001, password_hash="h1")
        assert (ada.name, ada.role, ada.telegram_id, ada.password_hash) == (
            "Ada",
            "officer",
            5_000_000_001,
            "h1",
        )
        await store.add_officer("Bert", role="editor")
        await store.add_officer("Cor")  # a second officer without a Telegram id
        with pytest.raises(StoreError, match="an officer named 'Ada' already exists"):
            await store.add_officer("Ada")
        with pytest.raises(StoreError, match="telegram id 5000000001 belongs to Ada"):
            await store.add_officer("Dirk", telegram_id=5_000_000_001)
        with pytest.raises(ValueError, match="role"):
            await store.add_officer("Eva", role="admin")

        assert await store.officer_by_telegram(5_000_000_001) == ada
        assert await store.officer_by_telegram(1) is None
        assert await store.officer_by_name("Ada") == ada
        assert await store.officer_by_name("Dirk") is None
        assert [(o.name, o.role) for o in await store.officers()] == [
            ("Ada", "officer"),
            ("Bert", "editor"),
            ("Cor", "officer"),
        ]

    async def test_a_0001_database_upgrades_to_head(self, url: str) -> None:
        await _migrate_to(url, "0001")
        created = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                user = await _scalar_of(
                    conn,
                    insert(User)
                    .values(channel="telegram", external_id="1001", lang="nl", created_at=created)
                    .returning(User.id),
                )
                conversation = await _scalar_of(
                    conn,
                    insert(Conversation)
                    .values(user_id=user, state={"kept": True}, version=3, updated_at=created)
                    .returning(Conversation.id),
                )
                old_ticket = await _scalar_of(
                    conn,
                    insert(Handoff)
                    .values(
                        conversation_id=conversation,
                        status="open",
                        lang="nl",
                        question="Oud",
                        context={},
                        created_at=created,
                    )
                    .returning(Handoff.id),
                )
        finally:
            await engine.dispose()
        assert await _scalar(url, "SELECT version_num FROM alembic_version") == "0001"

        store = await Store.open(url)
        try:
            assert await _scalar(url, "SELECT version_num FROM alembic_version") == HEAD
            old = await store.handoff(old_ticket)
            assert old is not None
            assert (old.question, old.created_at, old.card_chat_id, old.updated_at) == (
                "Oud",
                created,
                None,
                None,
            )
            async with store.ticket(old_ticket) as tx:
                tx.set_status("claimed", officer="Ada")

            def _turn31(turn: Turn) -> Any:
                assert (turn.state, turn.version) == ({"kept": True}, 3)
                latest = turn.latest_handoff()
                assert latest is not None and latest.status == "claimed"
                turn.add_outbox("message", {"text": "na de upgrade"}, key="k")
                return turn.add_handoff(question="Nieuw", lang="nl", context={})

            ticket = await store.run_turn(ALICE, _turn31)
            assert ticket > old_ticket
            assert [e.kind for e in await store.ticket_events(old_ticket)] == ["claimed"]
            assert len(await store.outbox_rows()) == 1
        finally:
            await store.close()

    async def test_the_migrations_match_the_models(self, store: Store, url: str) -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(
                    lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
                )
        finally:
            await engine.dispose()
        assert diff == []


async def _scalar_of(conn: AsyncConnection, statement: Executable) -> int:
    """The one integer a statement returns (here: the id of an inserted row)."""
    return int((await conn.execute(statement)).scalar_one())


async def _migrate_to(url: str, revision: str) -> None:
    """Bring an empty database to `revision` only, as an older loketbot would have left it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade)
    finally:
        await engine.dispose()


async def test_unreachable_database_gives_store_error_without_password() -> None:
    url = "postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:1/x"
    with pytest.raises(StoreError) as caught:
        await Store.open(url)
    assert not isinstance(caught.value, SQLAlchemyError)
    message = str(caught.value)
    assert "127.0.0.1:1/x" in message
    assert "s3cret-pw" not in message
