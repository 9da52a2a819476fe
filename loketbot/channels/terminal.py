"""Terminal channel: lines from stdin (a TTY or a pipe) in, replies with numbered options out."""

from __future__ import annotations

__all__ = ["render", "run_terminal"]

import asyncio
import sys
from typing import TextIO

from ..config import Settings
from ..content import load_content
from ..desk import Desk
from ..dialogue import Dialogue, Inbound, Reply
from ..store import ChatKey, Store

STOP = frozenset({"/stop", "/quit", "/exit"})


def render(reply: Reply) -> str:
    """A reply as terminal text: buttons become numbered options."""
    lines = [reply.text]
    if reply.buttons:
        lines.append("")
        lines += [f"  {n}. {button.label}" for n, button in enumerate(reply.buttons, 1)]
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
    try:
        desk = Desk(store, Dialogue(content.knowledge, flows=content.flows))
        key = ChatKey("terminal", user)
        interactive = source.isatty()
        if lang is not None:
            await desk.handle(key, Inbound(text=f"/taal {lang}"))
        if interactive:
            print("loketbot: typ je vraag (of /stop om te stoppen).\n", file=out)
        while True:
            if interactive:
                print("> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(source.readline)
            if not line:
                break
            if line.strip().lower() in STOP:
                break
            if not line.strip():
                continue
            # A typed number or label is resolved by the core against what it offered last,
            # so options still work after a restart.
            for reply in await desk.handle(key, Inbound(text=line)):
                print(render(reply), file=out, end="\n\n", flush=True)
    finally:
        await store.close()
    return 0
