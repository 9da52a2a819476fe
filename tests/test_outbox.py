"""The sender: retries on transient errors, gives up on permanent ones, keeps each chat in order."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loketbot.service.sender import DeliveryFailed, DeliveryRetry, Sender
from loketbot.store.store import ChatKey, OutboxRecord, Store, Turn


class Clock:
    def __init__(self) -> None:
        # Start at the real time: rows are stamped not_before=now when the turn writes them.
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


async def queue(store: Store, chat: str, *texts: str) -> None:
    def _turn1(turn: Turn) -> Any:
        for n, text in enumerate(texts):
            turn.add_outbox("message", {"text": text}, key=f"{chat}:{text}:{n}")

    await store.run_turn(ChatKey("test", chat), _turn1)


async def test_transient_errors_retry_in_order_and_nothing_is_lost(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    clock = Clock()
    delivered: list[str] = []
    failures = {"one": 2}  # "one" fails twice, then goes through

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        text = str(payload["text"])
        if failures.get(text, 0) > 0:
            failures[text] -= 1
            raise DeliveryRetry("502 bad gateway")
        delivered.append(text)
        return {"message_id": len(delivered)}

    sender = Sender(store, {"test": deliver}, clock=clock)
    try:
        await queue(store, "a", "one", "two", "three")
        for _ in range(10):
            await sender.run_once()
            clock.now += timedelta(minutes=1)  # past any back-off
        assert delivered == ["one", "two", "three"]  # "two" waited for "one"
        rows = await store.outbox_rows(chat_id="a")
        assert [r.status for r in rows] == ["sent", "sent", "sent"]
        assert rows[0].attempts == 2
    finally:
        await store.close()


async def test_retry_after_is_respected(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    clock = Clock()
    calls = 0

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DeliveryRetry("429", after=30)
        return {}

    sender = Sender(store, {"test": deliver}, clock=clock)
    try:
        await queue(store, "a", "hi")
        await sender.run_once()
        clock.now += timedelta(seconds=29)
        assert await sender.run_once() == 0  # too early
        clock.now += timedelta(seconds=2)
        assert await sender.run_once() == 1
        assert calls == 2
    finally:
        await store.close()


async def test_permanent_failure_gives_up_and_unblocks_the_chat(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    delivered: list[str] = []

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["text"] == "bad":
            raise DeliveryFailed("bot was blocked by the user")
        delivered.append(str(payload["text"]))
        return {}

    sender = Sender(store, {"test": deliver})
    try:
        await queue(store, "a", "bad", "good")
        await queue(store, "b", "other chat")
        while await sender.run_once():
            pass
        assert sorted(delivered) == ["good", "other chat"]
        statuses = [r.status for r in await store.outbox_rows(chat_id="a")]
        assert statuses == ["dead", "sent"]
    finally:
        await store.close()


async def test_a_slow_send_does_not_hold_up_other_chats(tmp_path: Path) -> None:
    """A reply committed while another chat's message hangs at the API goes out at once, and
    the hanging chat's next message waits for its first."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    release = asyncio.Event()
    delivered: list[str] = []
    arrived = {text: asyncio.Event() for text in ("quick", "after slow")}

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        text = str(payload["text"])
        if text == "slow":
            await release.wait()
        delivered.append(text)
        if text in arrived:
            arrived[text].set()
        return {"message_id": len(delivered)}

    sender = Sender(store, {"test": deliver}, poll_seconds=30)
    running = asyncio.create_task(sender.run())
    try:
        await queue(store, "a", "slow", "after slow")
        sender.wake()
        await asyncio.sleep(0.2)
        await queue(store, "b", "quick")
        sender.wake()  # as the desk does after each turn
        await asyncio.wait_for(arrived["quick"].wait(), 5)
        assert delivered == ["quick"]  # "after slow" waits behind "slow"
        release.set()
        await asyncio.wait_for(arrived["after slow"].wait(), 5)
        assert delivered == ["quick", "slow", "after slow"]
        running.cancel()  # stopping lets the last mark be written
        with contextlib.suppress(asyncio.CancelledError):
            await running
        assert [r.status for r in await store.outbox_rows()] == ["sent"] * 3
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await store.close()


async def test_stopping_lets_a_send_under_way_end(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    started = asyncio.Event()

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.3)
        return {"message_id": 1}

    sender = Sender(store, {"test": deliver})
    running = asyncio.create_task(sender.run())
    try:
        await queue(store, "a", "hallo")
        sender.wake()
        await asyncio.wait_for(started.wait(), 5)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        # Recorded as sent: a restart will not send it a second time.
        assert [r.status for r in await store.outbox_rows()] == ["sent"]
    finally:
        await store.close()
