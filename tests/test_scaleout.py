"""Two `loketbot serve --webhook-url` instances on one PostgreSQL, updates spread over both.

The test plays the load balancer: it takes the updates from the Bot API emulator and posts each
to one instance or the other, a burst of one chat to both at once. Every conversation must stay
consistent: each message answered once, every turn saved once, each card and answer sent once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from .botapi.emulator import BotApiEmulator
from .dbs import PG_ENV, database
from .players import FIRST_USER, OFFICER, OFFICERS, Users, answer_cards, settle, tally
from .serving import TOKEN, Bot, serve_env, wait_http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
]

SECRET = "scale-out-secret"


class Balancer:
    """Posts every update to the next instance; retries elsewhere on 503 or a closed port."""

    def __init__(self, emu: BotApiEmulator, hooks: list[str]) -> None:
        self.emu = emu
        self.hooks = hooks
        self.posted: Counter[str] = Counter()
        self._next = itertools.cycle(range(len(hooks)))
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                for update in self.emu.take_updates():
                    task = asyncio.create_task(self._post(http, update, next(self._next)))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                await asyncio.sleep(0.005)
            await asyncio.gather(*self._tasks)

    async def _post(self, http: aiohttp.ClientSession, update: dict[str, Any], first: int) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for attempt in range(50):
            hook = self.hooks[(first + attempt) % len(self.hooks)]
            try:
                async with http.post(hook, json=update, headers=headers) as response:
                    if response.status == 200:
                        self.posted[hook] += 1
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"update {update['update_id']} never accepted")


async def consistency(url: str) -> list[str]:
    """Conversations whose saved-state count differs from their number of incoming messages."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT c.id, c.version, count(m.id) AS turns FROM conversations c "
            "LEFT JOIN messages m ON m.conversation_id = c.id AND m.direction = 'in' "
            "GROUP BY c.id, c.version"
        )
    finally:
        await conn.close()
    return [
        f"{r['id']}: version {r['version']}, {r['turns']} turns"
        for r in rows
        if r["version"] != r["turns"]
    ]


async def test_two_webhook_instances_on_one_postgresql(tmp_path: Path) -> None:
    async with database("postgresql", tmp_path) as url, BotApiEmulator(token=TOKEN) as emu:
        bots: list[Bot] = []
        hooks: list[str] = []
        for _ in range(2):
            env = serve_env(
                emu, url, LOKETBOT_OFFICERS_CHAT_ID=str(OFFICERS), LOKETBOT_WEBHOOK_SECRET=SECRET
            )
            hook = f"http://127.0.0.1:{env['LOKETBOT_WEB_PORT']}/telegram/hook"
            bots.append(Bot(emu, env, ["--webhook-url", hook]))
            hooks.append(hook)
        added = await asyncio.to_thread(bots[0].officers_add, "Olga", "--telegram-id", str(OFFICER))
        assert added.returncode == 0, added.stderr
        for bot in bots:
            await bot.start()
            await wait_http(f"http://127.0.0.1:{bot.env['LOKETBOT_WEB_PORT']}/healthz")
        emu.forget_webhook()  # from here on the balancer delivers
        balancer = Balancer(emu, hooks)
        stop = asyncio.Event()
        delivering = asyncio.create_task(balancer.run(stop))
        officer = asyncio.create_task(answer_cards(emu, stop))
        try:
            users = Users(emu)
            burster, handed = FIRST_USER - 1, FIRST_USER - 2
            await users.burst(burster)
            tickets = {handed: await users.hand_off(handed)}
            chats = {burster: burster, handed: handed}
            jobs = {}
            for n in range(40):
                chat = FIRST_USER + n
                chats[chat] = handed if n % 2 else burster
                # A burst posts one chat's three messages to both instances at once.
                jobs[chat] = users.hand_off(chat) if n % 2 else users.burst(chat)
            results = await asyncio.wait_for(asyncio.gather(*jobs.values()), timeout=180)
            tickets.update({chat: t for chat, t in zip(jobs, results, strict=True) if t})
            await settle(emu, chats, tickets)
        finally:
            stop.set()
            await delivering
            await officer
            for bot in bots:
                code = await asyncio.to_thread(bot.stop)
                assert code == 0, bot.stderr()[-2000:]
        result = tally(emu, chats, tickets)
        print(f"two instances, posts {dict(balancer.posted)}: {result.report()}")
        assert all(balancer.posted[hook] > 50 for hook in hooks), balancer.posted
        assert not result.lost and not result.doubled, result.report()
        assert not await consistency(url)
        for bot in bots:
            assert "Traceback" not in bot.stderr(), bot.stderr()[-3000:]
