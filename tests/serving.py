"""Running the real `loketbot serve` process against the Bot API emulator, for e2e tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

import aiohttp

from .botapi.emulator import BotApiEmulator
from .conftest import ROOT

TOKEN = "4242:test-token"
# systemd waits 90 s and docker stop 10 s before SIGKILL; serve gives the updates in hand
# 5 s (server.py), so 20 s is a stop that hangs, not a slow machine.
STOP_SECONDS = 20


def serve_env(emu: BotApiEmulator, url: str, **extra: str) -> dict[str, str]:
    """The environment of a `loketbot serve` talking to `emu`, on database `url`."""
    return {
        **os.environ,
        "LOKETBOT_TELEGRAM_TOKEN": TOKEN,
        "LOKETBOT_TELEGRAM_API_URL": emu.base_url,
        "LOKETBOT_DATABASE_URL": url,
        "LOKETBOT_WEB_PORT": str(free_port()),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start `loketbot ARGS` (Popen returns at once); its log goes to a file, never a full pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "loketbot.cli", *args], env=env, cwd=ROOT, stderr=log
    )


@dataclass
class Bot:
    """The emulator plus a running `loketbot serve` process, restartable."""

    emu: BotApiEmulator
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] = field(default_factory=tempfile.TemporaryFile)

    async def start(self) -> None:
        before = len(self.emu.calls("getUpdates")) + len(self.emu.calls("setWebhook"))
        self.proc = spawn(["serve", *self.args], self.env, self.log)
        try:
            await self.emu.wait_for(
                lambda: (
                    len(self.emu.calls("getUpdates")) + len(self.emu.calls("setWebhook")) > before
                ),
                timeout=30,
            )
        except AssertionError:
            raise AssertionError(self.stderr()) from None

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: nothing gets to clean up
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, as systemd and docker stop send it; the exit code. A bot still running
        after STOP_SECONDS is killed, and the failure shows the end of its log."""
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            tail = "\n".join(self.stderr().splitlines()[-40:])
            raise AssertionError(
                f"serve still running {STOP_SECONDS} s after SIGTERM:\n{tail}"
            ) from None

    def officers_add(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loketbot.cli", "officers", "add", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            input=stdin,
            check=False,
        )


def button(message: dict[str, Any], label: str) -> str:
    """The callback data of the button whose label starts with `label`."""
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for key in row:
            if key["text"].startswith(label):
                return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} in {markup}")


async def press(
    emu: BotApiEmulator, chat: int, message: dict[str, Any], label: str, **kw: Any
) -> None:
    await emu.user_presses(chat, message["message_id"], button(message, label), **kw)


async def wait_http(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up")
