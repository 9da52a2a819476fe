""" "typing…" in Telegram: shown when a reply takes a while, left out when the bot is busy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from loketbot.channels import telegram as channel_module
from loketbot.channels.telegram import TYPING_BUSY, TelegramChannel
from loketbot.conversation.state import Inbound


class SlowDesk:
    """Takes `seconds` per turn, as a desk waiting for a busy database would."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def handle(self, key: Any, inbound: Inbound, **_: Any) -> list[Any]:
        await asyncio.sleep(self.seconds)
        return []


def _channel(seconds: float, shown: list[int], monkeypatch: pytest.MonkeyPatch) -> TelegramChannel:
    channel = TelegramChannel(
        token="1:test",
        base_url="http://127.0.0.1:9/bot",
        desk=SlowDesk(seconds),  # type: ignore[arg-type]
        tickets=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        officers_chat=None,
    )

    async def send_typing(chat_id: int) -> None:
        shown.append(chat_id)

    monkeypatch.setattr(channel, "_send_typing", send_typing)
    return channel


def _update(channel: TelegramChannel, chat: int) -> Update:
    data = {
        "update_id": chat,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "A"},
            "text": "hallo",
        },
    }
    return Update.de_json(data, channel.application.bot)


async def test_a_slow_reply_shows_typing_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "TYPING_AFTER", 0.1)
    shown: list[int] = []
    channel = _channel(0.35, shown, monkeypatch)
    await channel._turn(_update(channel, 7), Inbound(text="hallo"))
    assert shown == [7]


async def test_a_quick_reply_shows_no_typing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "TYPING_AFTER", 0.2)
    shown: list[int] = []
    channel = _channel(0.02, shown, monkeypatch)
    await channel._turn(_update(channel, 7), Inbound(text="hallo"))
    await asyncio.sleep(0.3)
    assert shown == []


async def test_a_busy_bot_sends_replies_not_typing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_module, "TYPING_AFTER", 0.1)
    shown: list[int] = []
    channel = _channel(0.35, shown, monkeypatch)
    chats = range(100, 100 + TYPING_BUSY + 2)
    await asyncio.gather(*(channel._turn(_update(channel, c), Inbound(text="x")) for c in chats))
    assert shown == []
    await channel._turn(_update(channel, 7), Inbound(text="hallo"))  # the queue is gone
    assert shown == [7]
