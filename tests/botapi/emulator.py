"""A local Telegram Bot API emulator for tests: real HTTP, in-memory chats, fault injection.

Start it with ``async with BotApiEmulator(token=...) as emu`` and point python-telegram-bot (or a
subprocess, via LOKETBOT_TELEGRAM_API_URL) at ``emu.base_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

JSON = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
DEFAULT_GROUP_TITLE = "Officers"
DEFAULT_GROUP_USER_ID = 5001
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# Form values are strings; these stay strings, every other one is JSON-decoded when it parses
# (PTB sends nested objects and numbers JSON-encoded, plain strings as they are).
_STRING_PARAMS = frozenset(
    {
        "text",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "callback_query_id",
        "inline_message_id",
        "action",
        "language_code",
        "caption",
        "data",
        "business_connection_id",
        "message_effect_id",
    }
)
# In a JSON body these may still arrive as JSON strings, which Telegram accepts too.
_OBJECT_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "commands",
        "scope",
        "allowed_updates",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]+)?")
_OTHER_KINDS: dict[str, JSON] = {
    "photo": {
        "photo": [
            {"file_id": "photo-s", "file_unique_id": "ps", "width": 90, "height": 67},
            {"file_id": "photo-m", "file_unique_id": "pm", "width": 800, "height": 600},
        ]
    },
    "voice": {
        "voice": {
            "file_id": "voice-1",
            "file_unique_id": "v1",
            "duration": 3,
            "mime_type": "audio/ogg",
        }
    },
    "sticker": {
        "sticker": {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
    },
    "location": {"location": {"latitude": 51.9225, "longitude": 4.47917}},
    "document": {
        "document": {
            "file_id": "document-1",
            "file_unique_id": "d1",
            "file_name": "aanvraag.pdf",
            "mime_type": "application/pdf",
        }
    },
}


class ApiError(Exception):
    """A Bot API error answer, raised inside a method and turned into the JSON error reply."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The reply body, shaped like Telegram's."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class HtmlParseError(ValueError):
    """Text with parse_mode HTML that Telegram would refuse."""


