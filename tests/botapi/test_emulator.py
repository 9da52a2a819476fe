"""The Bot API emulator, driven by a real python-telegram-bot Application over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi.emulator import SECRET_HEADER, BotApiEmulator, parse_html

TOKEN = "123456:TEST-token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    """A running emulator with quick webhook retries."""
    async with BotApiEmulator(token=TOKEN, webhook_retries=2, webhook_backoff=0.01) as emulator:
        yield emulator


def build_app(emu: BotApiEmulator, *, token: str = TOKEN, polling: bool = True) -> App:
    """A PTB Application talking to the emulator (no updater for webhook mode)."""
    builder = (
        ApplicationBuilder().token(token).base_url(emu.base_url).base_file_url(emu.base_file_url)
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


@contextlib.asynccontextmanager
async def running(app: App, *, polling: bool = True) -> AsyncIterator[App]:
    """Initialize and start the application (and polling); stop everything afterwards."""
    await app.initialize()
    try:
        await app.start()
        try:
            if polling and app.updater is not None:
                await app.updater.start_polling(poll_interval=0, timeout=1)
            yield app
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()


@contextlib.asynccontextmanager
async def initialized(emu: BotApiEmulator) -> AsyncIterator[App]:
    """An initialized application whose bot is used directly, without polling."""
    app = build_app(emu, polling=False)
    await app.initialize()
    try:
        yield app
    finally:
        await app.shutdown()


@contextlib.asynccontextmanager
async def webhook_server(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` at /hook on a free local port; yield its URL."""
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    finally:
        await runner.cleanup()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer every text with "echo: <text>", quoting it."""
    assert update.message is not None
    await update.message.reply_text(f"echo: {update.message.text}", do_quote=True)


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Ja", callback_data="yes"),
            InlineKeyboardButton("Nee", callback_data="no"),
        ]
    ]
)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: offer two buttons."""
    assert update.message is not None
    await update.message.reply_text("Kies:", reply_markup=KEYBOARD)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button: answer the query and replace the question by the choice."""
    query = update.callback_query
    assert query is not None
    await query.answer("ok")
    await query.edit_message_text(f"Gekozen: {query.data}")


# --- polling ----------------------------------------------------------------------------------


async def test_echo_over_polling(emu: BotApiEmulator) -> None:
    """A text arrives through getUpdates and the handler's reply lands in the chat."""
    app = build_app(emu)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with running(app):
        update = await emu.user_sends(42, "hallo")
        reply = await emu.wait_for_message(42, "echo: hallo")
    assert reply["reply_to_message_id"] == update["message"]["message_id"]
    assert reply["from"]["is_bot"] is True
    assert reply["chat"] == {"id": 42, "type": "private", "first_name": "Test"}
    assert reply["message_id"] == update["message"]["message_id"] + 1
    methods = [method for method, _ in emu.calls()]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert "getUpdates" in methods
    # Once handled, the update was confirmed by the next getUpdates offset.
    assert emu.pending_updates() == []


async def test_button_press_is_answered_and_edits(emu: BotApiEmulator) -> None:
    """A command gets an inline keyboard; pressing a button answers and edits the message."""
    app = build_app(emu)
    app.add_handler(CommandHandler("start", ask))
    app.add_handler(CallbackQueryHandler(pressed))
    async with running(app):
        await emu.user_sends(42, "/start")
        question = await emu.wait_for_message(42, "Kies:")
        buttons = question["reply_markup"]["inline_keyboard"][0]
        assert [b["callback_data"] for b in buttons] == ["yes", "no"]
        query_id = await emu.user_presses(42, question["message_id"], "yes")
        await emu.wait_for(lambda: emu.sent(42)[-1]["text"] == "Gekozen: yes")
    assert query_id in emu.answered_callbacks()
    assert emu.callback_answer(query_id) == {"callback_query_id": query_id, "text": "ok"}
    [edited] = emu.sent(42)
    # Editing the text without a keyboard removes it, as on Telegram.
    assert edited["reply_markup"] is None
    assert edited["message_id"] == question["message_id"]
    assert "edit_date" in edited
    with pytest.raises(ValueError, match="no button"):
        await emu.user_presses(42, question["message_id"], "yes")


