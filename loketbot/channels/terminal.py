"""Terminal channel: lines from stdin (a TTY or a pipe) in, replies with numbered options out.

Replies go through the outbox like every channel's, so an officer's answer reaches a terminal
user too: it is printed after the next line typed, or while waiting at the prompt.
"""

from __future__ import annotations

__all__ = ["render", "run_terminal"]

import asyncio
import contextlib
import sys
from datetime import timedelta
from typing import Any, TextIO

from ..config import Settings
from ..content import load_content
from ..conversation import Inbound
from ..desk import Desk
from ..dialogue import Dialogue
from ..outbox import Sender
from ..store import ChatKey, OutboxRecord, Store

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
) -> int:
    """Converse until EOF or /stop; returns the exit code."""
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
        content.knowledge, flows=content.flows, expected_answer=settings.expected_answer
    )
    desk = Desk(store, dialogue, reopen_window=timedelta(days=settings.reopen_days))
    key = ChatKey(CHANNEL, user)
    interactive = source.isatty()
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
        await store.close()
    return 0


async def _watch(sender: Sender, user: str) -> None:
    """While the user thinks, show answers that officers send."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        with contextlib.suppress(Exception):
            await sender.run_once(channel=CHANNEL, chat_id=user)
