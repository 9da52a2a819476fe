"""The console beside a terminal chat (`loketbot chat --console`): one process, one store."""

from __future__ import annotations

__all__ = ["serve_console"]

import contextlib
import logging
import sys
from pathlib import Path

from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from loketbot.config import Settings
from loketbot.content.bundle import Content
from loketbot.errors import ConfigError
from loketbot.service.desk import Desk
from loketbot.service.reload import Reloader
from loketbot.service.sender import Sender
from loketbot.service.tickets import Tickets
from loketbot.store.store import Store
from loketbot.web.app import create_app, session_key
from loketbot.web.context import Console

log = logging.getLogger(__name__)


def _chat_session_key(settings: Settings) -> bytes:
    """LOKETBOT_SESSION_KEY, or for a chat on a SQLite file a key kept beside that file, so a
    restart does not log everyone out; the log says so once (not the chat: INFO)."""
    if settings.session_key:
        return session_key(settings.session_key)
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return session_key("")
    path = Path(f"{url.database}.session-key")
    with contextlib.suppress(OSError, ValueError):
        kept = path.read_text(encoding="ascii").strip()
        Fernet(kept.encode())  # a damaged file is replaced below
        log.info("console sessions use the key kept in %s", path)
        return kept.encode()
    key = Fernet.generate_key()
    try:
        path.touch(mode=0o600)
        path.write_text(key.decode() + "\n", encoding="ascii")
    except OSError:
        return session_key("")
    log.info("LOKETBOT_SESSION_KEY is not set: console sessions use a key kept in %s", path)
    return key


async def serve_console(
    settings: Settings, store: Store, desk: Desk, content: Content, sender: Sender
) -> web.AppRunner:
    """Start the web console on LOKETBOT_WEB_HOST:PORT; its URL goes to stderr."""
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
        session_key=_chat_session_key(settings),
        cookie_secure=settings.cookie_secure,
        trusted_proxies=settings.trusted_proxies,
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
