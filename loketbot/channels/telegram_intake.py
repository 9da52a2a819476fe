"""Updates in from Telegram, acknowledged only once processed: nothing lost on a crash.

PTB's Updater confirms a batch of updates (the next getUpdates offset) as soon as it has
queued them, so a crash loses whatever was queued. Here a batch is confirmed only after every
update in it was handled; a crash means Telegram hands the batch out again and the store's
record of processed update ids makes the handled ones no-ops. Chats in a batch are processed
side by side, each chat's updates in order; an update whose turn could not be stored (the
database is away) is retried, with the rest of its chat behind it, until it can.
"""

from __future__ import annotations

__all__ = ["ALLOWED_UPDATES", "Intake", "chat_key"]

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from typing import Literal

from telegram import Bot, Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLL_SECONDS = 10
# An update that keeps failing for another reason than an absent database is broken: give up.
MAX_ATTEMPTS = 3
MAX_PAUSE = 5.0

# "done"; "wait": the database is away or busy, retry as long as it takes; "retry": it
# failed otherwise, retry a few times.
Result = Literal["done", "wait", "retry"]
Process = Callable[[Update], Awaitable[Result]]
GiveUp = Callable[[Update], Awaitable[None]]


def chat_key(update: Update) -> Hashable:
    """The chat an update belongs to; updates without a chat share one lane."""
    chat = update.effective_chat
    return chat.id if chat is not None else None


class Intake:
    """The polling loop: fetch, process per chat in order, then confirm."""

    def __init__(
        self,
        bot: Bot,
        process: Process,
        *,
        give_up: GiveUp,
        concurrency: int = 64,
    ) -> None:
        """`process` says whether an update is done; `give_up` tells a user it was not."""
        self.bot = bot
        self.process = process
        self.give_up = give_up
        self._slots = asyncio.Semaphore(concurrency)

    async def poll(self, stop: asyncio.Event) -> None:
        """Fetch and process updates until `stop` is set."""
        offset: int | None = None
        pause = 1.0
        while not stop.is_set():
            try:
                updates = await _unless(
                    stop,
                    self.bot.get_updates(
                        offset=offset, timeout=POLL_SECONDS, allowed_updates=ALLOWED_UPDATES
                    ),
                )
            except RetryAfter as exc:
                await _sleep(stop, _seconds(exc.retry_after))
                continue
            except Conflict as exc:  # another process polls with this token
                log.error("getUpdates conflict, retrying in %.0fs: %s", MAX_PAUSE, exc.message)
                await _sleep(stop, MAX_PAUSE)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed, retrying in %.0fs: %s", pause, exc.message)
                await _sleep(stop, pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            if not updates:
                continue
            if not await self.settle(list(updates), stop):
                return  # stopped half way: the rest comes again after a restart
            offset = updates[-1].update_id + 1
        if offset is not None:
            with contextlib.suppress(TelegramError):  # confirm the last batch; harmless if not
                await self.bot.get_updates(
                    offset=offset, timeout=0, allowed_updates=ALLOWED_UPDATES
                )

    async def settle(self, updates: list[Update], stop: asyncio.Event) -> bool:
        """Process a batch until every update is handled or given up; False if stopped first."""
        lanes: dict[Hashable, list[Update]] = {}
        for update in updates:
            lanes.setdefault(chat_key(update), []).append(update)
        attempts: dict[int, int] = {}
        pause = 0.25
        while lanes:
            left = await asyncio.gather(*(self._lane(lane) for lane in lanes.values()))
            lanes = {chat_key(rest[0]): rest for result, rest in left if rest}
            if not lanes:
                return True
            waiting = 0
            for result, rest in left:
                if not rest:
                    continue
                if result == "wait":
                    waiting += 1
                    continue
                first = rest[0]
                attempts[first.update_id] = attempts.get(first.update_id, 0) + 1
                if attempts[first.update_id] >= MAX_ATTEMPTS:
                    log.error("update %s failed %d times: given up", first.update_id, MAX_ATTEMPTS)
                    await self.give_up(first)
                    rest.pop(0)
            if waiting:
                log.warning("database away or busy: %d chat(s) wait for it", waiting)
            lanes = {key: rest for key, rest in lanes.items() if rest}
            if stop.is_set():
                return False
            await _sleep(stop, pause)
            pause = min(pause * 2, MAX_PAUSE)
        return True

    async def _lane(self, updates: list[Update]) -> tuple[Result, list[Update]]:
        """Process one chat's updates in order; returns what is left from the first failure."""
        async with self._slots:
            for index, update in enumerate(updates):
                result = await self.process(update)
                if result != "done":
                    return result, updates[index:]
        return "done", []


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _unless(stop: asyncio.Event, call: Awaitable[tuple[Update, ...]]) -> tuple[Update, ...]:
    """Await `call`, or cancel it and return nothing when `stop` is set first."""
    task = asyncio.ensure_future(call)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TelegramError):
            await task
        return ()
    return task.result()