async def test_group_chat_and_other_kinds(emu: BotApiEmulator) -> None:
    """Negative ids are supergroups called Officers; non-text messages reach their filters."""
    seen: list[tuple[str, str | None, str]] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        kind = next(
            name
            for name in ("text", "photo", "voice", "sticker", "location", "document")
            if getattr(message, name)
        )
        seen.append((message.chat.type, message.chat.title, kind))

    app = build_app(emu)
    app.add_handler(MessageHandler(filters.ALL, record))
    async with running(app):
        update = await emu.user_sends(-100777, "wie helpt mij?")
        for kind in ("photo", "voice", "sticker", "location", "document"):
            await emu.user_sends_other(-100777, kind)
        await emu.wait_for(lambda: len(seen) == 6)
    assert update["message"]["from"]["id"] != -100777
    assert seen[0] == ("supergroup", "Officers", "text")
    assert [kind for *_, kind in seen[1:]] == ["photo", "voice", "sticker", "location", "document"]


async def test_user_reply_carries_the_original(emu: BotApiEmulator) -> None:
    """A user's reply includes the full message replied to."""
    async with initialized(emu) as app:
        sent = await app.bot.send_message(42, "Wat is je vraag?")
        update = await emu.user_sends(42, "over vergunningen", reply_to=sent.message_id)
    original = update["message"]["reply_to_message"]
    assert original["message_id"] == sent.message_id
    assert original["text"] == "Wat is je vraag?"
    with pytest.raises(ValueError):
        await emu.user_sends(42, "hm", reply_to=999)


# --- webhook ----------------------------------------------------------------------------------


async def test_webhook_delivers_in_order_with_secret(emu: BotApiEmulator) -> None:
    """With a webhook set, updates are POSTed in order with the secret and handled by PTB."""
    app = build_app(emu, polling=False)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    secrets: list[str | None] = []
    order: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get(SECRET_HEADER))
        if request.headers.get(SECRET_HEADER) != "s3cret":
            return web.Response(status=403)
        data = await request.json()
        order.append(data["update_id"])
        await app.update_queue.put(Update.de_json(data, app.bot))
        return web.Response()

    async with webhook_server(hook) as url, running(app, polling=False):
        assert await app.bot.set_webhook(url, secret_token="s3cret")
        updates = [await emu.user_sends(7, f"bericht {n}") for n in range(5)]
        await emu.wait_for(lambda: len(emu.sent(7)) == 5)
        assert order == [u["update_id"] for u in updates]
        assert secrets == ["s3cret"] * 5
        info = await app.bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        with pytest.raises(Conflict, match="webhook is active"):
            await app.bot.get_updates()

        # A secret the server does not expect: it refuses, Telegram retries, then gives up.
        await app.bot.set_webhook(url, secret_token="wrong")
        lost = await emu.user_sends(7, "kwijt")
        await emu.wait_for(lambda: len(emu.webhook_deliveries()) == 5 + 3)
        info = await app.bot.get_webhook_info()
    assert secrets[5:] == ["wrong"] * 3
    assert [d.status for d in emu.webhook_deliveries()[5:]] == [403] * 3
    assert {d.update_id for d in emu.webhook_deliveries()[5:]} == {lost["update_id"]}
    assert info.last_error_message is not None and "403" in info.last_error_message
    assert len(emu.sent(7)) == 5


async def test_webhook_retries_until_the_server_answers(emu: BotApiEmulator) -> None:
    """Non-2xx answers are retried with back-off; the next success delivers the update."""
    statuses = [502, 500, 200]

    async def flaky(request: web.Request) -> web.Response:
        return web.Response(status=statuses.pop(0))

    async with webhook_server(flaky) as url, initialized(emu) as app:
        await app.bot.set_webhook(url)
        await emu.user_sends(7, "hallo")
        await emu.wait_for(lambda: not statuses)
        await emu.wait_for(lambda: not emu.pending_updates())
        assert [d.status for d in emu.webhook_deliveries()] == [502, 500, 200]
        await app.bot.delete_webhook()
        # Without a webhook, updates wait for getUpdates again.
        await emu.user_sends(7, "weer polling")
        [update] = await app.bot.get_updates()
    assert update.message is not None and update.message.text == "weer polling"


# --- errors -----------------------------------------------------------------------------------


