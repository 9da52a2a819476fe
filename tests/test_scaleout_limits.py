"""Limits that hold across instances: two `loketbot serve` on one PostgreSQL database.

Wrong passwords spread over both instances lock the name; logging out on one ends the session
on both; a chat that floods both instances is limited once, not once per instance.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from .botapi.emulator import BotApiEmulator
from .dbs import PG_ENV, database
from .serving import TOKEN, Bot, serve_env, wait_http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
]

SECRET = "limits-secret"
PASSWORD = "een-lang-wachtwoord"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """One browser (its own cookie jar) talking to one instance, from one client address."""

    def __init__(self, base: str, address: str, jar: aiohttp.CookieJar | None = None) -> None:
        self.base = base
        # The instances trust 127.0.0.1 as their proxy: X-Forwarded-For names the "client".
        self.headers = {"X-Forwarded-For": address}
        self.http = aiohttp.ClientSession(
            cookie_jar=jar or aiohttp.CookieJar(unsafe=True), headers=self.headers
        )

    async def csrf(self, path: str = "/login") -> str:
        async with self.http.get(self.base + path) as response:
            found = CSRF.search(await response.text())
            assert found, f"no csrf token on {path}"
            return found.group(1)

    async def login(self, name: str, password: str) -> int:
        token = await self.csrf()
        data = {"csrf": token, "name": name, "password": password}
        async with self.http.post(
            self.base + "/login", data=data, allow_redirects=False
        ) as response:
            return response.status

    async def status(self, path: str, cookie: str | None = None) -> int:
        headers = {"Cookie": f"loketbot={cookie}"} if cookie else {}
        async with self.http.get(
            self.base + path, headers=headers, allow_redirects=False
        ) as response:
            return response.status

    def cookie(self) -> str:
        for morsel in self.http.cookie_jar:
            if morsel.key == "loketbot":
                return morsel.value
        raise AssertionError("no session cookie")

    async def close(self) -> None:
        await self.http.close()


async def _turns(url: str, chat: int) -> int:
    """Messages of `chat` the bot handled (stored as incoming), over both instances."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM messages m JOIN conversations c ON m.conversation_id = c.id "
                "JOIN users u ON c.user_id = u.id WHERE u.external_id = $1 AND m.direction = 'in'",
                str(chat),
            )
        )
    finally:
        await conn.close()


async def test_limits_and_sessions_hold_across_two_instances(tmp_path: Path) -> None:
    async with database("postgresql", tmp_path) as url, BotApiEmulator(token=TOKEN) as emu:
        key = Fernet.generate_key().decode()
        bots: list[Bot] = []
        bases: list[str] = []
        for _ in range(2):
            env = serve_env(
                emu,
                url,
                LOKETBOT_WEBHOOK_SECRET=SECRET,
                LOKETBOT_SESSION_KEY=key,
                LOKETBOT_TRUSTED_PROXIES="127.0.0.1",
            )
            base = f"http://127.0.0.1:{env['LOKETBOT_WEB_PORT']}"
            bots.append(Bot(emu, env, ["--webhook-url", base + "/telegram/hook"]))
            bases.append(base)
        for name in ("anna", "bert"):
            added = await asyncio.to_thread(
                bots[0].officers_add, name, "--password-stdin", stdin=PASSWORD + "\n"
            )
            assert added.returncode == 0, added.stderr
        for bot, base in zip(bots, bases, strict=True):
            await bot.start()
            await wait_http(base + "/healthz")
        emu.forget_webhook()  # from here on the test posts the updates itself
        consoles: list[Console] = []
        try:
            # 1. A session made on one instance works on the other, and a logout on the
            #    other ends it on both, even for someone who kept the cookie.
            a = Console(bases[0], "192.0.2.10")
            consoles.append(a)
            assert await a.login("bert", PASSWORD) == 302
            cookie = a.cookie()
            b = Console(bases[1], "192.0.2.10")
            consoles.append(b)
            assert await b.status("/", cookie) == 200
            assert await a.status("/", cookie) == 200
            b.http.cookie_jar.update_cookies({"loketbot": cookie})
            token = await b.csrf("/")
            async with b.http.post(
                bases[1] + "/logout", data={"csrf": token}, allow_redirects=False
            ) as out:
                assert out.status == 302
            assert await a.status("/", cookie) == 302
            assert await b.status("/", cookie) == 302

            # 2. Six wrong passwords for one name, from six addresses, spread over both
            #    instances: the sixth is refused, and so is the right one afterwards.
            statuses = []
            for n in range(6):
                c = Console(bases[n % 2], f"198.51.100.{n + 1}")
                consoles.append(c)
                statuses.append(await c.login("anna", "wrong password"))
            assert statuses == [200] * 5 + [429], statuses
            for base in bases:
                c = Console(base, "203.0.113.7")
                consoles.append(c)
                assert await c.login("anna", PASSWORD) == 429

            # 3. A chat sends 20 messages, alternately to both instances: the limit of
            #    8 per 10 seconds holds over both (each alone would let 8 through).
            chat = 777001
            for n in range(20):
                await emu.user_sends(chat, f"hallo {n}")
            updates = emu.take_updates()
            assert len(updates) == 20
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with aiohttp.ClientSession() as http:
                for n, update in enumerate(updates):
                    hook = bases[n % 2] + "/telegram/hook"
                    async with http.post(hook, json=update, headers=headers) as response:
                        assert response.status == 200
            handled = await _turns(url, chat)
            # At most 8 turns (one more when a refusal's notice is a turn of its own is not
            # counted as incoming), where two per-process limits would have let 16 through.
            assert handled <= 8, handled
            notices = [m for m in emu.sent(chat) if "veel berichten" in str(m.get("text"))]
            assert 1 <= len(notices) <= 2, notices  # at most one per instance
        finally:
            for console in consoles:
                await console.close()
            for bot in bots:
                code = await asyncio.to_thread(bot.stop)
                assert code == 0, bot.stderr()[-2000:]
        for bot in bots:
            log = bot.stderr()
            assert "Traceback" not in log, log[-3000:]
            assert PASSWORD not in log and "hallo 1" not in log
