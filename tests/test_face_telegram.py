"""Issue 13 end to end: `loketbot serve` against the Bot API emulator, teams and officers set
up with the CLI, on SQLite and PostgreSQL. A buurtfeest in Charlois reaches team Zuid's group
and Anna; after Anna answers she is the initiator's fixed contact and gets the next ticket;
a handover to Bram is told to the initiator once. A ticket past its promise reminds, escalates
and tells the initiator, each exactly once, although the bot is killed (-9) with each of those
messages committed but not yet delivered."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from loketbot.store.models import Handoff
from loketbot.store.store import Store

from .botapi.emulator import BotApiEmulator
from .conftest import ROOT
from .dbs import BACKENDS, database
from .serving import TOKEN, Bot, free_port, press

pytestmark = pytest.mark.slow

SHARED = -100500
ZUID = -100600
ANNA, BRAM, CORA = 601, 602, 603
USER = 7101


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "loketbot.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(params=BACKENDS)
async def bot(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bot]:
    async with database(request.param, tmp_path) as url, BotApiEmulator(token=TOKEN) as emu:
        env = {
            **os.environ,
            "LOKETBOT_TELEGRAM_TOKEN": TOKEN,
            "LOKETBOT_TELEGRAM_API_URL": emu.base_url,
            "LOKETBOT_DATABASE_URL": url,
            "LOKETBOT_OFFICERS_CHAT_ID": str(SHARED),
            "LOKETBOT_WEB_PORT": str(free_port()),
            "LOKETBOT_EXPECTED_ANSWER": "2 werkdagen",
            "LOKETBOT_FLOOD_LIMIT": "off",
            "LOKETBOT_DEADLINE_CHECK_SECONDS": "0.2",
        }
        # In the order a municipality would: teams, then officers with areas and themes.
        cli(env, "teams", "add", "Zuid", "--chat-id", str(ZUID), "--area", "Charlois,Feijenoord")
        cli(
            env, "officers", "add", "Anna de Vries", "--telegram-id", str(ANNA), "--team", "Zuid",
            "--area", "Feijenoord", "--area", "Charlois", "--theme", "vergunningen",
            "--public-role", "wijknetwerker",
        )  # fmt: skip
        cli(env, "officers", "add", "Bram Jansen", "--telegram-id", str(BRAM), "--team", "Zuid")
        cli(env, "officers", "add", "Cora", "--role", "coordinator", "--telegram-id", str(CORA))
        assert "Zuid\tgroup -100600" in cli(env, "teams", "list")
        running = Bot(emu, env)
        await running.start()
        try:
            yield running
        finally:
            if running.proc is not None and running.proc.poll() is None:
                assert running.stop() == 0, "serve did not stop cleanly on SIGTERM"


async def new_ticket(bot: Bot, question: str) -> None:
    emu = bot.emu
    before = len(emu.sent(USER))
    await emu.user_sends(USER, question)
    await emu.wait_for(lambda: len(emu.sent(USER)) > before)
    reply = emu.sent(USER)[-1]
    if "Hoort dit bij je eerdere vraag" in reply["text"]:
        await press(emu, USER, reply, "Nee, het is een nieuwe vraag")
        await emu.wait_for(lambda: len(emu.sent(USER)) > before + 1)
    asked = len(emu.sent(USER))
    await emu.user_sends(USER, "/mens")
    await emu.wait_for(
        lambda: any("Wil je nog iets toevoegen" in m["text"] for m in emu.sent(USER)[asked:])
    )
    ask = next(m for m in emu.sent(USER)[asked:] if "Wil je nog iets toevoegen" in m["text"])
    await press(emu, USER, ask, "Niets toevoegen")


async def test_charlois_buurtfeest_reaches_zuid_and_anna_contact_and_handover(bot: Bot) -> None:
    emu = bot.emu
    await emu.user_sends(USER, "/menu")
    menu = await emu.wait_for_message(USER, "Waar gaat je vraag over")
    await press(emu, USER, menu, "Contact met de gemeente")
    area = await emu.wait_for_message(USER, "In welk gebied")
    await press(emu, USER, area, "Charlois")
    about = await emu.wait_for_message(USER, "Waar gaat je vraag vooral over")
    await press(emu, USER, about, "Vergunning of regels")
    await emu.wait_for_message(USER, "Voor een initiatief in Charlois")
    await new_ticket(bot, "we willen een buurtfeest, mag dat?")
    await emu.wait_for_message(USER, "Je ticketnummer is 1")

    card = await emu.wait_for_message(ZUID, "Ticket 1")
    assert "Waarom hier: gebied Charlois (uit de vragenlijst)" in card["text"]
    assert "team Zuid" in card["text"] and "Bij: Anna de Vries" in card["text"]
    assert not [m for m in emu.sent(SHARED) if "Ticket 1" in m["text"]]
    await emu.wait_for_message(ANNA, "ticket 1")

    await emu.user_sends(ZUID, "Een melding is genoeg.", user_id=ANNA, reply_to=card["message_id"])
    answer = await emu.wait_for_message(USER, "Een melding is genoeg.")
    await press(emu, USER, answer, "Ja, dit helpt")
    await emu.wait_for_message(USER, "Je vaste contactpersoon is Anna (wijknetwerker, Feijenoord)")
    await emu.wait_for_message(USER, "Fijn, dank je")
    await emu.user_sends(USER, "/contact")
    try:
        await emu.wait_for(
            lambda: sum("vaste contactpersoon is Anna" in m["text"] for m in emu.sent(USER)) == 2
        )
    except AssertionError:
        print(bot.stderr()[-3000:])
        print([m["text"][:80] for m in emu.sent(USER)])
        raise

    await new_ticket(bot, "hoe richt ik een stichting op?")
    await emu.wait_for_message(USER, "Je ticketnummer is 2")
    second = await emu.wait_for_message(ZUID, "Ticket 2")
    assert "Bij: Anna de Vries (vaste contactpersoon)" in second["text"]

    moved = cli(bot.env, "officers", "handover", "Anna de Vries", "Bram Jansen")
    assert moved.startswith("1 initiative(s) and 1 open ticket(s)")
    await emu.wait_for_message(USER, "nieuwe vaste contactpersoon: Bram")
    cli(bot.env, "officers", "handover", "Anna de Vries", "Bram Jansen")  # nothing left to move
    await emu.user_sends(USER, "/contact")
    await emu.wait_for_message(USER, "Je vaste contactpersoon is Bram")
    assert sum("nieuwe vaste contactpersoon" in m["text"] for m in emu.sent(USER)) == 1


async def ticket_times(url: str, number: int, **values: datetime) -> dict[str, object]:
    """Move a ticket's deadlines (the bot reads the real clock) and read its marks back."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if values:
                await conn.execute(update(Handoff).where(Handoff.id == number).values(**values))
            row = (
                await conn.execute(
                    select(Handoff.due_at, Handoff.reminded_at, Handoff.escalated_at).where(
                        Handoff.id == number
                    )
                )
            ).one()
        return dict(row._mapping)
    finally:
        await engine.dispose()


