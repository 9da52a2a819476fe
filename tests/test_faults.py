"""Faults, end to end: kill -9 under load, a failing Bot API, an absent database.

Each test runs the real `loketbot serve` against the Bot API emulator and ends by counting,
per chat, what was lost and what arrived twice: both must be zero.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from loketbot.store.store import Store

from .botapi.emulator import BotApiEmulator
from .dbs import BACKENDS
from .players import (
    FIRST_USER,
    OFFICERS,
    Users,
    answer_cards,
    running_bot,
    settle,
    shape,
    tally,
)

pytestmark = pytest.mark.slow


async def all_recorded(emu: BotApiEmulator, url: str, chats: list[int]) -> None:
    """Wait until every message the bot got into these chats is an outbox row marked sent."""
    store = await Store.open(url)
    try:
        for _ in range(600):
            rows = await store.outbox_rows(status="sent")
            recorded = {(int(r.chat_id), (r.result or {}).get("message_id")) for r in rows}
            delivered = {(chat, m["message_id"]) for chat in chats for m in emu.sent(chat)}
            if delivered <= recorded:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(delivered - recorded)} delivered messages never recorded")
    finally:
        await store.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_kill_9_with_200_users_loses_and_repeats_nothing(
    backend: str, tmp_path: Path
) -> None:
    async with running_bot(backend, tmp_path) as bot:
        emu = bot.emu
        users = Users(emu)
        stop = asyncio.Event()
        officer = asyncio.create_task(answer_cards(emu, stop))
        # Reference chats run each script once without faults.
        asker, handed = FIRST_USER - 1, FIRST_USER - 2
        await users.ask(asker)
        tickets = {handed: await users.hand_off(handed)}
        chats = {asker: asker, handed: handed}
        scripts: dict[int, Callable[[], Awaitable[Any]]] = {}
        for n in range(200):
            chat = FIRST_USER + n
            if n % 4 == 0:  # 50 hand-offs, answered by the officer while all this goes on
                chats[chat] = handed
                scripts[chat] = lambda chat=chat: users.hand_off(chat)
            else:
                chats[chat] = asker
                scripts[chat] = lambda chat=chat: users.ask(chat)
        tasks = {chat: asyncio.create_task(script()) for chat, script in scripts.items()}
        # Kill while users wait for replies, cards wait to go out and answers wait to arrive:
        # sends are held at the Bot API, so the bot has work committed but not delivered.
        await emu.wait_for(lambda: len(emu.sent(OFFICERS)) >= 3, timeout=120)
        emu.hold("sendMessage", "editMessageText", "editMessageReplyMarkup")
        await emu.wait_for(lambda: emu.held() >= 10, timeout=30)
        # Telegram cannot say whether it already took a message, so a crash between its "ok"
        # and our record of it repeats that message (outbox.py). Kill outside that window:
        # once every message Telegram took is recorded as sent.
        await all_recorded(emu, bot.env["LOKETBOT_DATABASE_URL"], [*chats, OFFICERS])
        in_flight = emu.held()
        killed_at = asyncio.get_running_loop().time()
        bot.kill()
        unfinished = sum(not task.done() for task in tasks.values())
        await asyncio.sleep(0.5)  # the emulator notices the closed connections
        emu.release()  # the killed bot's held requests never reach "Telegram"
        await bot.start()
        try:
            results = await asyncio.wait_for(asyncio.gather(*tasks.values()), timeout=180)
        except (AssertionError, TimeoutError):
            print(bot.stderr()[-4000:], [m["text"][:70] for m in emu.sent(OFFICERS)][-30:])
            raise
        tickets.update(
            {chat: ticket for chat, ticket in zip(tasks, results, strict=True) if ticket}
        )
        recovered = asyncio.get_running_loop().time() - killed_at
        await settle(emu, chats, tickets)
        stop.set()
        await officer
        result = tally(emu, chats, tickets)
        print(
            f"kill -9 with {in_flight} sends in flight and {unfinished} of 200 users waiting, "
            f"all done {recovered:.1f} s later: " + result.report()
        )
        assert unfinished >= 30, "the kill should catch many users mid-conversation"
        assert len(tickets) == 51
        assert not result.lost and not result.doubled, result.report()


def in_order(emu: BotApiEmulator, chats: dict[int, int]) -> list[str]:
    """Chats whose messages differ from their reference chat's, in content or order."""
    wrong = []
    for chat, ref in chats.items():
        want = [shape(m["text"]) for m in emu.sent(ref)]
        got = [shape(m["text"]) for m in emu.sent(chat)]
        if got != want:
            wrong.append(f"{chat}: {[t[:25] for t in got]} != {[t[:25] for t in want]}")
    return wrong


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bot_api_failing_one_call_in_five_delivers_all_once_in_order(
    backend: str, tmp_path: Path
) -> None:
    async with running_bot(backend, tmp_path) as bot:
        emu = bot.emu
        users = Users(emu)
        stop = asyncio.Event()
        officer = asyncio.create_task(answer_cards(emu, stop))
        burster, handed = FIRST_USER - 1, FIRST_USER - 2
        await users.burst(burster)
        tickets = {handed: await users.hand_off(handed)}
        chats = {burster: burster, handed: handed}
        # 429 with retry_after, 502 and timeouts (no answer within PTB's 5 s) on 20% of calls.
        emu.set_fault_rate(0.2, statuses=(429, 502), timeout_share=0.15, retry_after=1, seed=7)
        jobs: dict[int, Awaitable[Any]] = {}
        for n in range(40):
            chat = FIRST_USER + n
            chats[chat] = handed if n % 4 == 0 else burster
            jobs[chat] = users.hand_off(chat) if n % 4 == 0 else users.burst(chat)
        results = await asyncio.wait_for(asyncio.gather(*jobs.values()), timeout=240)
        emu.clear_faults()
        tickets.update({chat: t for chat, t in zip(jobs, results, strict=True) if t})
        await settle(emu, chats, tickets)
        stop.set()
        await officer
        failed = Counter(c.status for c in emu.call_log() if c.status and c.status >= 400)
        result = tally(emu, chats, tickets)
        wrong = in_order(emu, chats)
        print(f"Bot API faults {dict(failed)}: {result.report()}; out of order {len(wrong)}")
        assert failed[429] and failed[502] and failed[504], "every kind of fault was injected"
        assert not result.lost and not result.doubled, result.report()
        assert not wrong, wrong[:3]
