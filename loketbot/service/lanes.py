"""Run jobs one at a time per chat and side by side across chats, in arrival order per chat.

The database lock on a conversation keeps two processes from interleaving one chat's turns;
this keeps one process from reordering them: without it, two messages of one chat processed
concurrently could take that lock in either order.
"""

from __future__ import annotations

__all__ = ["Lanes"]

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class Lanes:
    """A lock per key (FIFO, so arrival order holds) and a bound on jobs running at once."""

    def __init__(self, limit: int = 64) -> None:
        """`limit` bounds concurrent jobs, and so open database connections and sockets."""
        self._slots = asyncio.Semaphore(limit)
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    async def run(self, key: Hashable, job: Callable[[], Awaitable[T]]) -> T:
        """Run `job` after every earlier job of `key` finished; returns its result."""
        # No await before queueing on the lock: callers started in order are served in order.
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            # The chat's lock first, then a slot: a waiting chat does not hold a slot.
            async with lock, self._slots:
                return await job()
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle chats, so memory follows active chats
                del self._users[key]
                del self._locks[key]

    @property
    def busy(self) -> int:
        """How many chats have a job running or waiting."""
        return len(self._users)