async def kill_with_sends_held(bot: Bot, marked: str, chat: int, text: str) -> None:
    """Wait until the deadline watcher has committed `marked` and its messages wait at the Bot
    API, then kill -9, drop what was in flight and start again."""
    url = bot.env["LOKETBOT_DATABASE_URL"]
    for _ in range(200):
        if (await ticket_times(url, 1))[marked] is not None and bot.emu.held():
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"{marked} never committed with a send in flight\n{bot.stderr()}")
    bot.kill()
    assert count(bot.emu, chat, text) == 0, "the kill came after delivery: nothing to prove"
    await asyncio.sleep(0.5)  # the emulator notices the closed connection
    bot.emu.release()  # the killed bot's held sends never reach "Telegram"
    await bot.start()


def count(emu: BotApiEmulator, chat: int, text: str) -> int:
    return sum(text in m["text"] for m in emu.sent(chat))


async def test_overdue_ticket_reminds_escalates_and_tells_once_across_kill_9(bot: Bot) -> None:
    emu, url = bot.emu, bot.env["LOKETBOT_DATABASE_URL"]
    await new_ticket(bot, "we willen een buurtfeest in Charlois, mag dat?")
    await emu.wait_for_message(USER, "Je ticketnummer is 1")
    await emu.wait_for_message(ZUID, "Ticket 1")
    due = (await ticket_times(url, 1))["due_at"]
    assert isinstance(due, datetime)
    due = due.replace(tzinfo=due.tzinfo or UTC)
    # Two working days of 9-17 office time: 16 office hours, ending in office hours on a
    # weekday (the exact moment per weekday and holiday is test_face.py's, on fixed dates).
    local = due.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert local.weekday() < 5 and time(9) < local.time() <= time(17), local
    assert due - datetime.now(UTC) >= timedelta(hours=16), "2 working days, not 2 hours"

    past = datetime.now(UTC) - timedelta(minutes=1)
    emu.hold("sendMessage")
    await ticket_times(url, 1, remind_at=past)
    await kill_with_sends_held(bot, "reminded_at", ZUID, "⏰")
    await emu.wait_for_message(ANNA, "⏰ Ticket 1", timeout=30)
    await emu.wait_for_message(ZUID, "⏰ Ticket 1")

    emu.hold("sendMessage")
    await ticket_times(url, 1, due_at=past)
    await kill_with_sends_held(bot, "escalated_at", USER, "Het duurt langer")
    await emu.wait_for_message(USER, "Het duurt langer dan beloofd", timeout=30)
    await emu.wait_for_message(ZUID, "⚠️ Ticket 1")
    await emu.wait_for_message(CORA, "⚠️ Ticket 1")

    await asyncio.sleep(2.0)  # five more looks by the watcher: give a repeat every chance
    assert [count(emu, ANNA, "⏰"), count(emu, ZUID, "⏰")] == [1, 1]
    assert [count(emu, ZUID, "⚠️"), count(emu, CORA, "⚠️")] == [1, 1]
    assert count(emu, USER, "Het duurt langer dan beloofd") == 1
    assert count(emu, SHARED, "Ticket 1") == 0, "a team's ticket stays out of the shared group"


