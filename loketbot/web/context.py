"""What the console's views need, in one object stored on the aiohttp app."""

from __future__ import annotations

__all__ = ["CONSOLE", "Console"]

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from loketbot.errors import Problem
from loketbot.service.reload import Reloader
from loketbot.service.tickets import Tickets
from loketbot.store.store import Store


@dataclass
class Console:
    """The running bot's parts the console works with."""

    store: Store
    tickets: Tickets
    reloader: Reloader
    session_key: bytes  # a Fernet key (32 url-safe base64 bytes) for the encrypted cookie
    cookie_secure: bool  # True behind https: the session cookie is then sent over https only
    on_commit: Callable[[], None] = lambda: None  # wakes the outbox sender after an action
    # Proxies (addresses or networks) whose X-Forwarded-For names the client, for the login
    # throttle's per-address count; without them every user behind a proxy shares its address.
    trusted_proxies: tuple[str, ...] = ()

    def shown(self, problems: list[Problem]) -> list[Problem]:
        """Name files relative to the folder above knowledge/, as `kb check` users know them."""
        base = str(self.reloader.knowledge_dir.resolve().parent) + "/"
        return [
            Problem(p.file.removeprefix(base), p.line, p.message.replace(base, ""))
            for p in problems
        ]


CONSOLE: web.AppKey[Console] = web.AppKey("console")
