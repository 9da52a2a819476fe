"""create_app(): the aiohttp application served next to the bot, in the same process."""

from __future__ import annotations

__all__ = ["WebhookRoute", "create_app"]

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..errors import StoreError
from ..store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookRoute:
    """Where Telegram posts updates, the secret it must send, and who takes the update."""

    path: str
    secret: str
    feed: Callable[[dict[str, Any]], Awaitable[None]]


STORE: web.AppKey[Store] = web.AppKey("store")
VERSION: web.AppKey[Callable[[], str]] = web.AppKey("version")
WEBHOOK: web.AppKey[WebhookRoute] = web.AppKey("webhook")


def create_app(
    *, store: Store, version: Callable[[], str], webhook: WebhookRoute | None = None
) -> web.Application:
    """The web application: /healthz always, the webhook path when given."""
    app = web.Application(client_max_size=1024**2)
    app[STORE] = store
    app[VERSION] = version
    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        app[WEBHOOK] = webhook
        app.router.add_post(webhook.path, telegram_webhook)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 with the knowledge version when the database answers, 503 when it does not."""
    try:
        await request.app[STORE].ping()
    except StoreError as exc:
        return web.json_response({"ok": False, "database": str(exc)}, status=503)
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
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="expected a JSON update") from None
    if not isinstance(data, dict) or "update_id" not in data:
        raise web.HTTPBadRequest(text="expected a JSON update")
    await route.feed(data)
    return web.Response(text="ok")
