"""Simulated initiators and an officer, playing over the Bot API emulator, and a tally."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .botapi.emulator import BotApiEmulator
from .dbs import database
from .serving import TOKEN, Bot, button, serve_env

OFFICERS = -100900
OFFICER = 901
FIRST_USER = 20_000
TICKET = re.compile(r"ticketnummer is (\d+)")
CARD = re.compile(r"^Ticket (\d+) ")
ANSWER = "Antwoord-{ticket}: kijk op rotterdam.nl/initiatief"


@dataclass
class Tally:
    """What each chat received, against what it should have received."""

    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)

    def check(self, what: str, count: int) -> None:
        if count == 0:
            self.lost.append(what)
        elif count > 1:
            self.doubled.append(f"{what} x{count}")

    def report(self) -> str:
        return f"lost {len(self.lost)}: {self.lost[:5]}; duplicated {len(self.doubled)}: " + str(
            self.doubled[:5]
        )


class Users:
    """Plays initiators over the emulator: each sends, then waits for the bot's reply."""

    def __init__(self, emu: BotApiEmulator, timeout: float = 120.0) -> None:
        self.emu = emu
        self.timeout = timeout

    async def wait(self, chat: int, contains: str, *, after: int) -> dict[str, Any]:
        """The first bot message after message number `after` that contains `contains`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        seen = after
        while True:
            count = self.emu.sent_count(chat)
            if count > seen:
                for message in self.emu.sent(chat)[after:]:
                    if contains in (message.get("text") or ""):
                        return message
                seen = count
            if loop.time() > deadline:
                texts = [m.get("text", "")[:60] for m in self.emu.sent(chat)]
                raise AssertionError(f"chat {chat}: no {contains!r} after #{after}: {texts}")
            await asyncio.sleep(0.05)

    async def say(self, chat: int, text: str, expect: str) -> dict[str, Any]:
        before = self.emu.sent_count(chat)
        await self.emu.user_sends(chat, text)
        return await self.wait(chat, expect, after=before)

    async def press(
        self, chat: int, message: dict[str, Any], label: str, expect: str
    ) -> dict[str, Any]:
        before = self.emu.sent_count(chat)
        await self.emu.user_presses(chat, message["message_id"], button(message, label))
        return await self.wait(chat, expect, after=before)

    async def ask(self, chat: int) -> None:
        """A user who reads two answers and the menu."""
        await self.say(chat, "/start", "Welkom bij loketbot")
        await self.say(chat, "wat is een stichting?", "Een stichting is")
        await self.say(chat, "/menu", "Waar gaat je vraag over")

    async def burst(self, chat: int) -> None:
        """A user who sends three messages without waiting, then reads the replies."""
        before = self.emu.sent_count(chat)
        for text in ("/start", "wat is een stichting?", "/menu"):
            await self.emu.user_sends(chat, text)
        await self.wait(chat, "Waar gaat je vraag over", after=before)

    async def hand_off(self, chat: int) -> int:
        """A user whose question goes to a liaison officer; returns the ticket number."""
        await self.say(chat, "/start", "Welkom bij loketbot")
        offer = await self.say(chat, "wie wint zondag de wedstrijd?", "Zal ik je vraag doorsturen")
        extra = await self.press(chat, offer, "Ja, stuur door", "Wil je nog iets toevoegen")
        done = await self.press(chat, extra, "Niets toevoegen", "ticketnummer is")
        found = TICKET.search(done["text"])
        assert found, done["text"]
        ticket = int(found.group(1))
        await self.wait(chat, ANSWER.format(ticket=ticket), after=0)
        return ticket


async def answer_cards(emu: BotApiEmulator, stop: asyncio.Event) -> set[int]:
    """The officer: answers every new ticket card by replying to it, once."""
    answered: set[int] = set()
    while not stop.is_set():
        for message in emu.sent(OFFICERS):
            found = CARD.match(message.get("text") or "")
            if found and int(found.group(1)) not in answered:
                ticket = int(found.group(1))
                answered.add(ticket)
                await emu.user_sends(
                    OFFICERS,
                    ANSWER.format(ticket=ticket),
                    user_id=OFFICER,
                    reply_to=message["message_id"],
                )
        await asyncio.sleep(0.1)
    return answered


def shape(text: str) -> str:
    """A message with its numbers blanked: ticket numbers differ from chat to chat."""
    return re.sub(r"\d+", "#", text)


def tally(emu: BotApiEmulator, chats: dict[int, int], tickets: dict[int, int]) -> Tally:
    """Compare what every chat got with what a chat of its kind gets without faults.

    `chats` maps each chat to a reference chat that ran the same script undisturbed;
    `tickets` maps each handed-off chat to its ticket number.
    """
    result = Tally()
    for chat, ref in chats.items():
        want = Counter(shape(m["text"]) for m in emu.sent(ref))
        got = Counter(shape(m["text"]) for m in emu.sent(chat))
        result.lost.extend(f"{chat}: {text[:50]!r}" for text in (want - got).elements())
        result.doubled.extend(f"{chat}: {text[:50]!r}" for text in (got - want).elements())
    cards = [CARD.match(m.get("text") or "") for m in emu.sent(OFFICERS)]
    numbers = [int(found.group(1)) for found in cards if found]
    for chat, ticket in tickets.items():
        result.check(f"card of ticket {ticket}", numbers.count(ticket))
        texts = [m["text"] for m in emu.sent(chat)]
        result.check(
            f"answer of ticket {ticket} in {chat}",
            sum(ANSWER.format(ticket=ticket) in t for t in texts),
        )
    return result


async def settle(emu: BotApiEmulator, chats: dict[int, int], tickets: dict[int, int]) -> None:
    """Wait until no chat misses what its reference chat got, then 2 s for a duplicate.

    The last message of a script (who the fixed contact is, after the answer) may still be in
    a retry: a send that failed is repeated after a backoff of up to 60 s (sender.py).
    """
    with contextlib.suppress(AssertionError):  # the caller's tally reports what is missing
        await emu.wait_for(lambda: not tally(emu, chats, tickets).lost, timeout=90)
    await asyncio.sleep(2.0)  # give a duplicate every chance to show up


@contextlib.asynccontextmanager
async def running_bot(
    backend: str, tmp_path: Path, *, via: Callable[[str], str] = str, **env: str
) -> AsyncIterator[Bot]:
    """`loketbot serve` with an officer, on a fresh database reached through `via(url)`."""
    async with database(backend, tmp_path) as direct, BotApiEmulator(token=TOKEN) as emu:
        url = via(direct)
        bot = Bot(emu, serve_env(emu, url, LOKETBOT_OFFICERS_CHAT_ID=str(OFFICERS), **env))
        # In a thread: the test's event loop may be serving the database proxy meanwhile.
        added = await asyncio.to_thread(bot.officers_add, "Olga", "--telegram-id", str(OFFICER))
        assert added.returncode == 0, added.stderr
        await bot.start()
        try:
            yield bot
        finally:
            if bot.proc is not None and bot.proc.poll() is None:
                code = await asyncio.to_thread(bot.stop)
                assert code == 0, "serve did not stop cleanly on SIGTERM"
