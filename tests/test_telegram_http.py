"""PTB's requests over aiohttp: what Telegram receives, and failures as PTB's own errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from loketbot.channels.telegram_http import AiohttpRequest

from .serving import free_port

TOKEN = "1:test"
ME = {"id": 1, "is_bot": True, "first_name": "loketbot", "username": "loketbot"}


@pytest.fixture
async def api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A fake Bot API: getMe answers, sendMessage records its form, the rest misbehaves."""
    received: list[dict[str, Any]] = []

    async def call(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = dict(await request.post())
        received.append({"method": method, **form})
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        if method == "sendMessage":
            message = {"message_id": 5, "date": 0, "chat": {"id": 7, "type": "private"}}
            return web.json_response({"ok": True, "result": {**message, "text": form["text"]}})
        if method == "getChat":  # slow
            await asyncio.sleep(2)
            return web.json_response({"ok": True, "result": {}})
        if method == "sendChatAction":
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry",
                "parameters": {"retry_after": 3},
            }
            return web.json_response(body, status=429)
        body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        return web.json_response(body, status=400)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", call)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/bot", received
    finally:
        await runner.cleanup()


async def _bot(base_url: str, **timeouts: float) -> Bot:
    bot = Bot(TOKEN, base_url=base_url, request=AiohttpRequest(**timeouts))
    await bot.initialize()
    return bot


async def test_a_message_arrives_as_sent(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, received = api
    bot = await _bot(base_url)
    try:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ja 👍", callback_data="fb:1")]])
        sent = await bot.send_message(
            7, "<b>Stichting</b> & café", parse_mode="HTML", reply_markup=markup
        )
        assert sent.message_id == 5
    finally:
        await bot.shutdown()
    [_, call] = received  # getMe, then sendMessage
    assert call["text"] == "<b>Stichting</b> & café"
    assert call["parse_mode"] == "HTML"
    keyboard = json.loads(call["reply_markup"])["inline_keyboard"]
    assert keyboard == [[{"text": "Ja 👍", "callback_data": "fb:1"}]]


async def test_failures_become_ptb_errors(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = api
    bot = await _bot(base_url, read_timeout=0.3)
    try:
        with pytest.raises(TimedOut):
            await bot.get_chat(7)
        with pytest.raises(RetryAfter, match="Retry in 3"):
            await bot.send_chat_action(7, "typing")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.delete_message(7, 1)
    finally:
        await bot.shutdown()


async def test_an_unreachable_api_is_a_network_error() -> None:
    request = AiohttpRequest(connect_timeout=1)
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await request.post(f"http://127.0.0.1:{free_port()}/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    with pytest.raises(ValueError, match="connections"):
        AiohttpRequest(connections=0)
