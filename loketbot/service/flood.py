"""The per-chat flood limit: a script that floods the bot is refused before it costs a turn.

Counted first in this process's memory (the `limits` package's MemoryStorage with a moving
window), which costs nothing and drops most of a flood. On a database several instances share
(PostgreSQL), a message the memory let through is also counted there (Desk, store/guards.py),
so a chat gets the limit once, not once per instance.
"""

from __future__ import annotations

__all__ = ["FloodGuard", "Verdict"]

import time
from datetime import timedelta
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from loketbot.config import DEFAULT_FLOOD_LIMIT, OFF, flood_problem

Verdict = Literal["ok", "notice", "drop"]
PRUNE_SECONDS = 10.0


class _PrunedMemoryStorage(MemoryStorage):
    """limits' MemoryStorage, without its expiry thread: that one starts a thread every 10 ms
    while there is traffic and walks every key in it (7% of the bot's CPU at 1,000 chats).
    The moving window reads the entries' times itself; dropping expired entries only frees
    memory, so it is done here every PRUNE_SECONDS, inline."""

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()
        self._pruned = time.monotonic()

    # Replaces the base class's private scheduler, which every hit calls (name-mangled there).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._pruned >= PRUNE_SECONDS:
            self._pruned = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class FloodGuard:
    """Counts each chat's messages and button presses against every limit in `spec`."""

    def __init__(self, spec: str = DEFAULT_FLOOD_LIMIT) -> None:
        """`spec` in the `limits` notation, e.g. "8 per 10 seconds; 30 per minute"."""
        problem = flood_problem(spec)
        if problem or spec == OFF:
            raise ValueError(problem or "a FloodGuard needs a limit; leave it out for none")
        self._items: list[RateLimitItem] = parse_many(spec)
        # One notice per chat within the longest window: later refusals are dropped quietly.
        longest = max(item.get_expiry() for item in self._items)
        self._notice: RateLimitItem = RateLimitItemPerSecond(1, longest)
        self._limiter = MovingWindowRateLimiter(_PrunedMemoryStorage())

    def check(self, channel: str, chat: str) -> Verdict:
        """Count one message of the chat: "ok" to handle it, "notice" to say so once, or "drop"."""
        ids = (channel, chat)
        # No await in here: testing every limit and then hitting them all is one step.
        if all(self._limiter.test(item, *ids) for item in self._items):
            for item in self._items:
                self._limiter.hit(item, *ids)
            return "ok"
        return self.refuse(channel, chat)

    def refuse(self, channel: str, chat: str) -> Verdict:
        """A message over a limit counted elsewhere: "notice" once per window, then "drop"."""
        return "notice" if self._limiter.hit(self._notice, "notice", channel, chat) else "drop"

    def local_counts(self, channel: str, chat: str) -> list[int]:
        """The chat's messages this process admitted in each window (as in `windows`)."""
        return [
            item.amount - self._limiter.get_window_stats(item, channel, chat).remaining
            for item in self._items
        ]

    @property
    def windows(self) -> list[tuple[int, timedelta]]:
        """Each limit as (messages, window): for counting the same limits in a database."""
        return [(item.amount, timedelta(seconds=item.get_expiry())) for item in self._items]
