"""`loketbot serve`: the Telegram bot, the outbox sender and the web app in one process."""

from __future__ import annotations

__all__ = ["serve"]

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from telegram.error import InvalidToken, TelegramError

from loketbot.channels.telegram import TelegramChannel, split_text
from loketbot.config import Settings
from loketbot.content.bundle import load_content
from loketbot.conversation.dialogue import Dialogue
from loketbot.errors import ConfigError
from loketbot.service.answertime import parse_promise
from loketbot.service.deadlines import Deadlines
from loketbot.service.desk import Desk, FindArea
from loketbot.service.reload import Reloader
from loketbot.service.sender import Deliver, Sender
from loketbot.service.tickets import Tickets
from loketbot.store.store import Store
from loketbot.web.app import WebhookRoute, create_app, session_key
from loketbot.web.context import Console

log = logging.getLogger(__name__)

# What a stop waits for the updates in hand, and for console requests under way. Updates not
# done by then are not confirmed: Telegram hands them out again after the restart, and the
# ones already stored are skipped. docker stop sends SIGKILL after 10 s, systemd after 90 s.
STOP_GRACE_SECONDS = 5.0
# A shutdown step slower than this is logged, to tell which one holds a stop up.
SLOW_STEP_SECONDS = 1.0


def check_settings(settings: Settings, webhook_url: str | None) -> None:
    """Fail before opening anything when the configuration cannot work."""
    if not settings.telegram_token:
        raise ConfigError(
            "LOKETBOT_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set the token "
            "it gives in LOKETBOT_TELEGRAM_TOKEN (or in loketbot.toml)"
        )
    if webhook_url is not None:
        if not webhook_url.startswith("https://") and not webhook_url.startswith("http://"):
            raise ConfigError(
                f"--webhook-url must be a URL like https://host/path, not {webhook_url!r}"
            )
        if not settings.webhook_secret:
            raise ConfigError(
                "webhook mode needs LOKETBOT_WEBHOOK_SECRET: Telegram sends it with every update "
                "so the bot can refuse anything else (1-256 characters: A-Z, a-z, 0-9, _ and -)"
            )