async def test_bad_requests(emu: BotApiEmulator) -> None:
    """Too long, bad HTML, unknown and unmodified edits fail like on Telegram."""
    async with initialized(emu) as app:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await app.bot.send_message(42, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await app.bot.send_message(42, "<b>vet</i>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await app.bot.send_message(42, "1 < 2", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await app.bot.edit_message_text("nieuw", chat_id=42, message_id=99)
        message = await app.bot.send_message(42, "x" * 4096, reply_markup=KEYBOARD)
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await app.bot.edit_message_text(
                "x" * 4096, chat_id=42, message_id=message.message_id, reply_markup=KEYBOARD
            )
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await app.bot.edit_message_reply_markup(42, message.message_id, reply_markup=KEYBOARD)
    # Only the one valid message was sent; failed calls left nothing behind.
    assert [len(m["text"]) for m in emu.sent(42)] == [4096]


async def test_html_is_stored_as_telegram_shows_it(emu: BotApiEmulator) -> None:
    """HTML text is kept without tags (as ``text``) and raw (as ``html``)."""
    raw = '<b>Let op</b> &lt;3 &amp; <a href="https://rotterdam.nl/?a=1&amp;b=2">hier</a>'
    async with initialized(emu) as app:
        message = await app.bot.send_message(42, raw, parse_mode=ParseMode.HTML)
    assert message.text == "Let op <3 & hier"
    [stored] = emu.sent(42)
    assert (stored["text"], stored["html"], stored["parse_mode"]) == (message.text, raw, "HTML")


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("<b>a</b><strong>b</strong><i>c</i><em>d</em><u>e</u><s>f</s>", "abcdef"),
        ('<pre><code class="language-python">x &gt; 1</code></pre>', "x > 1"),
        ("<blockquote expandable>q</blockquote> &quot;&#39;&#x41;", "q \"'A"),
        ("AT&T &nbsp;", "AT&T &nbsp;"),
    ],
)
def test_parse_html_accepts(raw: str, plain: str) -> None:
    """Supported tags and entities give the plain text."""
    assert parse_html(raw) == plain


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("<b>open", "Can't find end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<br/>", "Unsupported start tag"),
        ("x</b>", "Unexpected end tag"),
        ("a <b", "Unclosed start tag"),
    ],
)
def test_parse_html_refuses(raw: str, reason: str) -> None:
    """Unbalanced, unknown and unclosed tags are refused."""
    with pytest.raises(ValueError, match=reason):
        parse_html(raw)


async def test_blocked_and_unknown(emu: BotApiEmulator) -> None:
    """A blocked chat gives Forbidden; a wrong token and an unknown method are refused."""
    emu.block(42)
    async with initialized(emu) as app:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(42, "hallo")
        with pytest.raises(EndPointNotFound):
            await app.bot.do_api_request("noSuchMethod")
    assert emu.sent(42) == []
    wrong = build_app(emu, token="999:WRONG", polling=False)
    try:
        with pytest.raises(InvalidToken, match="rejected by the server"):
            await wrong.initialize()
    finally:
        # A failed initialize leaves the bot's HTTP client open; only the bot can close it.
        await wrong.bot.shutdown()


# PTB 22 warns about its own int ``retry_after`` when it builds RetryAfter; nothing to act on.
@pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
async def test_injected_faults_take_no_effect(emu: BotApiEmulator) -> None:
    """fail_next gives RetryAfter or NetworkError once and sends nothing; then all is well."""
    emu.fail_next("sendMessage", status=429, retry_after=1)
    emu.fail_next("sendMessage", status=502)
    async with initialized(emu) as app:
        with pytest.raises(RetryAfter, match="Retry in 1 seconds"):
            await app.bot.send_message(42, "een")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(42, "twee")
        await app.bot.send_message(42, "drie")
    assert [m["text"] for m in emu.sent(42)] == ["drie"]
    assert [c.status for c in emu.call_log() if c.method == "sendMessage"] == [429, 502, 200]


# PTB 22 warns about its own int ``retry_after`` when it builds RetryAfter; nothing to act on.
@pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
async def test_fault_rate_is_seeded_and_effect_free(emu: BotApiEmulator) -> None:
    """A random share of calls fails; exactly the successful sends are in the chat."""
    emu.set_fault_rate(0.5, seed=3, methods=["sendMessage"])
    delivered: list[str] = []
    failures: set[type[TelegramError]] = set()
    async with initialized(emu) as app:
        for n in range(30):
            try:
                await app.bot.send_message(42, f"bericht {n}")
            except (RetryAfter, NetworkError) as error:
                failures.add(type(error))
            else:
                delivered.append(f"bericht {n}")
    assert [m["text"] for m in emu.sent(42)] == delivered
    assert 5 < len(delivered) < 25
    assert failures == {RetryAfter, NetworkError}


