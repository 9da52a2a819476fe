"""Terminal channel: lines from stdin (a TTY or a pipe) in, replies with numbered options out.

Replies go through the outbox like every channel's, so an officer's answer reaches a terminal
user too: it is printed after the next line typed, or while waiting at the prompt. With
`console=True` the web console runs in the same process, so one can answer one's own tickets.
"""

from __future__ import annotations

__all__ = ["render", "run_terminal"]

import asyncio
import contextlib
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from ..config import Settings
from ..content import Content, load_content
from ..conversation import Inbound
from ..desk import Desk
from ..dialogue import Dialogue
from ..errors import ConfigError
from ..outbox import Sender
from ..store import ChatKey, OutboxRecord, Store

if TYPE_CHECKING:
    from aiohttp import web

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
    console: bool = False,
) -> int:
    """Converse until EOF or /stop (serving the web console too if asked); the exit code."""
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
        store, dialogue, reopen_window=timedelta(days=settings.reopen_days), flood_limit=None
    )
    key = ChatKey(CHANNEL, user)
    interactive = source.isatty()
    try:
        runner = await _serve_console(settings, store, desk, content, sender) if console else None
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


async def _serve_console(
    settings: Settings, store: Store, desk: Desk, content: Content, sender: Sender
) -> web.AppRunner:
    """Start the web console on LOKETBOT_WEB_HOST:PORT; its URL goes to stderr."""
    from aiohttp import web

    from ..reload import Reloader
    from ..tickets import Tickets
    from ..web.app import create_app, session_key
    from ..web.context import Console

    reloader = Reloader(
        settings.knowledge_dir,
        settings.flows_dir,
        content,
        install=desk.use,
        expected_answer=settings.expected_answer,
        retention_days=settings.retention_days,
    )
    tickets = Tickets(store, officers_chat=None, knowledge=lambda: desk.dialogue.knowledge)
    console = Console(
        store=store,
        tickets=tickets,
        reloader=reloader,
        session_key=session_key(settings.session_key),
        cookie_secure=settings.cookie_secure,
        on_commit=sender.wake,
    )
    app = create_app(store=store, version=lambda: desk.dialogue.knowledge.version, console=console)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot serve the console on {settings.web_host}:{settings.web_port}: "
            f"{exc.strerror or exc} (set LOKETBOT_WEB_PORT to a free port)"
        ) from exc
    host = settings.web_host if settings.web_host not in ("0.0.0.0", "::") else "localhost"
    print(f"console: http://{host}:{settings.web_port}/", file=sys.stderr, flush=True)
    return runner


async def _watch(sender: Sender, user: str) -> None:
    """While the user thinks, show answers that officers send."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        with contextlib.suppress(Exception):
            await sender.run_once(channel=CHANNEL, chat_id=user)
