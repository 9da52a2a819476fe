"""`loketbot purge`: what is older than the retention period goes, what is newer or open stays."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from loketbot.cli import main
from loketbot.config import Settings, load_settings
from loketbot.conversation.dialogue import Dialogue, Inbound
from loketbot.service.desk import Desk
from loketbot.service.retention import purge
from loketbot.service.tickets import Tickets
from loketbot.store.models import Base, Conversation, User, UTCDateTime, utcnow
from loketbot.store.privacy import ANONYMOUS, EXPIRED
from loketbot.store.store import ChatKey, Store
from loketbot.store.suggestions import add_suggestion
from tests.conftest import KNOWLEDGE, deliver_all, hand_off
from tests.dbs import BACKENDS, database
from tests.test_privacy import rows_containing

GROUP = "-100"
CLOSED = ChatKey("telegram", "2001")  # an old ticket, closed long ago
OPEN = ChatKey("telegram", "2003")  # an old ticket still open
IDLE = ChatKey("telegram", "2004")  # asked one thing long ago, never came back
RECENT = ChatKey("telegram", "2002")  # a ticket closed last week


@pytest.fixture(params=BACKENDS)
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database(request.param, tmp_path) as url:
        yield url


def settings_for(url: str, tmp_path: Path) -> Settings:
    env = {"LOKETBOT_DATABASE_URL": url, "LOKETBOT_KNOWLEDGE_DIR": str(KNOWLEDGE)}
    return load_settings(env, toml_path=tmp_path / "absent.toml")


async def backdate_everything(store: Store, days: int) -> None:
    """Move every time in the database `days` back, as if it all happened then."""
    then = utcnow() - timedelta(days=days)
    async with store.writing("backdate") as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, UTCDateTime):
                    await session.execute(
                        update(table).where(column.is_not(None)).values({column.name: then})
                    )


async def run_purge(url: str, tmp_path: Path, *, dry_run: bool = False) -> str:
    out = io.StringIO()
    assert await purge(settings_for(url, tmp_path), days=365, dry_run=dry_run, out=out) == 0
    return out.getvalue()


async def test_purge_deletes_what_is_old_and_keeps_what_is_new_or_open(
    url: str, tmp_path: Path, dialogue: Dialogue
) -> None:
    store = await Store.open(url)
    try:
        desk = Desk(store, dialogue, officers_chat=GROUP, flood_limit=None)
        tickets = Tickets(store, officers_chat=GROUP, knowledge=lambda: dialogue.knowledge)
        anna = await store.add_officer("anna", role="officer", telegram_id=42)
        old = await hand_off(desk, CLOSED, "wie wint de wedstrijd oud-geheim-1?", "oud-geheim-1")
        await tickets.answer(old, anna, "Geen idee, oud-geheim-1.")
        await tickets.close(old, anna)
        await add_suggestion(store, old, "oud-geheim-1", "geen idee")
        still_open = await hand_off(desk, OPEN, "wie wint de wedstrijd oud-open-3?", "geen")
        await desk.handle(IDLE, Inbound(text="wat is een stichting oud-idle-4?"), update_id=7)
        await desk.handle(IDLE, Inbound(button="fb:1:legal-form-stichting"), update_id=8)
        await deliver_all(store)
        await backdate_everything(store, days=400)
        new = await hand_off(desk, RECENT, "wie wint de wedstrijd nieuw-geheim-2?", "nieuw")
        await tickets.close(new, anna)
        await deliver_all(store)
        old_before = await rows_containing(store, "oud-geheim-1")
        new_before = await rows_containing(store, "nieuw-geheim-2")

        report = await run_purge(url, tmp_path, dry_run=True)
        assert report.startswith("dry run, nothing changed")
        # The closed ticket's chat has nothing left once the ticket is anonymous.
        assert "1 tickets anonymised" in report and "2 inactive chats removed" in report
        assert await rows_containing(store, "oud-geheim-1") == old_before

        report = await run_purge(url, tmp_path)
        assert report.startswith("purged (older than 365 days):")
        assert "1 tickets anonymised" in report and "2 processed updates" in report

        assert await rows_containing(store, "oud-geheim-1") == {}
        assert await rows_containing(store, "oud-idle-4") == {}
        assert await rows_containing(store, "nieuw-geheim-2") == new_before
        # The open ticket keeps its question for the officer; the chat around it is gone.
        assert set(await rows_containing(store, "oud-open-3")) <= {
            "handoffs.question",
            "handoffs.context",
            "handoff_events.text",
        }
        closed = await store.handoff(old)
        assert closed is not None
        assert (closed.status, closed.question, closed.answer) == ("closed", EXPIRED, EXPIRED)
        assert closed.channel == ANONYMOUS.channel and closed.closed_at is not None
        opened = await store.handoff(still_open)
        assert opened is not None and opened.external_id == OPEN.external_id
        # The card in the officers' group is edited to the anonymous version.
        (edit,) = [r for r in await store.outbox_rows(status="pending") if r.kind == "edit_text"]
        assert (edit.chat_id, edit.ticket) == (GROUP, old) and EXPIRED in edit.payload["text"]
        async with store.reading("count chats") as session:
            users = set((await session.scalars(select(User.external_id))).all())
            states = (
                await session.scalars(select(func.count()).where(Conversation.state.is_not(None)))
            ).one()
        assert IDLE.external_id not in users  # not even the chat id is left
        assert CLOSED.external_id not in users
        assert {OPEN.external_id, RECENT.external_id} <= users
        assert states == 1  # only the recent chat still has a conversation state

        again = await run_purge(url, tmp_path)
        assert "0 messages" in again and "0 tickets anonymised" in again
    finally:
        await store.close()


def test_purge_refuses_less_than_a_day(capsys: pytest.CaptureFixture[str]) -> None:
    for days in ("0", "-3", "een"):
        with pytest.raises(SystemExit) as exit_info:
            main(["purge", "--older-than", days])
        assert exit_info.value.code == 2
        assert "at least 1" in capsys.readouterr().err


def test_purge_command_dry_run_uses_the_retention_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOKETBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("LOKETBOT_RETENTION_DAYS", "30")
    monkeypatch.setenv("LOKETBOT_CONFIG", str(tmp_path / "absent.toml"))
    assert main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run, nothing changed; older than 30 days: 0 messages")
