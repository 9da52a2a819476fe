"""The database away for ten seconds, and a reload of broken knowledge, end to end.

The bot keeps running through both: users hear there is a temporary problem and get their
answers afterwards; a broken file leaves the running knowledge in place and says file:line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from .conftest import ROOT
from .dbs import PG_ENV
from .players import FIRST_USER, Users, answer_cards, running_bot, tally
from .serving import wait_http
from .tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

OUTAGE = 10.0
NOTICE = "Er is even een storing"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def healthz(port: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


async def outage_run(
    bot: Any, users: Users, go_down: Callable[[], Awaitable[None]], come_back: Callable[[], Any]
) -> tuple[dict[int, int], dict[int, int]]:
    """A ticket before, ten users and an officer's answer during the outage; all checked after."""
    emu = bot.emu
    stop = asyncio.Event()
    officer = asyncio.create_task(answer_cards(emu, stop))
    asker, handed = FIRST_USER - 1, FIRST_USER - 2
    await users.ask(asker)
    # The ticket is made before the outage; its card goes out, the officer answers during it.
    tickets = {handed: await users.hand_off(handed)}
    waiting = FIRST_USER - 3
    before = emu.sent_count(waiting)
    offer = await users.say(waiting, "wie wint zondag de wedstrijd?", "Zal ik je vraag doorsturen")
    extra = await users.press(waiting, offer, "Ja, stuur door", "Wil je nog iets toevoegen")
    await go_down()
    chats = {asker: asker}
    jobs = []
    for n in range(10):
        chats[FIRST_USER + n] = asker
        jobs.append(asyncio.create_task(users.ask(FIRST_USER + n)))
    # The handed-off user confirms during the outage: the card must still reach the officers.
    confirm = asyncio.create_task(users.press(waiting, extra, "Niets toevoegen", "ticketnummer is"))
    for n in range(10):
        await users.wait(FIRST_USER + n, NOTICE, after=0)
    assert bot.proc.poll() is None, "the bot kept running"
    await asyncio.sleep(max(0.0, OUTAGE - 6.0))
    await come_back()
    await asyncio.wait_for(asyncio.gather(*jobs), timeout=120)
    done = await asyncio.wait_for(confirm, timeout=120)
    found = re.search(r"ticketnummer is (\d+)", done["text"])
    assert found
    tickets[waiting] = int(found.group(1))
    await emu.wait_for(
        lambda: any(f"Antwoord-{tickets[waiting]}:" in m["text"] for m in emu.sent(waiting)),
        timeout=60,
    )
    # offer, add?, ticket, the offer to fill in the initiative's profile (issue 13), notice,
    # answer, and who the fixed contact is now (sent after the answer): each exactly once
    with contextlib.suppress(AssertionError):
        await emu.wait_for(lambda: len(emu.sent(waiting)) - before >= 7, timeout=30)
    await asyncio.sleep(2.0)  # give a duplicate every chance to show up
    stop.set()
    await officer
    assert len(emu.sent(waiting)) - before == 7
    return chats, tickets


def check(bot: Any, chats: dict[int, int], tickets: dict[int, int]) -> None:
    emu = bot.emu
    for chat in chats:
        if chat != FIRST_USER - 1:  # each gets one notice, beside the answers it waited for
            assert sum(NOTICE in m["text"] for m in emu.sent(chat)) == 1, emu.sent(chat)
    result = tally(emu, {c: r for c, r in chats.items()}, tickets)
    # The notice is the one message more than the reference chat got.
    notices = [f"{chat}: {NOTICE!r}"[:60] for chat in chats if chat != FIRST_USER - 1]
    doubled = [d for d in result.doubled if not any(d.startswith(n[:20]) for n in notices)]
    assert not result.lost and not doubled, result.report()
    assert "Traceback" not in bot.stderr(), bot.stderr()[-3000:]


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set")
async def test_postgresql_away_for_ten_seconds(tmp_path: Path) -> None:
    target = make_url(os.environ[PG_ENV])
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()

    def via(url: str) -> str:
        return make_url(url).set(port=proxy.port).render_as_string(hide_password=False)

    async with running_bot("postgresql", tmp_path, via=via) as bot:
        port = bot.env["LOKETBOT_WEB_PORT"]
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        health: list[int] = []

        async def down() -> None:
            await proxy.cut()

        async def up() -> None:
            health.append(await healthz(port))
            await proxy.start()

        chats, tickets = await outage_run(bot, Users(bot.emu), down, up)
        assert health == [503], "healthz says the database is away"
        assert await healthz(port) == 200
        check(bot, chats, tickets)


