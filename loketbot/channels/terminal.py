"""Terminal channel: lines from stdin (a TTY or a pipe) in, replies with numbered options out.

Replies go through the outbox like every channel's, so an officer's answer reaches a terminal
user too: it is printed after the next line typed, or while waiting at the prompt. Given
`console` (web.serve.serve_console), the web console runs in the same process, so one can
answer one's own tickets.
"""

from __future__ import annotations

__all__ = ["StartConsole", "render", "run_terminal"]

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from loketbot.config import Settings
from loketbot.content.bundle import Content, load_content
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Inbound
from loketbot.service.answertime import parse_promise
from loketbot.service.desk import Desk
from loketbot.service.sender import Sender
from loketbot.store.store import ChatKey, OutboxRecord, Store

if TYPE_CHECKING:
    from aiohttp import web

# Starts the web console beside the chat (given by the entry point: channels never import web).
StartConsole = Callable[[Settings, Store, Desk, Content, Sender], Awaitable["web.AppRunner"]]

CHANNEL = "terminal"
STOP = frozenset({"/stop", "/quit", "/exit"})
POLL_SECONDS = 1.0


def render(text: str, buttons: list[Any]) -> str:
    """A reply as terminal text: buttons become numbered options."""
    lines = [text]
    if buttons:
        lines.append("")
        lines += [f"  {n}. {label}" for n, (label, _) in enumerate(buttons, 1)]
    return "\n".join(lines)


async def run_terminal(
    settings: Settings,
    *,
    lang: str | None = None,
    user: str = "local",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    console: StartConsole | None = None,
) -> int:
    """Converse until EOF or /stop (serving the web console too if given); the exit code."""
    source = stdin or sys.stdin
    out = stdout or sys.stdout
    content = load_content(settings.knowledge_dir, settings.flows_dir)
    store = await Store.open(settings.database_url)

    async def show(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        if row.kind == "message":
            print(render(str(payload["text"]), list(payload.get("buttons") or [])), file=out)
            print(file=out, flush=True)
        return {}

    sender = Sender(store, {CHANNEL: show})
    dialogue = Dialogue(
        content.knowledge,
        flows=content.flows,
        expected_answer=settings.expected_answer,
        retention_days=settings.retention_days,
    )
    # One person at a keyboard (or a pipe of test lines): no flood limit.
    desk = Desk(
        store,
        dialogue,
        reopen_window=timedelta(days=settings.reopen_days),
        flood_limit=None,
        promise=parse_promise(settings.expected_answer),
    )
    key = ChatKey(CHANNEL, user)
    interactive = source.isatty()
    try:
        runner = await console(settings, store, desk, content, sender) if console else None
    except BaseException:
        await store.close()
        raise
    # A terminal chat has one sender: what a killed predecessor had leased is shown again now.
    while await sender.run_once(channel=CHANNEL, chat_id=user, reclaim=True):
        pass
    watcher = asyncio.create_task(_watch(sender, user))
    try:
        if lang is not None:
            await desk.handle(key, Inbound(text=f"/taal {lang}"))
        await sender.run_once(channel=CHANNEL, chat_id=user)
        if interactive:
            print("loketbot: typ je vraag (of /stop om te stoppen).\n", file=out)
        while True:
            if interactive:
                print("> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(source.readline)
            if not line or line.strip().lower() in STOP:
                break
            if not line.strip():
                continue
            await desk.handle(key, Inbound(text=line))
            # Print this turn's replies (and anything an officer sent meanwhile), in order.
            while await sender.run_once(channel=CHANNEL, chat_id=user):
                pass
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if runner is not None:
            await runner.cleanup()
        await store.close()
    return 0


async def _watch(sender: Sender, user: str) -> None:
    """While the user thinks, show answers that officers send."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        with contextlib.suppress(Exception):
            await sender.run_once(channel=CHANNEL, chat_id=user)
