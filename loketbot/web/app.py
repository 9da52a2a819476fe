"""create_app(): the aiohttp application served next to the bot, in the same process.

Without a Console it serves /healthz (and the webhook); with one it is also the web console:
login, the officers' queue and tickets, the editor pages and the stats.
"""

from __future__ import annotations

__all__ = ["WebhookRoute", "create_app", "session_key"]

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from loketbot.errors import ConfigError, StoreError
from loketbot.store.store import Store
from loketbot.web import headers
from loketbot.web.context import CONSOLE, Console

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookRoute:
    """Where Telegram posts updates, the secret it must send, and who takes the update."""

    path: str
    secret: str
    feed: Callable[[dict[str, Any]], Awaitable[bool]]  # False: not stored, send it again


STORE: web.AppKey[Store] = web.AppKey("store")
VERSION: web.AppKey[Callable[[], str]] = web.AppKey("version")
WEBHOOK: web.AppKey[WebhookRoute] = web.AppKey("webhook")
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")  # the console's users work in Rotterdam


def create_app(
    *,
    store: Store,
    version: Callable[[], str],
    webhook: WebhookRoute | None = None,
    console: Console | None = None,
) -> web.Application:
    """The web application: /healthz always, the webhook path when given, the console when given."""
    app = web.Application(client_max_size=1024**2)
    app[STORE] = store
    app[VERSION] = version
    headers.setup(app)
    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        app[WEBHOOK] = webhook
        app.router.add_post(webhook.path, telegram_webhook)
    if console is not None:
        _add_console(app, console, webhook)
    return app


def session_key(configured: str) -> bytes:
    """The Fernet key for session cookies: LOKETBOT_SESSION_KEY, or a fresh one for this process."""
    from cryptography.fernet import Fernet

    if configured:
        try:
            Fernet(configured.encode())
        except ValueError:
            raise ConfigError(
                "LOKETBOT_SESSION_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
        return configured.encode()
    log.warning(
        "LOKETBOT_SESSION_KEY is not set: using a random key, so console logins "
        "will not survive a restart"
    )
    return Fernet.generate_key()


def local_time(moment: datetime, fmt: str = "%d-%m %H:%M") -> str:
    """A stored UTC time as officers read it: in Dutch local time."""
    return moment.astimezone(LOCAL_ZONE).strftime(fmt)


def _add_console(app: web.Application, console: Console, webhook: WebhookRoute | None) -> None:
    """Templates, sessions and every console route."""
    import aiohttp_jinja2
    import jinja2

    from loketbot.web import auth, coordination, editor, insight, officer

    app[CONSOLE] = console
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("loketbot.web", "templates"),
        autoescape=True,
    )
    env.filters["local"] = local_time
    auth.setup(app, session_key=console.session_key, cookie_secure=console.cookie_secure)
    if webhook is not None:
        # Telegram posts without a session; the secret token guards that path instead.
        app[auth.PUBLIC].add(webhook.path)
    officer.setup(app)
    editor.setup(app)
    insight.setup(app)
    coordination.setup(app)


async def healthz(request: web.Request) -> web.Response:
    """200 with the knowledge version when the database answers, 503 when it does not."""
    try:
        await request.app[STORE].ping()
    except StoreError as exc:
        # Anyone may ask: the driver, host, port and database name go to the log only.
        log.warning("healthz: %s", exc)
        return web.json_response({"ok": False, "database": "unavailable"}, status=503)
    return web.json_response({"ok": True, "database": "ok", "knowledge": request.app[VERSION]()})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Take one update from Telegram; refuse anything without the right secret token."""
    route = request.app[WEBHOOK]
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), route.secret.encode()):
        log.warning("webhook request without the right secret token refused")
        raise web.HTTPForbidden(text="forbidden")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested thousands deep, which no update is.
        raise web.HTTPBadRequest(text="expected a JSON update") from None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        # Update ids are positive integers; anything else is stored nowhere and not retried.
        raise web.HTTPBadRequest(text="expected a JSON update with an integer update_id")
    if not await route.feed(data):
        # The turn could not be stored; Telegram delivers the update again later.
        raise web.HTTPServiceUnavailable(text="temporarily unavailable, retry later")
    return web.Response(text="ok")
