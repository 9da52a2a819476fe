"""The flood limit, and logs without what people typed or secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from loketbot.cli import QUIET_LOGGERS, configure_logging
from loketbot.config import load_settings
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Conversation, Inbound, Outcome
from loketbot.conversation.texts import say
from loketbot.errors import ConfigError
from loketbot.service.desk import Desk
from loketbot.service.tickets import Tickets
from loketbot.store.store import ChatKey, Store
from tests.conftest import deliver_all, hand_off

FLOODER = ChatKey("telegram", "666")
OTHER = ChatKey("telegram", "777")
SECRET = "zebrapad-xq7"
TOKEN = "123456789:AAFakeTokenForLoggingTests_abcdefghij"


class Counting(Dialogue):
    """The core, counting the steps it takes per chat (by the text of the message)."""

    steps: list[str]

    def step(self, conv: Conversation, inbound: Inbound) -> Outcome:
        self.steps.append(inbound.text or f"[{inbound.button}]")
        return super().step(conv, inbound)


async def test_a_flooding_chat_gets_one_notice_and_others_their_answers(
    store: Store, dialogue: Dialogue
) -> None:
    core = Counting(dialogue.knowledge, dialogue.matcher)
    core.steps = []
    desk = Desk(store, core)  # the default limit: 8 per 10 seconds, 30 per minute
    burst = [
        desk.handle(FLOODER, Inbound(text=f"spam {n}"))
        if n % 5
        else desk.handle(FLOODER, Inbound(button="k:all"))  # button presses count too
        for n in range(50)
    ]
    other = desk.handle(OTHER, Inbound(text="wat is een stichting?"))
    results = await asyncio.gather(*burst[:25], other, *burst[25:])

    assert len([s for s in core.steps if s != "wat is een stichting?"]) == 8
    assert "STICHTING" in results[25][0].text  # the other chat's answer
    notice = say("flood", "nl")
    assert [replies for replies in results if replies and replies[0].text == notice] == [
        [results[8][0]]
    ]
    assert sum(1 for replies in results if not replies) == 50 - 8 - 1  # dropped quietly
    rows = await store.outbox_rows(chat_id=FLOODER.external_id)
    assert [r.payload["text"] for r in rows].count(notice) == 1
    transcript = await store.transcript(FLOODER, limit=100)
    assert len([m for m in transcript if m.direction == "in"]) == 8  # refused ones are not kept
    assert next(m.text for m in await store.transcript(OTHER)) == "wat is een stichting?"


async def test_an_update_retried_after_an_outage_is_not_counted_again(
    store: Store, dialogue: Dialogue
) -> None:
    """The intake retries an update whose turn the database refused; the limit counted it once."""
    desk = Desk(store, dialogue, flood_limit="3 per minute")
    for update_id in (1, 2):
        assert await desk.handle(FLOODER, Inbound(text="/help"), update_id=update_id)
    for _ in range(10):  # the third message, offered again and again while the database is away
        await desk.handle(FLOODER, Inbound(text="wat is een stichting?"), update_id=3)
    # Its turn ran once (the store ignores repeats); nothing was refused, so no notice.
    transcript = await store.transcript(FLOODER, limit=100)
    assert [m.text for m in transcript if m.direction == "in"][-1] == "wat is een stichting?"
    assert say("flood", "nl") not in [r.payload["text"] for r in await store.outbox_rows()]
    # A new message is the fourth in the minute: refused, with the notice.
    assert (await desk.handle(FLOODER, Inbound(text="nog een"), update_id=4))[0].text == say(
        "flood", "nl"
    )


async def test_the_terminal_has_no_flood_limit(store: Store, dialogue: Dialogue) -> None:
    desk = Desk(store, dialogue, flood_limit=None)
    for n in range(12):
        assert await desk.handle(ChatKey("terminal", "local"), Inbound(text=f"/help {n}"))


def test_flood_and_retention_settings_are_checked() -> None:
    settings = load_settings({"LOKETBOT_FLOOD_LIMIT": "5/second; 20/minute"})
    assert settings.flood_limit == "5/second; 20/minute" and settings.retention_days == 365
    assert load_settings({"LOKETBOT_FLOOD_LIMIT": "off"}).flood_limit == "off"
    with pytest.raises(ConfigError, match="LOKETBOT_FLOOD_LIMIT"):
        load_settings({"LOKETBOT_FLOOD_LIMIT": "lots"})
    for days in ("0", "drie", "-1"):
        with pytest.raises(ConfigError, match="LOKETBOT_RETENTION_DAYS"):
            load_settings({"LOKETBOT_RETENTION_DAYS": days})


@pytest.fixture
def library_levels() -> Iterator[None]:
    """configure_logging changes library loggers for the process: put them back after."""
    saved = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
async def test_logs_hold_no_message_text_and_no_token(
    level: int,
    store: Store,
    dialogue: Dialogue,
    caplog: pytest.LogCaptureFixture,
    library_levels: None,
) -> None:
    configure_logging(verbose=level == logging.DEBUG)
    caplog.set_level(level)
    desk = Desk(store, dialogue, officers_chat="-100", flood_limit="3 per minute")
    tickets = Tickets(store, officers_chat="-100", knowledge=lambda: dialogue.knowledge)
    anna = await store.add_officer("anna", role="officer", telegram_id=42)
    key = ChatKey("telegram", "1001")
    ticket = await hand_off(desk, key, f"hier is {TOKEN}, {SECRET}?", SECRET)
    await tickets.answer(ticket, anna, f"Antwoord over {SECRET}")
    await deliver_all(store)
    for _ in range(3):  # over the limit: a notice, then dropped
        await desk.handle(key, Inbound(text=f"{SECRET} {TOKEN}"))
    await desk.handle(key, Inbound(text="/vergeet"), update_id=1)
    # What a PTB request log looks like: the library loggers are capped above it.
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x", TOKEN)

    assert f"handoff {ticket} created" in caplog.text  # the log is there, and useful
    assert "flood" in caplog.text
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


def test_the_telegram_rate_setting_is_checked() -> None:
    assert load_settings({}).telegram_max_rate == 30.0  # Telegram's documented limit
    assert load_settings({"LOKETBOT_TELEGRAM_MAX_RATE": "0"}).telegram_max_rate == 0.0
    for wrong in ("fast", "-1", "nan"):
        with pytest.raises(ConfigError, match="LOKETBOT_TELEGRAM_MAX_RATE"):
            load_settings({"LOKETBOT_TELEGRAM_MAX_RATE": wrong})