async def test_an_officer_passes_a_ticket_on_in_the_group_with_a_note(bot: Bot) -> None:
    emu = bot.emu
    await new_ticket(bot, "we willen een buurtfeest in Charlois, mag dat?")
    card = await emu.wait_for_message(ZUID, "Ticket 1")
    await emu.user_sends(ZUID, "/doorzetten 1 Piet: weet jij dit?", user_id=ANNA)
    await emu.wait_for_message(ZUID, "⛔ Geen collega of team 'Piet'")
    await emu.user_sends(ZUID, "/doorzetten 1 bram: kent deze straat", user_id=ANNA)
    await emu.wait_for_message(ZUID, "➡️ Ticket 1 is doorgegeven aan Bram Jansen")
    await emu.wait_for_message(BRAM, "zette ticket 1 naar je door.\nNotitie: kent deze straat")
    await emu.wait_for(
        lambda: (
            "Bij: Bram Jansen"
            in next(m["text"] for m in emu.sent(ZUID) if m["message_id"] == card["message_id"])
        )
    )
    # To the coordinator's team-less shared group: the card moves there.
    cli(bot.env, "teams", "add", "Centrum")
    await emu.user_sends(ZUID, "/doorzetten 1 team Centrum", user_id=BRAM)
    await emu.wait_for_message(SHARED, "Ticket 1")
    store = await Store.open(bot.env["LOKETBOT_DATABASE_URL"])
    try:
        passed = [e.text for e in await store.ticket_events(1) if e.kind == "passed"]
    finally:
        await store.close()
    assert passed == ["naar Bram Jansen: kent deze straat", "naar team Centrum"]
