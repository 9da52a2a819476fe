"""A stop (SIGTERM) is bounded: the updates in hand get a grace period, not forever."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from loketbot import server


async def test_a_stop_waits_for_a_hanging_batch_only_the_grace_period(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(server, "STOP_GRACE_SECONDS", 0.3)
    hanging = asyncio.create_task(asyncio.Event().wait())
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="loketbot.server"):
        # wait_for: a stop that waited for the batch forever fails here instead of hanging.
        await asyncio.wait_for(server._finish_batch(hanging), 3.0)
    waited = time.monotonic() - started
    assert 0.25 < waited < 2.0, waited
    assert not hanging.done(), "cancelling is the caller's part, after the grace"
    assert "Telegram sends them again after the restart" in caplog.text
    hanging.cancel()


async def test_a_batch_that_finishes_ends_the_wait_at_once_and_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = asyncio.create_task(asyncio.sleep(0.05))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="loketbot.server"):
        await server._finish_batch(batch)
    assert time.monotonic() - started < server.STOP_GRACE_SECONDS / 2
    assert batch.done()
    assert not caplog.records
