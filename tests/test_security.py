"""Regression tests for the security review of 2026-12 (F1-F15), one or more per finding."""

# ruff: noqa: F811  (the `env` fixture is imported from test_console_officer and used as a parameter)

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import string
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from sqlalchemy import func, select

from loketbot.channels.telegram import TelegramChannel
from loketbot.cli import _Redact
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import MAX_TEXT, Conversation, Inbound
from loketbot.conversation.texts import say
from loketbot.errors import StoreError
from loketbot.service.desk import Desk
from loketbot.service.sender import MAX_UNEXPECTED, DeliveryFailed, Sender
from loketbot.service.tickets import Tickets
from loketbot.store.guards import ConsoleSession, RateHit, hit, session_officer, start_session
from loketbot.store.models import utcnow
from loketbot.store.privacy import purge_older
from loketbot.store.store import ChatKey, OutboxRecord, Store, Turn
from loketbot.understanding.matcher import Matcher
from loketbot.web import auth
from loketbot.web.app import WebhookRoute, create_app
from loketbot.web.auth import THROTTLE
from loketbot.web.context import CONSOLE
from tests.conftest import ROOT
from tests.serving import free_port
from tests.test_console_officer import (  # noqa: F401
    PASSWORD,
    Env,
    csrf_of,
    env,
    login,
    plain_ticket,
    post_form,
)
from tests.test_yaml_limits import laughs

# --- F1: redirects only to paths of this site ---------------------------------------------------