async def serve(
    settings: Settings, *, webhook_url: str | None = None, find_area: FindArea | None = None
) -> int:
    """Run until SIGINT or SIGTERM; returns the exit code. `find_area` names the Rotterdam
    area a question mentions, for routing tickets."""
    check_settings(settings, webhook_url)
    if (
        webhook_url is not None
        and webhook_url.startswith("https://")
        and not settings.cookie_secure
    ):
        # Served behind https (the webhook says so), yet the session cookie may go over http.
        log.warning(
            "LOKETBOT_COOKIE_SECURE is not set although the bot is reached over https: set it to "
            "true so the console's session cookie is only sent over https"
        )
    key = session_key(settings.session_key)
    content = load_content(settings.knowledge_dir, settings.flows_dir)
    store = await Store.open(settings.database_url)
    officers_chat = settings.officers_chat_id or None
    deliverers: dict[str, Deliver] = {}
    sender = Sender(store, deliverers)
    promise = parse_promise(settings.expected_answer)
    desk = Desk(
        store,
        Dialogue(
            content.knowledge,
            flows=content.flows,
            expected_answer=settings.expected_answer,
            retention_days=settings.retention_days,
        ),
        officers_chat=officers_chat,
        flood_limit=settings.flood_limit,
        reopen_window=timedelta(days=settings.reopen_days),
        splitters={"telegram": split_text},
        on_commit=sender.wake,
        find_area=find_area,
        promise=promise,
    )
    tickets = Tickets(
        store,
        officers_chat=officers_chat,
        knowledge=lambda: desk.dialogue.knowledge,
        splitters={"telegram": split_text},
    )
    channel = TelegramChannel(
        token=settings.telegram_token,
        base_url=settings.telegram_api_url,
        desk=desk,
        tickets=tickets,
        store=store,
        officers_chat=officers_chat,
        max_rate=settings.telegram_max_rate,
    )
    deliverers["telegram"] = channel.deliver
    application = channel.application
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloader = Reloader(
        settings.knowledge_dir,
        settings.flows_dir,
        content,
        install=desk.use,
        expected_answer=settings.expected_answer,
        retention_days=settings.retention_days,
    )
    reloading: set[asyncio.Task[object]] = set()

    def reload_from_disk() -> None:
        # `kill -HUP` after editing the files by hand; refusals are logged with file:line.
        task = asyncio.ensure_future(asyncio.to_thread(reloader.reload))
        reloading.add(task)
        task.add_done_callback(reloading.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_from_disk)
    runner: web.AppRunner | None = None
    sender_task: asyncio.Task[None] | None = None
    deadlines_task: asyncio.Task[None] | None = None
    poll_task: asyncio.Task[None] | None = None
    try:
        try:
            await application.initialize()
            await channel.set_commands()
        except InvalidToken:
            # PTB's message carries the whole token: say it in our words instead.
            raise ConfigError(
                "Telegram refused LOKETBOT_TELEGRAM_TOKEN: check the token with @BotFather "
                "(/mybots, API Token)"
            ) from None
        except TelegramError as exc:
            raise ConfigError(
                f"cannot talk to the Bot API at start ({type(exc).__name__}); check "
                "LOKETBOT_TELEGRAM_API_URL and the network"
            ) from None
        webhook: WebhookRoute | None = None
        if webhook_url is None:
            await channel.drop_webhook()
        else:
            path = urlsplit(webhook_url).path or "/"
            await channel.register_webhook(webhook_url, settings.webhook_secret)
            webhook = WebhookRoute(path, settings.webhook_secret, channel.feed)
        if webhook is None:
            poll_task = asyncio.create_task(channel.poll(stop))
        console = Console(
            store=store,
            tickets=tickets,
            reloader=reloader,
            session_key=key,
            cookie_secure=settings.cookie_secure,
            trusted_proxies=settings.trusted_proxies,
            on_commit=sender.wake,
        )
        web_app = create_app(
            store=store,
            version=lambda: desk.dialogue.knowledge.version,
            webhook=webhook,
            console=console,
        )
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=STOP_GRACE_SECONDS)
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        sender_task = asyncio.create_task(sender.run())
        if promise is not None:
            deadlines = Deadlines(
                store, promise, officers_chat=officers_chat, on_commit=sender.wake
            )
            deadlines_task = asyncio.create_task(deadlines.run(settings.deadline_check_seconds))
        mode = f"webhook {urlsplit(webhook_url).path}" if webhook_url else "polling"
        log.warning(
            "loketbot serving (%s) on http://%s:%s", mode, settings.web_host, settings.web_port
        )
        await stop.wait()
        log.warning("loketbot stopping")
        if poll_task is not None:
            await _finish_batch(poll_task)
    finally:
        async with _step("polling"):
            if poll_task is not None and not poll_task.done():
                poll_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll_task
        async with _step("background tasks"):
            for task in (deadlines_task, sender_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        async with _step("Bot API connections"):
            with contextlib.suppress(Exception):
                await application.shutdown()
            with contextlib.suppress(Exception):
                await channel.close_requests()
        async with _step("web server"):
            if runner is not None:
                await runner.cleanup()
        async with _step("store"):
            await store.close()
        log.warning("loketbot stopped")
    return 0


async def _finish_batch(poll_task: asyncio.Task[None]) -> None:
    """Let the polling loop finish the updates in hand and confirm them, for a while."""
    done, _ = await asyncio.wait({poll_task}, timeout=STOP_GRACE_SECONDS)
    if not done:
        log.warning(
            "stopping: the updates in hand took over %.0f s; Telegram sends them again "
            "after the restart",
            STOP_GRACE_SECONDS,
        )


@contextlib.asynccontextmanager
async def _step(name: str) -> AsyncIterator[None]:
    """Time one shutdown step: a slow one is named in the log."""
    log.debug("stopping: %s", name)
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        if took > SLOW_STEP_SECONDS:
            log.warning("stopping: %s took %.1f s", name, took)