async def test_sqlite_locked_for_ten_seconds(tmp_path: Path) -> None:
    async with running_bot("sqlite", tmp_path) as bot:
        path = make_url(bot.env["LOKETBOT_DATABASE_URL"]).database
        assert path
        locker = sqlite3.connect(path, isolation_level=None)

        async def down() -> None:
            # Another process (a backup, a migration) holds the write lock.
            locker.execute("BEGIN EXCLUSIVE")

        async def up() -> None:
            locker.execute("ROLLBACK")

        chats, tickets = await outage_run(bot, Users(bot.emu), down, up)
        locker.close()
        check(bot, chats, tickets)


BROKEN_ENTRY = """
  - id: topic-broken
    kind: topic
    title: {nl: Kapot}
"""


async def editor_page(port: str, path: str) -> str:
    """Log in as the editor and fetch `path`."""
    base = f"http://127.0.0.1:{port}"
    # unsafe=True: keep cookies from an IP address (127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/login") as response:
            token = CSRF.search(await response.text())
        assert token
        form = {"csrf": token.group(1), "name": "Eddy", "password": "geheim-genoeg-123"}
        async with http.post(f"{base}/login", data={**form, "next": ""}) as response:
            assert response.status == 200, await response.text()
        async with http.get(f"{base}{path}") as response:
            return await response.text()


async def test_reload_of_a_broken_file_keeps_serving_and_says_where(tmp_path: Path) -> None:
    knowledge, flows = tmp_path / "knowledge", tmp_path / "flows"
    shutil.copytree(ROOT / "knowledge", knowledge)
    shutil.copytree(ROOT / "flows", flows)
    env = {"LOKETBOT_KNOWLEDGE_DIR": str(knowledge), "LOKETBOT_FLOWS_DIR": str(flows)}
    async with running_bot("sqlite", tmp_path, **env) as bot:
        added = bot.officers_add(
            "Eddy", "--role", "editor", "--password-stdin", stdin="geheim-genoeg-123\n"
        )
        assert added.returncode == 0, added.stderr
        users = Users(bot.emu)
        port = bot.env["LOKETBOT_WEB_PORT"]
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        target = sorted(knowledge.glob("*.yaml"))[0]
        lines = len(target.read_text().splitlines())
        target.write_text(target.read_text() + BROKEN_ENTRY)
        flow = sorted(flows.glob("*.yaml"))[0]
        flow.write_text(flow.read_text().replace("steps:", "stepz:", 1))
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGHUP)
        knowledge_line = rf"reload refused: \S*{target.name}:{lines + 2}: "
        flow_line = rf"reload refused: \S*{flow.name}:\d+: "
        # One log line a problem, written one after the other: wait for both.
        await bot.emu.wait_for(
            lambda: all(re.search(x, bot.stderr()) for x in (knowledge_line, flow_line)),
            timeout=30,
        )
        # The running knowledge keeps answering, menu and flows included.
        await users.say(FIRST_USER, "wat is een stichting?", "Een stichting is")
        await users.say(FIRST_USER, "/menu", "Waar gaat je vraag over")
        page = await editor_page(port, "/editor/entries")
        assert "De kennisbank op schijf heeft fouten" in page
        assert f"knowledge/{target.name}:{lines + 2}" in page
        assert f"flows/{flow.name}:" in page
        # Mended and reloaded: the banner goes, the bot still answers.
        shutil.copy(ROOT / "knowledge" / target.name, target)
        shutil.copy(ROOT / "flows" / flow.name, flow)
        bot.proc.send_signal(signal.SIGHUP)
        await bot.emu.wait_for(lambda: "knowledge reloaded" in bot.stderr(), timeout=30)
        assert "De kennisbank op schijf heeft fouten" not in await editor_page(
            port, "/editor/entries"
        )
        await users.say(FIRST_USER + 1, "wat is een stichting?", "Een stichting is")