async def test_timeout_fault_times_out_the_client(emu: BotApiEmulator) -> None:
    """A "timeout" fault answers after the client's read timeout: PTB raises TimedOut."""
    emu.timeout_delay = 0.5
    emu.fail_next("sendMessage", status="timeout")
    app = ApplicationBuilder().token(TOKEN).base_url(emu.base_url).read_timeout(0.2).build()
    async with running(app, polling=False):
        with pytest.raises(TimedOut):
            await app.bot.send_message(42, "traag")
        await app.bot.send_message(42, "snel")
    assert [m["text"] for m in emu.sent(42)] == ["snel"]


# --- other methods ----------------------------------------------------------------------------


async def test_commands_chat_and_actions(emu: BotApiEmulator) -> None:
    """Commands are kept per scope and language; getChat and sendChatAction work."""
    async with initialized(emu) as app:
        assert await app.bot.set_my_commands([("start", "Begin"), ("help", "Hulp")])
        assert await app.bot.set_my_commands([("start", "Start")], language_code="en")
        commands = await app.bot.get_my_commands()
        assert [(c.command, c.description) for c in commands] == [
            ("start", "Begin"),
            ("help", "Hulp"),
        ]
        assert [c.command for c in await app.bot.get_my_commands(language_code="en")] == ["start"]
        assert await app.bot.delete_my_commands()
        assert await app.bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await app.bot.set_my_commands([("Start!", "x")])

        await emu.user_sends(-100777, "hoi")
        chat = await app.bot.get_chat(-100777)
        assert (chat.type, chat.title) == ("supergroup", "Officers")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await app.bot.get_chat(31337)
        assert await app.bot.send_chat_action(-100777, ChatAction.TYPING)
        assert await app.bot.close()
        assert await app.bot.log_out()


async def test_long_poll_returns_when_an_update_arrives(emu: BotApiEmulator) -> None:
    """getUpdates with a long timeout answers as soon as something is injected."""
    async with initialized(emu) as app:
        loop = asyncio.get_running_loop()
        started = loop.time()
        poll = asyncio.create_task(app.bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        await emu.user_sends(42, "nu")
        [update] = await poll
        assert loop.time() - started < 1.0
        # An offset past the update confirms it: it is not served again.
        assert await app.bot.get_updates(offset=update.update_id + 1) == ()


async def test_parameter_encodings(emu: BotApiEmulator) -> None:
    """JSON, urlencoded and multipart bodies give the same message; a wrong token gets 401."""
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}]]}
    url = f"{emu.base_url}{TOKEN}/sendMessage"
    form = {"chat_id": "42", "text": "123", "reply_markup": json.dumps(markup)}
    multipart = aiohttp.FormData(form)
    multipart.add_field("document", b"%PDF", filename="a.pdf")
    async with aiohttp.ClientSession() as session:
        for kwargs in (
            {"json": {"chat_id": 42, "text": "123", "reply_markup": markup}},
            {"data": form},
            {"data": multipart},
        ):
            async with session.post(url, **kwargs) as response:
                body = await response.json()
                assert response.status == 200, body
                assert (body["result"]["text"], body["result"]["reply_markup"]) == ("123", markup)
        async with session.post(f"{emu.base_url}1:NOPE/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{emu.base_url}{TOKEN}/nope") as response:
            assert (response.status, (await response.json())["description"]) == (
                404,
                "Not Found: method not found",
            )
    assert [m["message_id"] for m in emu.sent(42)] == [1, 2, 3]


async def test_wait_for_explains_a_timeout(emu: BotApiEmulator) -> None:
    """A failed wait names what the bot did do."""
    async with initialized(emu) as app:
        await app.bot.send_message(42, "iets anders")
    with pytest.raises(AssertionError, match="iets anders") as failure:
        await emu.wait_for_message(42, "verwacht", timeout=0.1)
    assert "sendMessage" in str(failure.value)