# ---------------------------------------------------------------------------------------------
# HTML (parse_mode="HTML") as Telegram reads it

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z]+));")
_TAG_NAME_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]*)")
_ATTR_RE = re.compile(r"\s+([A-Za-z][A-Za-z0-9-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports positions in UTF-8 bytes, not characters.
    return len(text[:index].encode("utf-8"))


def _unescape(text: str) -> str:
    """Replace the entities Telegram knows; unknown named ones stay literal."""

    def one(match: re.Match[str]) -> str:
        decimal, hexadecimal, name = match.groups()
        if name is not None:
            return _NAMED_ENTITIES.get(name, match.group(0))
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        return chr(code) if 0 < code <= 0x10FFFF else match.group(0)

    return _ENTITY_RE.sub(one, text)


def _parse_attributes(raw: str, where: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    position = 0
    while position < len(raw.rstrip()):
        match = _ATTR_RE.match(raw, position)
        if match is None:
            raise HtmlParseError(f"Can't parse attributes of a start tag at byte offset {where}")
        value = match.group(2) or ""
        if value[:1] in {'"', "'"}:
            value = value[1:-1]
        attributes[match.group(1).lower()] = _unescape(value)
        position = match.end()
    return attributes


def parse_html(raw: str) -> str:
    """The plain text Telegram keeps of ``raw`` sent with parse_mode HTML; raise if it refuses."""
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "&":
            match = _ENTITY_RE.match(raw, index)
            out.append(_unescape(match.group(0)) if match else "&")
            index = match.end() if match else index + 1
            continue
        if char != "<":
            out.append(char)
            index += 1
            continue
        where = _byte_offset(raw, index)
        end = raw.find(">", index)
        if end == -1:
            raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
        inner = raw[index + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise HtmlParseError(f'Unexpected end tag "{name}" at byte offset {where}')
            if name != stack[-1]:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {where}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
        else:
            match = _TAG_NAME_RE.match(inner)
            name = match.group(1).lower() if match else ""
            if name not in _HTML_TAGS or inner.rstrip().endswith("/"):
                raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {where}')
            attributes = _parse_attributes(inner[len(name) :], where)
            if name == "span" and attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {where}'
                )
            stack.append(name)
        index = end + 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class Call:
    """One API request the emulator received."""

    method: str
    params: JSON
    at: float
    status: int = 0


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None = None


@dataclass
class _Fault:
    status: int | None  # None: answer only after the client has given up (a timeout)
    retry_after: int | None = None


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_message_id: int = 0
    messages: dict[int, JSON] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)

    def public(self) -> JSON:
        """The Chat object as it appears inside a Message."""
        chat: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or "Test"
        else:
            chat["title"] = self.title or DEFAULT_GROUP_TITLE
        return chat


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[JSON]:
    # Telegram marks /commands in user messages; PTB's CommandHandler relies on these entities.
    return [
        {
            "type": "bot_command",
            "offset": _utf16_len(text[: match.start()]),
            "length": _utf16_len(match.group(0)),
        }
        for match in _BOT_COMMAND_RE.finditer(text)
    ]


def _public_message(message: JSON) -> JSON:
    """A stored message as the API returns it: no emulator-only keys, only inline markup."""
    public = {key: value for key, value in message.items() if not key.startswith("_")}
    markup = public.get("reply_markup")
    if not (isinstance(markup, dict) and "inline_keyboard" in markup):
        # Telegram echoes only inline keyboards back; reply keyboards are not part of a Message.
        public.pop("reply_markup", None)
    return public


async def _sleep_unless(event: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake early when ``event`` is set (so shutting down never waits)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


# ---------------------------------------------------------------------------------------------
# Parameter helpers


def _as_int(params: JSON, key: str, *, missing: str | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        if missing is not None:
            raise ApiError(400, f"Bad Request: {missing}")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ApiError(400, f"Bad Request: invalid {key} specified")


def _as_bool(params: JSON, key: str) -> bool:
    value = params.get(key, False)
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)


def _as_object(params: JSON, key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    return value


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


# ---------------------------------------------------------------------------------------------
# The emulator

Method = Callable[[JSON], Awaitable[Any]]


class BotApiEmulator:
    """An in-memory Telegram Bot API served over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_first_name: str = "LoketBot",
        bot_username: str = "loketbot_test_bot",
        strict_chats: bool = False,
        webhook_retries: int = 3,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 5.0,
        timeout_delay: float = 6.0,
    ) -> None:
        """``strict_chats``: sending to a chat nobody wrote from yet gives "chat not found"."""
        self.token = token
        self.strict_chats = strict_chats
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        # A "timeout" fault answers after this many seconds: above PTB's default 5 s read timeout.
        self.timeout_delay = timeout_delay
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.base_url = ""
        self.base_file_url = ""
        self.port = 0

        self._log: list[Call] = []
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, str] = {}
        self._blocked: set[int] = set()
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(10_000_001)
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._callbacks: dict[str, JSON] = {}  # open callback queries by id
        self._answered: dict[str, JSON] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook: JSON | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._deliveries: list[WebhookDelivery] = []
        self._poll_generation = 0

        self._fail_next: dict[str, list[_Fault]] = {}
        self._fault_rate = 0.0
        self._fault_statuses: tuple[int, ...] = (429, 502)
        self._timeout_share = 0.0
        self._fault_methods: frozenset[str] | None = None
        self._fault_retry_after = 1
        self._rng = random.Random(0)
        self._held: frozenset[str] = frozenset()
        self._waiting_held = 0
        self._release = asyncio.Event()

        self._methods: dict[str, tuple[str, Method]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._deliverer: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._wakeup = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1 and start the webhook deliverer."""
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Short shutdown timeout: every waiting handler wakes on close anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"
        self._session = ClientSession()
        self._deliverer = asyncio.create_task(self._deliver_webhooks(), name="emulator-webhook")

    async def stop(self) -> None:
        """Wake every waiting request, stop delivering and close the server."""
        self._closed.set()
        self._notify()
        if self._deliverer is not None:
            self._deliverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deliverer
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test side: users act ------------------------------------------------------------------

    async def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Test",
        chat_type: str | None = None,
        reply_to: int | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Inject a text message from a user; return the update.

        ``chat_type`` None means "private" for chat_id > 0, else the group's type (supergroup).
        """
        message = self._user_message(chat_id, user_id, first_name, chat_type, language_code)
        message["text"] = text
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            original = self._chat(chat_id).messages.get(reply_to)
            if original is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            message["reply_to_message"] = self._without_reply(original)
        return self._enqueue({"message": self._store(message)})

    async def user_sends_other(
        self, chat_id: int, kind: str, *, user_id: int | None = None, first_name: str = "Test"
    ) -> JSON:
        """Inject a message without text: kind is photo, voice, sticker, location or document."""
        if kind not in _OTHER_KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {sorted(_OTHER_KINDS)}")
        message = self._user_message(chat_id, user_id, first_name, None, None)
        message.update(copy.deepcopy(_OTHER_KINDS[kind]))
        return self._enqueue({"message": self._store(message)})

    async def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        first_name: str = "Test",
        check_button: bool = True,
    ) -> str:
        """Inject a callback_query for a button on a bot message; return the query id.

        ``check_button=False`` allows data no current button carries (a stale keyboard).
        """
        chat = self._chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message_id not in chat.bot_message_ids:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if check_button:
            markup = message.get("reply_markup") or {}
            offered = [
                button.get("callback_data")
                for row in markup.get("inline_keyboard", [])
                for button in row
            ]
            if data not in offered:
                raise ValueError(f"message {message_id} has no button {data!r}; it has {offered}")
        user = self._user(chat, user_id, first_name, None)
        query_id = str(next(self._callback_ids))
        query: JSON = {
            "id": query_id,
            "from": user,
            "message": _public_message(message),
            "chat_instance": str(abs(chat_id) * 7919 + 17),
            "data": data,
        }
        self._callbacks[query_id] = query
        self._enqueue({"callback_query": query})
        return query_id

    def set_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str | None = None,
    ) -> None:
        """Declare or change a chat: its type ("private", "group", "supergroup") and title."""
        chat = self._chat(chat_id)
        if chat_type is not None:
            self._check_type(chat_id, chat_type)
            chat.type = chat_type
        if title is not None:
            chat.title = title
        if first_name is not None:
            chat.first_name = first_name

    def block(self, chat_id: int) -> None:
        """From now on the bot gets 403 when writing to this chat."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    # -- test side: inspection -----------------------------------------------------------------

    def sent(self, chat_id: int) -> list[JSON]:
        """The bot's messages in a chat, oldest first, as they are now (edits applied)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        records = []
        for message_id in chat.bot_message_ids:
            message = chat.messages[message_id]
            record = _public_message(message)
            record["reply_markup"] = message.get("reply_markup")
            record["html"] = message.get("_html")
            record["parse_mode"] = message.get("_parse_mode")
            record["reply_to_message_id"] = (message.get("reply_to_message") or {}).get(
                "message_id"
            )
            records.append(copy.deepcopy(record))
        return records

    def sent_count(self, chat_id: int) -> int:
        """How many messages the bot has sent to a chat: cheap, for waiting on many chats."""
        chat = self._chats.get(chat_id)
        return len(chat.bot_message_ids) if chat is not None else 0

    def calls(self, method: str | None = None) -> list[tuple[str, JSON]]:
        """Every API call received, in order, as (method, params); filter by method name."""
        wanted = method.lower() if method else None
        return [
            (call.method, call.params)
            for call in self._log
            if wanted is None or call.method.lower() == wanted
        ]

    def call_log(self) -> list[Call]:
        """Every API call received, with arrival time and the HTTP status answered."""
        return list(self._log)

    def answered_callbacks(self) -> set[str]:
        """Ids of the callback queries the bot has answered."""
        return set(self._answered)

    def callback_answer(self, query_id: str) -> JSON | None:
        """The parameters of the bot's answerCallbackQuery for this query, if any."""
        return self._answered.get(query_id)

    def pending_updates(self) -> list[JSON]:
        """Updates injected but not yet confirmed (polling) or delivered (webhook)."""
        return copy.deepcopy(self._pending)

    def forget_webhook(self) -> None:
        """Stop delivering to the webhook (as deleteWebhook), so the test can deliver instead."""
        self._webhook = None

    def take_updates(self) -> list[JSON]:
        """Take the pending updates out, for a test that delivers them itself (a load balancer)."""
        taken, self._pending = self._pending, []
        return taken

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every POST attempt to the webhook, in order."""
        return list(self._deliveries)

    def dump(self, last: int = 20) -> str:
        """Recent calls, one a line, for failure messages."""
        lines = []
        for call in self._log[-last:]:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            if len(params) > 200:
                params = params[:197] + "..."
            lines.append(f"  {call.status or '...'} {call.method} {params}")
        return "\n".join(lines) or "  (no calls)"

    # The harness API takes a plain ``timeout`` like the rest of the test helpers do.
    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Poll until ``predicate()`` is truthy; else fail with the recent calls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise AssertionError(
                    f"condition not met within {timeout} s; last calls:\n{self.dump()}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> JSON:
        """Wait for a bot message in the chat whose text contains ``contains``; return the latest.

        ``since``: only messages with a larger message_id count (to skip older ones).
        """
        found: list[JSON] = []

        def check() -> bool:
            found[:] = [
                message
                for message in self.sent(chat_id)
                if message["message_id"] > since and contains in (message.get("text") or "")
            ]
            return bool(found)

        try:
            await self.wait_for(check, timeout)
        except AssertionError as error:
            texts = [message.get("text") for message in self.sent(chat_id)]
            raise AssertionError(
                f"no bot message containing {contains!r} in chat {chat_id}; it has {texts}\n{error}"
            ) from None
        return found[-1]

    # -- test side: faults ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int | Literal["timeout"] = 429,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next ``count`` calls of a method fail (without effect).

        status "timeout" answers only after ``timeout_delay`` seconds; 429 carries retry_after
        (default 1).
        """
        fault = _Fault(None if status == "timeout" else int(status), retry_after)
        self._fail_next.setdefault(method.lower(), []).extend(fault for _ in range(count))

    def set_fault_rate(
        self,
        rate: float,
        *,
        statuses: Iterable[int] = (429, 502),
        timeout_share: float = 0.0,
        seed: int = 0,
        methods: Iterable[str] | None = None,
        retry_after: int = 1,
    ) -> None:
        """Fail a random share ``rate`` of calls (of ``methods``, default all); 0 turns it off.

        Of the failures, ``timeout_share`` are timeouts, the rest get a status from ``statuses``.
        """
        self._fault_rate = rate
        self._fault_statuses = tuple(statuses)
        self._timeout_share = timeout_share
        self._rng = random.Random(seed)
        self._fault_methods = frozenset(m.lower() for m in methods) if methods else None
        self._fault_retry_after = retry_after

    def hold(self, *methods: str) -> None:
        """Keep calls of ``methods`` waiting, without effect, until ``release``.

        A held call whose client has gone (a killed bot) takes no effect when released: the
        request never reached Telegram. Use it to kill a bot with sends in flight.
        """
        self._held = frozenset(m.lower() for m in methods)
        self._release = asyncio.Event()

    def release(self) -> None:
        """Let held calls through (those whose client is still there)."""
        self._held = frozenset()
        self._release.set()

    def held(self) -> int:
        """How many calls wait in ``hold`` now."""
        return self._waiting_held

    def clear_faults(self) -> None:
        """Forget queued faults and turn off the fault rate."""
        self._fail_next.clear()
        self._fault_rate = 0.0

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._reply(ApiError(401, "Unauthorized").body(), 401)
        raw_method = request.match_info["method"]
        entry = self._methods.get(raw_method.lower())
        try:
            params = await self._read_params(request)
        except ApiError as error:
            self._log.append(Call(raw_method, {}, time.time(), error.status))
            return self._reply(error.body(), error.status)
        call = Call(entry[0] if entry else raw_method, params, time.time())
        self._log.append(call)
        if entry is None:
            call.status = 404
            return self._reply(ApiError(404, "Not Found: method not found").body(), 404)
        if call.method.lower() in self._held:
            self._waiting_held += 1
            try:
                await self._release.wait()
            finally:
                self._waiting_held -= 1
            if request.transport is None or request.transport.is_closing():
                call.status = 499  # the client went away: Telegram never saw the request
                return self._reply(ApiError(499, "Client Closed Request").body(), 499)
        fault = self._pick_fault(call.method)
        try:
            if fault is not None:
                await self._raise_fault(fault)
            result = await entry[1](params)
        except ApiError as error:
            call.status = error.status
            return self._reply(error.body(), error.status)
        call.status = 200
        body: JSON = {"ok": True, "result": result}
        if call.method == "setWebhook":
            body["description"] = "Webhook was set"
        return self._reply(body, 200)

    @staticmethod
    def _reply(body: JSON, status: int) -> web.Response:
        return web.json_response(body, status=status)

    @staticmethod
    async def _read_params(request: web.Request) -> JSON:
        params: JSON = {key: _decode_form_value(key, value) for key, value in request.query.items()}
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: JSON object expected")
            for key, value in body.items():
                is_encoded = key in _OBJECT_PARAMS and isinstance(value, str)
                params[key] = _decode_form_value(key, value) if is_encoded else value
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = _decode_form_value(key, value)
                elif isinstance(value, FileField):
                    # An uploaded file: keep what a test may want to assert on, not the bytes.
                    params[key] = {"filename": value.filename, "content_type": value.content_type}
                else:
                    params[key] = _decode_form_value(key, bytes(value).decode("utf-8", "replace"))
        return params

    def _pick_fault(self, method: str) -> _Fault | None:
        queued = self._fail_next.get(method.lower())
        if queued:
            return queued.pop(0)
        if self._fault_rate <= 0:
            return None
        if self._fault_methods is not None and method.lower() not in self._fault_methods:
            return None
        if self._rng.random() >= self._fault_rate:
            return None
        if self._rng.random() < self._timeout_share:
            return _Fault(None)
        return _Fault(self._rng.choice(self._fault_statuses), self._fault_retry_after)

    async def _raise_fault(self, fault: _Fault) -> None:
        if fault.status is None:
            # The client has given up by now; what we answer no longer matters.
            await _sleep_unless(self._closed, self.timeout_delay)
            raise ApiError(504, "Gateway Timeout")
        if fault.status == 429:
            seconds = fault.retry_after or 1
            raise ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        raise ApiError(fault.status, _phrase(fault.status))

    # -- updates -------------------------------------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiter of the current event, and give later waiters a fresh one.
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _enqueue(self, body: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **body}
        self._pending.append(update)
        self._notify()
        return copy.deepcopy(update)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = _as_int(params, "offset") or 0
        limit = min(max(_as_int(params, "limit") or 100, 1), 100)
        timeout = max(_as_int(params, "timeout") or 0, 0)
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            # Asking from an offset confirms (forgets) every earlier update.
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        # A newer getUpdates ends an older long poll, as on Telegram (two bot instances).
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if self._pending or self._closed.is_set() or loop.time() >= deadline:
                return copy.deepcopy(self._pending[:limit])
            wakeup = self._wakeup
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), deadline - loop.time())

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if _as_bool(params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": _as_int(params, "max_connections") or 40,
            "allowed_updates": _as_object(params, "allowed_updates"),
        }
        self._webhook_error = None
        self._notify()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if _as_bool(params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        self._notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["allowed_updates"]:
                info["allowed_updates"] = self._webhook["allowed_updates"]
            info["ip_address"] = "127.0.0.1"
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook one by one, in order, retrying failures."""
        while not self._closed.is_set():
            if self._webhook is None or not self._pending:
                await self._wakeup.wait()
                continue
            update = self._pending[0]
            await self._post_update(update)
            # The queue may have been dropped or changed while we were posting.
            if self._pending and self._pending[0] is update:
                self._pending.pop(0)

    async def _post_update(self, update: JSON) -> bool:
        assert self._session is not None
        for attempt in range(1 + self.webhook_retries):
            webhook = self._webhook
            if webhook is None or self._closed.is_set():
                return False
            headers = {"Content-Type": "application/json"}
            if webhook["secret_token"]:
                headers[SECRET_HEADER] = webhook["secret_token"]
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    webhook["url"],
                    data=json.dumps(update),
                    headers=headers,
                    timeout=ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    status = response.status
                    await response.read()
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc or type(exc).__name__}"
            self._deliveries.append(
                WebhookDelivery(update["update_id"], webhook["url"], status, error)
            )
            if status is not None and error is None:
                if 200 <= status < 300:
                    return True
                error = f"Wrong response from the webhook: {status} {_phrase(status)}"
            self._webhook_error = (int(time.time()), error or "Connection failed")
            if attempt < self.webhook_retries:
                await _sleep_unless(self._closed, self.webhook_backoff * 2**attempt)
        # Telegram would keep trying for hours; a test harness gives up and drops the update.
        return False

    # -- chats and messages --------------------------------------------------------------------

    @staticmethod
    def _check_type(chat_id: int, chat_type: str) -> None:
        if chat_type not in {"private", "group", "supergroup", "channel"}:
            raise ValueError(f"unknown chat type {chat_type!r}")
        if (chat_type == "private") != (chat_id > 0):
            raise ValueError(f"chat {chat_id} cannot be {chat_type}: private chats have ids > 0")

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat_type = "private" if chat_id > 0 else "supergroup"
            chat = self._chats[chat_id] = _Chat(chat_id, chat_type)
        return chat

    def _api_chat(self, params: JSON) -> _Chat:
        value = params.get("chat_id")
        if value is None or value == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            raise ApiError(400, "Bad Request: chat not found")
        chat_id = _as_int(params, "chat_id")
        assert chat_id is not None
        if chat_id not in self._chats and (self.strict_chats or chat_id == 0):
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id)

    def _check_blocked(self, chat: _Chat) -> None:
        if chat.id not in self._blocked:
            return
        if chat.type == "private":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        kind = "group" if chat.type == "group" else "supergroup"
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _user(
        self, chat: _Chat, user_id: int | None, first_name: str, language_code: str | None
    ) -> JSON:
        if user_id is None:
            user_id = chat.id if chat.type == "private" else DEFAULT_GROUP_USER_ID
        self._users[user_id] = first_name
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str,
        chat_type: str | None,
        language_code: str | None,
    ) -> JSON:
        chat = self._chat(chat_id)
        if chat_type is not None:
            self._check_type(chat_id, chat_type)
            chat.type = chat_type
        if chat.type == "private":
            chat.first_name = first_name
        return {
            "chat": chat.public(),
            "from": self._user(chat, user_id, first_name, language_code),
        }

    def _store(self, message: JSON, *, from_bot: bool = False) -> JSON:
        """Number the message in its chat, keep it, and return its public form."""
        chat = self._chats[message["chat"]["id"]]
        chat.last_message_id += 1
        stored = {"message_id": chat.last_message_id, "date": int(time.time()), **message}
        chat.messages[chat.last_message_id] = stored
        if from_bot:
            chat.bot_message_ids.append(chat.last_message_id)
        return _public_message(stored)

    @staticmethod
    def _without_reply(message: JSON) -> JSON:
        # Telegram nests replies one level deep only.
        public = _public_message(message)
        public.pop("reply_to_message", None)
        return public

    @staticmethod
    def _text(params: JSON) -> tuple[str, str | None, str | None]:
        """The plain text, the raw HTML (if any) and the parse mode of a text parameter."""
        raw = params.get("text")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise ApiError(400, "Bad Request: message text is empty")
        raw = str(raw)
        parse_mode = params.get("parse_mode") or None
        text, html = raw, None
        if parse_mode is not None and parse_mode not in {"HTML", "MarkdownV2", "Markdown"}:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if parse_mode == "HTML":
            try:
                text = parse_html(raw)
            except HtmlParseError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
            html = raw
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text, html, parse_mode

    @staticmethod
    def _markup(params: JSON, *, inline_only: bool = False) -> JSON | None:
        markup = _as_object(params, "reply_markup")
        if markup is None:
            return None
        bad = ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise bad
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad
            for button in (button for row in rows for button in row):
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad
                if not _BUTTON_ACTIONS & button.keys():
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                data = button.get("callback_data")
                if data is not None and not (
                    0 < len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            return markup
        if inline_only:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise bad
        return markup

    # -- methods -------------------------------------------------------------------------------

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._api_chat(params)
        self._check_blocked(chat)
        text, html, parse_mode = self._text(params)
        markup = self._markup(params)
        message: JSON = {"chat": chat.public(), "from": dict(self.bot_user), "text": text}
        reply = _as_object(params, "reply_parameters") or {}
        reply_id = _as_int(params, "reply_to_message_id")
        allow_missing = _as_bool(params, "allow_sending_without_reply")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            reply_id = int(reply["message_id"])
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if reply_id is not None:
            original = chat.messages.get(reply_id)
            if original is not None:
                message["reply_to_message"] = self._without_reply(original)
            elif not allow_missing:
                raise ApiError(400, "Bad Request: message to be replied not found")
        preview = _as_object(params, "link_preview_options")
        if preview is None and _as_bool(params, "disable_web_page_preview"):
            preview = {"is_disabled": True}
        if preview:
            message["link_preview_options"] = preview
        if markup is not None:
            message["reply_markup"] = markup
        message["_html"] = html
        message["_parse_mode"] = parse_mode
        return self._store(message, from_bot=True)

    def _editable(self, params: JSON) -> tuple[_Chat, JSON]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not emulated")
        chat = self._api_chat(params)
        message_id = _as_int(params, "message_id", missing="message identifier is not specified")
        message = chat.messages.get(message_id or 0)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message_id not in chat.bot_message_ids:
            raise ApiError(400, "Bad Request: message can't be edited")
        self._check_blocked(chat)
        return chat, message

    async def _edit_message_text(self, params: JSON) -> JSON:
        _, message = self._editable(params)
        text, html, parse_mode = self._text(params)
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = self._markup(params, inline_only=True)
        current = (message["text"], message.get("_html"), message.get("reply_markup"))
        if (text, html, markup) == current:
            raise ApiError(400, NOT_MODIFIED)
        message.update(text=text, _html=html, _parse_mode=parse_mode, edit_date=int(time.time()))
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return _public_message(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        _, message = self._editable(params)
        markup = self._markup(params, inline_only=True)
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["edit_date"] = int(time.time())
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return _public_message(message)

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks or query_id in self._answered:
            raise ApiError(400, QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered[query_id] = dict(params)
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._api_chat(params)
        self._check_blocked(chat)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        chat_id = _as_int(params, "chat_id", missing="chat_id is empty")
        chat = self._chats.get(chat_id or 0)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        info = chat.public()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = _as_object(params, "scope") or {"type": "default"}
        language = str(params.get("language_code") or "")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = _as_object(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True