EVIL_NEXT = [
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\r/evil.example/phish",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("next_path", EVIL_NEXT)
async def test_login_redirect_stays_on_this_site(env: Env, next_path: str) -> None:
    response = await login(env.client, "anna", next_path=next_path)
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    # Already logged in: GET /login?next=... redirects at once, the same way.
    again = await env.client.get("/login", params={"next": next_path}, allow_redirects=False)
    assert again.status == 302
    assert again.headers["Location"].startswith("/")
    assert not again.headers["Location"].startswith("//")


async def test_login_redirect_keeps_a_path_with_query(env: Env) -> None:
    response = await login(env.client, "anna", next_path="/tickets/7?x=1")
    assert response.headers["Location"] == "/tickets/7?x=1"


# --- F2, F3: password checks counted before the check; bounded state; capped names -------------


async def test_concurrent_logins_get_at_most_five_password_checks(
    env: Env,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks: list[str] = []

    def slow_verify(stored: str, password: str) -> bool:
        checks.append(password)
        time.sleep(0.05)  # argon2 takes this long: time for the others to arrive
        return password == PASSWORD

    monkeypatch.setattr(auth, "verify_password", slow_verify)
    token = await csrf_of(env.client)

    async def attempt(i: int) -> int:
        password = PASSWORD if i == 15 else f"wrong {i}"
        response = await env.client.post(
            "/login",
            data={"csrf": token, "name": "anna", "password": password},
            allow_redirects=False,
        )
        return response.status

    statuses = Counter(await asyncio.gather(*(attempt(i) for i in range(30))))
    assert len(checks) <= auth.MAX_FAILURES, statuses
    assert statuses[429] >= 30 - auth.MAX_FAILURES


async def test_a_huge_login_name_is_refused_without_work(env: Env) -> None:
    token = await csrf_of(env.client)
    for i in range(3):
        response = await env.client.post(
            "/login",
            data={"csrf": token, "name": f"{i}" + "x" * 900_000, "password": "p"},
            allow_redirects=False,
        )
        assert response.status in (400, 413)  # 413: over any form field's cap
        assert len(await response.text()) < 20_000  # the name is not echoed back whole
    assert await _rate_rows(env) == 0
    # Over the name's own cap, under the form's: refused the same way.
    response = await env.client.post(
        "/login", data={"csrf": token, "name": "y" * 300, "password": "p"}, allow_redirects=False
    )
    assert response.status == 400
    assert await _rate_rows(env) == 0


async def test_throttle_rows_are_pruned_after_the_window(env: Env) -> None:
    now = [10_000.0]
    env.client.app[THROTTLE].clock = lambda: now[0]
    for i in range(4):
        await login(env.client, f"nobody-{i}", "wrong")
    assert await _rate_rows(env) == 8  # per name and per address
    now[0] += auth.WINDOW_SECONDS + 1
    await login(env.client, "nobody-else", "wrong")
    assert await _rate_rows(env) == 2  # only the newest attempt's


async def test_a_refused_attempt_does_not_lengthen_the_lock(env: Env) -> None:
    now = [10_000.0]
    env.client.app[THROTTLE].clock = lambda: now[0]
    for _ in range(5):
        await login(env.client, "anna", "wrong")
    for _ in range(20):
        now[0] += 30
        assert (await login(env.client, "anna")).status == 429
    now[0] = 10_000.0 + auth.WINDOW_SECONDS + 1
    assert (await login(env.client, "anna")).status == 302


async def _rate_rows(env: Env) -> int:
    async with env.store.reading("count") as session:
        return int(await session.scalar(select(func.count()).select_from(RateHit)) or 0)


def test_client_address_behind_a_trusted_proxy() -> None:
    def request(remote: str, forwarded: str | None = None) -> web.Request:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return make_mocked_request("POST", "/login", headers=headers, transport=_Peer(remote))

    assert auth.client_address(request("10.0.0.5", "1.2.3.4")) == "10.0.0.5"
    trusted = ("10.0.0.0/8",)
    assert auth.client_address(request("10.0.0.5", "1.2.3.4"), trusted) == "1.2.3.4"
    # A client cannot pick its address by sending its own header: the proxy appends the real one.
    assert auth.client_address(request("10.0.0.5", "6.6.6.6, 1.2.3.4"), trusted) == "1.2.3.4"
    assert auth.client_address(request("10.0.0.5", "garbage"), trusted) == "10.0.0.5"
    assert auth.client_address(request("2001:db8::1")) == "2001:db8::/64"
    assert auth.client_address(request("2001:db8::2")) == "2001:db8::/64"


class _Peer:
    """A transport whose peer is `address`, for make_mocked_request."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self.address, 1234) if name == "peername" else default


# --- F6: logout ends the session on the server -------------------------------------------------


async def test_a_copied_cookie_does_not_work_after_logout(env: Env) -> None:
    response = await login(env.client, "anna")
    assert response.status == 302
    cookie = response.cookies["loketbot"].value
    token = await csrf_of(env.client, "/")
    out = await env.client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert out.status == 302
    env.client.session.cookie_jar.clear()
    headers = {"Cookie": f"loketbot={cookie}"}
    after = await env.client.get("/", headers=headers, allow_redirects=False)
    assert after.status == 302 and after.headers["Location"].startswith("/login")
    post = await env.client.post(
        "/logout", data={"csrf": token}, headers=headers, allow_redirects=False
    )
    assert post.status == 403


# --- F8: /healthz tells anonymous callers no connection details --------------------------------


class _DownStore:
    async def ping(self) -> None:
        raise StoreError(
            "cannot reach database postgresql+asyncpg://postgres:***@127.0.0.1:18095/sectest: "
            "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 18095)"
        )


async def test_healthz_hides_database_details() -> None:
    app = create_app(store=cast(Store, _DownStore()), version=lambda: "v")
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"ok": False, "database": "unavailable"}


# --- F12: form values cannot forge log lines ---------------------------------------------------


async def test_editor_log_lines_cannot_be_forged(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    await login(env.client, "eva")
    forged = "x\n2026-12-04 16:20:00,000 WARNING loketbot.web.auth: console login by admin"
    with caplog.at_level(logging.INFO, logger="loketbot"):
        response = await post_form(
            env.client, "/editor/examples", "/editor", entry=forged, question="hallo", lang="nl"
        )
    assert response.status == 422
    assert caplog.records, "the refusal is logged"
    for record in caplog.records:
        assert "\n" not in record.getMessage()


# --- F13: ids out of range are 404, never 500 ----------------------------------------------------


async def test_out_of_range_ids_are_not_found(env: Env) -> None:
    await login(env.client, "anna")
    huge = "99999999999999999999"
    for path in (f"/tickets/{huge}", "/tickets/2147483648", "/tickets/%D9%A1", "/tickets/0"):
        assert (await env.client.get(path, allow_redirects=False)).status == 404, path
    for action in ("claim", "close", "reopen", "answer"):
        response = await post_form(
            env.client, f"/tickets/{huge}/{action}", "/", text="x", key="0" * 32
        )
        assert response.status == 404, action
    env.client.session.cookie_jar.clear()
    await login(env.client, "eva")
    response = await post_form(env.client, f"/editor/suggestions/{huge}/dismiss", "/editor")
    assert response.status == 404
    page = await env.client.get("/editor/entries/new", params={"suggestion": huge})
    assert page.status == 200
    form = await post_form(env.client, "/editor/entries/new", "/editor", title_nl="x" * 60_000)
    assert form.status == 413


# --- F14: security headers -------------------------------------------------------------------


async def test_security_headers_on_every_page(env: Env) -> None:
    login_page = await env.client.get("/login")
    await login(env.client, "anna")
    ticket = await plain_ticket(env.store, "mijn adres is Dorpsweg 1")
    for response in (
        login_page,
        await env.client.get("/"),
        await env.client.get(f"/tickets/{ticket}"),
        await env.client.get("/tickets/999999", allow_redirects=False),
        await env.client.get("/healthz"),
    ):
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert "Referrer-Policy" in headers
        assert "aiohttp" not in headers.get("Server", "")
    queue = await env.client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", queue.headers["Content-Security-Policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in await queue.text()


# --- F7: the bot token never in any output ---------------------------------------------------


@pytest.mark.slow
async def test_a_rejected_token_is_not_printed(tmp_path: Path) -> None:
    async def unauthorized(request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
        return web.json_response(body, status=401)

    api = web.Application()
    api.router.add_route("*", "/{tail:.*}", unauthorized)
    async with TestServer(api) as server:
        token = "9999:WRONG-TOKEN-zzz999abc"
        env = {
            **os.environ,
            "LOKETBOT_TELEGRAM_TOKEN": token,
            "LOKETBOT_TELEGRAM_API_URL": str(server.make_url("/bot")),
            "LOKETBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
            "LOKETBOT_WEB_PORT": str(free_port()),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loketbot.cli", "-v", "serve",
            env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    output = (out + err).decode()
    assert proc.returncode == 1, output
    assert "Telegram refused LOKETBOT_TELEGRAM_TOKEN" in output
    assert "WRONG-TOKEN" not in output and "zzz999" not in output, output
    assert "Traceback" not in output and "Unclosed" not in output, output


def test_log_lines_and_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    token = "4242:SECRET-TOKEN-abcdefgh"
    record = logging.LogRecord("x", logging.ERROR, "f", 1, "url %s", (f"/bot{token}/x",), None)
    try:
        raise RuntimeError(f"The token `{token}` was rejected")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    _Redact([token]).filter(record)
    text = logging.Formatter().format(record)
    assert "SECRET-TOKEN" not in text and "***" in text


# --- F4, F5 in the console: a bad file on reload is a banner, not a 500 -----------------------


async def test_console_reload_of_a_bad_file_shows_a_banner(env: Env) -> None:
    knowledge = env.client.app[CONSOLE].reloader.knowledge_dir
    await login(env.client, "eva")
    for content in (laughs().encode(), b"entries: []\na: b\x00c\n", b"a: !foo bar\n", b"\xff\xfe"):
        (knowledge / "zz.yaml").write_bytes(content)
        response = await post_form(env.client, "/editor/reload", "/editor/entries")
        assert response.status == 303
        page = await (await env.client.get("/editor/entries")).text()
        assert "zz.yaml:" in page


# --- F9: bounded work per message --------------------------------------------------------------


def test_a_message_over_telegrams_limit_gets_a_friendly_refusal(dialogue: Dialogue) -> None:
    word = "".join(random.Random(1).choice(string.ascii_lowercase) for _ in range(200_000))
    started = time.monotonic()
    outcome = dialogue.step(Conversation(), Inbound(text=word))
    assert time.monotonic() - started < 2
    (reply,) = outcome.replies
    assert reply.text == say("too_long", "nl")
    assert len(Inbound(text=word).text) == MAX_TEXT
    # At the limit it is read as usual.
    assert dialogue.step(Conversation(), Inbound(text="stichting " * 400)).match is not None


@pytest.mark.parametrize(
    "text",
    [
        "".join(random.Random(2).choice(string.ascii_lowercase) for _ in range(200_000)),
        "stichting" * 20_000,
        " ".join("vergunning" + str(i) for i in range(20_000)),
    ],
    ids=["random-word", "repeated-word", "many-words"],
)
def test_matching_time_is_bounded_whatever_the_input(matcher: Matcher, text: str) -> None:
    started = time.monotonic()
    matcher.match(text)
    assert time.monotonic() - started < 2


def test_the_forwarding_echo_quotes_only_the_start(dialogue: Dialogue) -> None:
    question = "Ik wil graag weten hoe het zit met " + "heel veel details " * 200
    # Straight to a person, whatever the matcher makes of the question.
    outcome = dialogue.step(Conversation(), Inbound(text="/mens"))
    outcome = dialogue.step(outcome.conversation, Inbound(text=question))
    text = "\n".join(r.text for r in outcome.replies)
    assert "Ik stuur deze vraag door" in text
    assert len(text) < 1000, text[:200]


# --- F10: malformed webhook updates; rows Telegram refuses for good ------------------------------

WEBHOOK_SECRET = "s3cret-webhook"


async def test_webhook_refuses_bad_update_ids_with_400() -> None:
    fed: list[dict[str, object]] = []

    async def feed(data: dict[str, object]) -> bool:
        fed.append(data)
        return True

    class _Store:
        async def ping(self) -> None:
            return None

    app = create_app(
        store=cast(Store, _Store()),
        version=lambda: "v",
        webhook=WebhookRoute("/hook", WEBHOOK_SECRET, feed),
    )
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with TestClient(TestServer(app)) as client:
        deep = "[" * 100_000 + "]" * 100_000
        for body in ('{"update_id": "1"}', '{"update_id": 1.5}', '{"update_id": -1}',
                     '{"update_id": 1000000000000000000000000000000}', '{"update_id": true}',
                     deep, '{"update_id": ' + deep + "}"):  # fmt: skip
            response = await client.post("/hook", data=body, headers=headers)
            assert response.status == 400, body[:40]
        ok = await client.post("/hook", json={"update_id": 7}, headers=headers)
        assert ok.status == 200
    assert fed == [{"update_id": 7}]


MALFORMED_UPDATES: list[dict[str, object]] = [
    {"update_id": 1, "poll_answer": {"poll_id": 5}},
    {"update_id": 2, "message": {"message_id": 1, "date": 0, "chat": "x", "text": "hoi"}},
    {
        "update_id": 3,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": "abc", "type": "private"},
            "text": "hoi",
        },
    },
    {
        "update_id": 4,
        "message": {
            "message_id": "x",
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "text": "hoi",
        },
    },
    {"update_id": 5, "callback_query": {"id": 1, "from": "nobody", "chat_instance": 3}},
    {"update_id": 6, "message": {"message_id": 1, "date": "yesterday", "chat": {"id": 5}}},
    {"update_id": 7, "message": None, "edited_message": [1, 2]},
]


async def test_malformed_updates_are_skipped_not_500(store: Store, dialogue: Dialogue) -> None:
    desk = Desk(store, dialogue)
    channel = TelegramChannel(
        token="4242:test-token",
        base_url="http://127.0.0.1:9/bot",  # never called: nothing here reaches Telegram
        desk=desk,
        tickets=Tickets(store, officers_chat=None),
        store=store,
        officers_chat=None,
    )
    for update in MALFORMED_UPDATES:
        assert await channel.feed(update) is True, update
    assert await store.outbox_rows() == []
    assert await store.handoffs() == []


async def test_a_row_that_cannot_be_delivered_is_given_up(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    channel = TelegramChannel(
        token="4242:test-token",
        base_url="http://127.0.0.1:9/bot",  # never called: the chat id is refused first
        desk=Desk(store, cast(Dialogue, None)),
        tickets=Tickets(store, officers_chat=None),
        store=store,
        officers_chat=None,
    )
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    tries: list[int] = []

    async def broken(row: OutboxRecord, payload: dict[str, object]) -> dict[str, object]:
        tries.append(row.id)
        raise ValueError("a payload bug")

    def _turn(turn: Turn) -> None:
        turn.add_outbox("message", {"text": "hoi"}, key="k1")

    try:
        await store.run_turn(ChatKey("telegram", "abc"), _turn)
        (row,) = await store.outbox_rows()
        with pytest.raises(DeliveryFailed):
            await channel.deliver(row, dict(row.payload))
        sender = Sender(store, {"telegram": broken}, clock=lambda: clock[0])
        for _ in range(20):
            await sender.run_once()
            clock[0] += timedelta(minutes=5)  # past any back-off
        (row,) = await store.outbox_rows()
        assert row.status == "dead" and len(tries) == MAX_UNEXPECTED
    finally:
        await store.close()


async def test_officers_see_that_a_message_was_not_delivered(env: Env) -> None:
    ticket = await plain_ticket(env.store, "een vraag", who="777")

    def _turn(turn: Turn) -> None:
        turn.add_outbox("message", {"text": "het antwoord"}, key="answer-777")

    await env.store.run_turn(ChatKey("telegram", "777"), _turn)
    (row,) = await env.store.outbox_rows(chat_id="777")
    await login(env.client, "anna")
    page = await (await env.client.get(f"/tickets/{ticket}")).text()
    assert 'id="undelivered"' not in page
    await env.store.outbox_dead(row.id, "forbidden: bot was blocked by the user", now=utcnow())
    page = await (await env.client.get(f"/tickets/{ticket}")).text()
    assert 'id="undelivered"' in page and "niet worden afgeleverd" in page


# --- shared counts: one event per call, exact per window, old rows pruned ---------------------


async def test_count_event_counts_per_window(store: Store) -> None:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    windows = [timedelta(seconds=10), timedelta(seconds=60)]
    seen: list[list[int]] = []
    for offset in (0, 1, 2, 30, 65):

        def _turn(turn: Turn, offset: int = offset) -> None:
            at = start + timedelta(seconds=offset)
            seen.append(turn.count_event("k", now=at, windows=windows, prune=offset == 65))

        await store.run_turn(ChatKey("telegram", "1"), _turn)
    assert seen == [[1, 1], [2, 2], [3, 3], [1, 4], [1, 2]]
    assert await _rows(store) == 2  # pruned: only the rows of the last minute are left


async def _rows(store: Store) -> int:
    async with store.reading("count") as session:
        return int(await session.scalar(select(func.count()).select_from(RateHit)) or 0)


async def test_ticket_buttons_over_the_integer_range_are_unknown(
    store: Store, dialogue: Dialogue
) -> None:
    await store.add_officer("Anna", telegram_id=501)
    channel = TelegramChannel(
        token="4242:test-token",
        base_url="http://127.0.0.1:9/bot",  # never called: buttons only touch the store
        desk=Desk(store, dialogue),
        tickets=Tickets(store, officers_chat=None),
        store=store,
        officers_chat=None,
    )
    for number in ("9999999999", "2147483648", "1" + "0" * 20, "0"):
        said = await channel._card_button(501, f"tk:claim:{number}")
        assert said == "⛔ Onbekende knop.", (number, said)


async def test_purge_removes_stale_attempts_and_ended_logins(store: Store) -> None:
    now = utcnow()
    await hit(store, ["login-addr:192.0.2.1"], now=now - timedelta(days=2), keep=timedelta(0))
    await hit(store, ["login-addr:192.0.2.2"], now=now, keep=timedelta(days=3))
    await start_session(store, "old", "anna", now=now - timedelta(days=1), lifetime=timedelta(0))
    await start_session(store, "new", "anna", now=now, lifetime=timedelta(hours=8))
    async with store.writing("purge") as session:
        await session.run_sync(purge_older, now - timedelta(days=365))
    assert await _rows(store) == 1
    assert await session_officer(store, "new", now=now) == "anna"
    async with store.reading("count") as session:
        left = await session.scalar(select(func.count()).select_from(ConsoleSession))
    assert left == 1


async def test_only_a_busy_chat_is_counted_in_the_shared_database(
    store: Store, dialogue: Dialogue
) -> None:
    desk = Desk(store, dialogue)  # the default limit: 8 per 10 seconds; 30 per minute
    quiet, busy = ChatKey("telegram", "1"), ChatKey("telegram", "2")
    await desk.handle(quiet, Inbound(text="hallo"), update_id=1)
    assert await _rows(store) == 0, "one message: no database work for the flood limit"
    for n in range(5):
        await desk.handle(busy, Inbound(text=f"vraag {n}"), update_id=10 + n)
    # On PostgreSQL the 4th message (half the limit) writes 4 rows, the 5th one more.
    assert await _rows(store) == (5 if store.shared else 0)
