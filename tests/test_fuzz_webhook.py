"""Hypothesis over webhook update bodies: whatever Telegram (or a forger with the secret)
posts, the answer is 200, 400 or 503 (never a 500 that Telegram would retry forever), the
process keeps serving, and nothing undeliverable lands in the outbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loketbot.channels.telegram import TelegramChannel
from loketbot.conversation.dialogue import Dialogue
from loketbot.service.desk import Desk
from loketbot.service.tickets import Tickets
from loketbot.store.store import Store
from loketbot.web.app import WebhookRoute, create_app

SECRET = "fuzz-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@dataclass
class Hook:
    loop: asyncio.AbstractEventLoop
    client: TestClient[Any, Any]
    store: Store

    def post(self, body: bytes) -> int:
        async def go() -> int:
            async with self.client.post("/hook", data=body, headers=HEADERS) as response:
                return response.status

        return self.loop.run_until_complete(go())


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory, dialogue: Dialogue) -> Iterator[Hook]:
    # One loop for the module: hypothesis runs a synchronous test many times over one app.
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"

    async def start() -> Hook:
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        channel = TelegramChannel(
            token="4242:test-token",
            base_url="http://127.0.0.1:9/bot",  # refused at once: replies stay in the outbox
            desk=Desk(store, dialogue, flood_limit=None),
            tickets=Tickets(store, officers_chat=None),
            store=store,
            officers_chat=None,
        )
        app = create_app(
            store=store,
            version=lambda: "fuzz",
            webhook=WebhookRoute("/hook", SECRET, channel.feed),
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        return Hook(loop, client, store)

    hook = loop.run_until_complete(start())
    yield hook

    async def stop() -> None:
        await hook.client.close()
        await hook.store.close()

    loop.run_until_complete(stop())
    loop.close()


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["private", "group", "supergroup", "/start", "/mens", "h:yes", "tk:claim:1"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
KEYS = ["message_id", "date", "chat", "from", "text", "id", "type", "first_name", "data",
        "message", "is_bot", "language_code", "reply_to_message", "entities"]  # fmt: skip


def _update_like() -> st.SearchStrategy[dict[str, Any]]:
    """Updates shaped like Telegram's, with wrong types and values in any place."""
    chat = st.fixed_dictionaries(
        {"id": st.one_of(st.integers(-(2**64), 2**64), SCALARS), "type": SCALARS}
    )
    user = st.fixed_dictionaries(
        {"id": st.one_of(st.integers(1, 2**40), SCALARS), "is_bot": SCALARS, "first_name": SCALARS}
    )
    message = st.fixed_dictionaries(
        {"message_id": st.one_of(st.integers(1, 10**6), SCALARS), "date": SCALARS, "chat": chat},
        optional={"from": user, "text": st.one_of(st.text(max_size=200), SCALARS), "x": JSON},
    )
    callback = st.fixed_dictionaries(
        {"id": SCALARS, "from": user, "chat_instance": SCALARS},
        optional={"data": SCALARS, "message": message},
    )
    body = st.one_of(
        st.fixed_dictionaries({"message": message}),
        st.fixed_dictionaries({"callback_query": callback}),
        st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4),
    )
    update_id = st.one_of(st.integers(0, 2**40), SCALARS)
    return st.tuples(update_id, body).map(lambda t: {"update_id": t[0], **t[1]})


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        _update_like().map(lambda u: json.dumps(u).encode()),
        JSON.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
    )
)
def test_fuzz_webhook_bodies(hook: Hook, body: bytes) -> None:
    assert hook.post(body) in (200, 400, 503)


def test_after_the_fuzz_the_outbox_holds_only_deliverable_rows(hook: Hook) -> None:
    async def rows() -> list[str]:
        return [row.chat_id for row in await hook.store.outbox_rows()]

    for chat_id in hook.loop.run_until_complete(rows()):
        int(chat_id)  # every row's chat is a Telegram chat id
