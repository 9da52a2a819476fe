"""Telegram channel (python-telegram-bot 22): updates in, outbox rows out; only telegram import.

Initiators write in private chats; their updates go to the Desk. Officers work in one group:
replies to a ticket card, /antwoord NR text, /sluit NR, and the card's buttons go to Tickets.
Every reply leaves through the outbox (see outbox.py); this module's `deliver` sends a row.
Updates come in through telegram_intake.py (polling) or `feed` (webhook), and count as taken
only once their turn is stored: a turn the database could not take is retried, not dropped.
"""

from __future__ import annotations

__all__ = ["TelegramChannel", "keyboard", "render_html", "split_text"]

import asyncio
import contextlib
import html
import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from loketbot.channels.telegram_http import AiohttpRequest
from loketbot.channels.telegram_intake import ALLOWED_UPDATES, Intake, Result, chat_key
from loketbot.conversation.state import Inbound
from loketbot.conversation.texts import say
from loketbot.errors import StoreError
from loketbot.service.desk import Desk
from loketbot.service.lanes import Lanes
from loketbot.service.organisation import pass_target
from loketbot.service.sender import DeliveryFailed, DeliveryRetry
from loketbot.service.tickets import TicketError, Tickets, passed_to
from loketbot.store.store import ChatKey, OfficerRecord, OutboxRecord, Store

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Room for what escaping adds is not needed (Telegram counts the text after parsing
# entities), but a margin keeps emoji and other multi-unit characters safe.
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH - 96
TYPING_AFTER = 0.4
# Bot API calls under way at once; more wait for a free connection (the outbox sends at most
# one message per chat at a time, so this caps how many chats are sent to side by side).
SEND_CONNECTIONS = 32
# With more turns than this under way the bot is busy: "typing…" would cost each reply as much
# as the reply itself, so it is left out until the queue is gone.
TYPING_BUSY = 8
# One "temporary problem" notice per chat per outage, not one per message.
NOTICE_EVERY = 60.0
COMMANDS = {
    "nl": [
        ("start", "Begin en uitleg"),
        ("menu", "Kies een onderwerp"),
        ("mens", "Stel je vraag aan een verbindingsofficier"),
        ("contact", "Je vaste contactpersoon"),
        ("opnieuw", "Begin opnieuw"),
        ("taal", "Nederlands of English"),
        ("help", "Wat kan deze bot?"),
        ("privacy", "Wat we bewaren en hoe lang"),
        ("vergeet", "Verwijder je berichten en gegevens"),
    ],
    "en": [
        ("start", "Start and explanation"),
        ("menu", "Pick a topic"),
        ("mens", "Ask a liaison officer"),
        ("contact", "Your fixed contact"),
        ("opnieuw", "Start again"),
        ("taal", "Nederlands or English"),
        ("help", "What can this bot do?"),
        ("privacy", "What we keep and for how long"),
        ("vergeet", "Delete your messages and data"),
    ],
}
MAX_TICKET = 2**31 - 1  # ticket numbers are PostgreSQL integers
_ANSWER = re.compile(r"^/antwoord(?:@\w+)?\s+([0-9]{1,10})\s+(.+)$", re.DOTALL | re.IGNORECASE)
_CARD_TICKET = re.compile(r"^(?:Ticket|(?:Heropend, a|A)anvulling op ticket) ([0-9]{1,10})\b")
_CLOSE = re.compile(r"^/sluit(?:@\w+)?\s+([0-9]{1,10})\s*$", re.IGNORECASE)
# /doorzetten 12 Bram Jansen: notitie  — or "team Zuid"; the note is optional.
_PASS = re.compile(
    r"^/doorzetten(?:@\w+)?\s+([0-9]{1,10})\s+([^:\n]{1,200}?)\s*(?::\s*(.*))?$",
    re.DOTALL | re.IGNORECASE,
)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut `text` into messages of at most `limit` characters, at paragraph, line or word ends."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or window.rfind(" ")
        if cut <= limit // 4:  # no sensible boundary: cut hard rather than send tiny pieces
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def render_html(text: str, *, bold_first_line: bool = False) -> str:
    """Escape for ParseMode.HTML; optionally make the first line a bold header."""
    if not bold_first_line:
        return html.escape(text, quote=False)
    first, _, rest = text.partition("\n")
    header = f"<b>{html.escape(first, quote=False)}</b>"
    return header + ("\n" + html.escape(rest, quote=False) if rest else "")


def keyboard(buttons: Sequence[Sequence[str]]) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard: short labels two to a row, long ones alone."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for label, data in buttons:
        button = InlineKeyboardButton(label, callback_data=data)
        if len(label) <= 18 and rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= 18:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def _check_ids(update: Update) -> None:
    """Raise ValueError unless the update's ids are integers, as Telegram sends them.

    PTB takes whatever JSON says; a chat id "abc" would become a chat, a ticket and an outbox
    row that can never be delivered.
    """
    found: list[object] = [update.update_id]
    for part in (update.effective_chat, update.effective_user, update.effective_message):
        if part is not None:
            found.append(getattr(part, "id", None) or getattr(part, "message_id", None))
    for value in found:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
            raise ValueError("an id is not an integer")


def _kind(exc: BaseException) -> str:
    """An exception's type only: its message may quote the update's text."""
    return type(exc).__name__


def _user_lang(update: Update) -> str:
    user = update.effective_user
    code = (user.language_code if user else None) or ""
    return "en" if code.startswith("en") else "nl"


class _Limiter(AIORateLimiter):
    """PTB's limiter, but "typing…" does not wait behind real messages: it is no message, and
    under load a late one is worthless."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


class TelegramChannel:
    """Builds the PTB Application and sends outbox rows with its bot."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        desk: Desk,
        tickets: Tickets,
        store: Store,
        officers_chat: str | None,
        concurrency: int = 64,
        max_rate: float = 30.0,
    ) -> None:
        """Refuses to build without a token; `concurrency` bounds chats processed at once."""
        if not token:
            from loketbot.errors import ConfigError

            raise ConfigError(
                "LOKETBOT_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set the "
                "token it gives in LOKETBOT_TELEGRAM_TOKEN (or in loketbot.toml)"
            )
        self.desk = desk
        self.tickets = tickets
        self.store = store
        self.officers_chat = officers_chat
        self.concurrency = concurrency
        self.lanes = Lanes(concurrency)
        self._deferred: dict[int, Result] = {}
        self._turns_under_way = 0
        self._typing: set[asyncio.Future[None]] = set()
        self._noticed: dict[int, float] = {}
        # Kept, so they can be closed even when initialize() failed (PTB then closes nothing).
        self._requests = (
            AiohttpRequest(connections=SEND_CONNECTIONS),
            AiohttpRequest(connections=1),
        )
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_url.replace("/bot", "/file/bot"))
            # The outbox retries; the limiter only keeps us under Telegram's rates.
            .rate_limiter(_Limiter(overall_max_rate=max_rate, max_retries=0))
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .build()
        )
        private = filters.ChatType.PRIVATE
        app = self.application
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(MessageHandler(private & filters.TEXT, self.on_private_text))
        app.add_handler(
            MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_other)
        )
        # The shared officers' group and every team's own group (teams change while running,
        # so which group counts is checked per message in on_group_text).
        app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, self.on_group_text))
        app.add_error_handler(self.on_error)

    async def set_commands(self) -> None:
        """Publish the command menu in Dutch (default) and English; failure is not fatal."""
        bot = self.application.bot
        for lang, commands in COMMANDS.items():
            try:
                await bot.set_my_commands(
                    [BotCommand(c, d) for c, d in commands],
                    language_code=None if lang == "nl" else lang,
                )
            except TelegramError as exc:
                log.warning("setMyCommands (%s) failed, continuing: %s", lang, exc)

    async def drop_webhook(self) -> None:
        """Polling mode: remove a webhook left from earlier; failure is not fatal."""
        try:
            await self.application.bot.delete_webhook()
        except TelegramError as exc:
            log.warning("deleteWebhook failed, continuing: %s", exc)

    async def poll(self, stop: asyncio.Event) -> None:
        """Polling mode: fetch, process and confirm updates until `stop` is set."""
        intake = Intake(
            self.application.bot,
            self.process,
            give_up=self._give_up,
            concurrency=self.concurrency,
        )
        await intake.poll(stop)

    async def register_webhook(self, url: str, secret: str) -> None:
        """Webhook mode: tell Telegram where to post, with the secret it must send back."""
        await self.application.bot.set_webhook(
            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )

    async def close_requests(self) -> None:
        """Close the HTTP sessions to the Bot API (after application.shutdown(), or instead of it
        when initialize() failed half-way); harmless when they are closed already."""
        for request in self._requests:
            await request.shutdown()

    async def feed(self, data: dict[str, Any]) -> bool:
        """An update from the webhook route; False: not stored, Telegram should send it again."""
        update_id = data.get("update_id")
        try:
            update = Update.de_json(data, self.application.bot)
            _check_ids(update)
        except Exception as exc:
            # Telegram resends anything not answered 2xx, forever: an update that cannot be
            # read is dropped (with a note in the log, not its content) and answered ok.
            log.warning("webhook update %s skipped: cannot read it (%s)", update_id, _kind(exc))
            return True
        try:
            result = await self.lanes.run(chat_key(update), lambda: self.process(update))
        except StoreError:
            return False
        except Exception as exc:
            log.error("webhook update %s skipped: handling failed (%s)", update_id, _kind(exc))
            log.debug("webhook update %s", update_id, exc_info=True)
            return True
        return result == "done"

    async def process(self, update: Update) -> Result:
        """Run the update's handlers; says whether its turn was stored or must be retried."""
        await self.application.process_update(update)
        return self._deferred.pop(update.update_id, "done")

    async def _give_up(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            with contextlib.suppress(TelegramError):
                await self.application.bot.send_message(
                    chat.id, say("message_lost", _user_lang(update))
                )

    async def _defer(self, update: Update, exc: StoreError) -> None:
        """The turn was not stored: have it retried, and tell the user once that it waits."""
        self._deferred[update.update_id] = "wait" if exc.transient else "retry"
        log.warning("turn of update %s not stored, will retry: %s", update.update_id, exc)
        chat = update.effective_chat
        if not exc.transient or chat is None or chat.type != ChatType.PRIVATE:
            return
        now = asyncio.get_running_loop().time()
        if now - self._noticed.get(chat.id, -NOTICE_EVERY) < NOTICE_EVERY:
            return
        self._noticed[chat.id] = now
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_message(
                chat.id, say("temporary_problem", _user_lang(update))
            )

    # -- initiators ---------------------------------------------------------------------

    async def on_private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed message or command from an initiator."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        await self._turn(update, Inbound(text=message.text))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, voice, stickers, locations, documents: the core says it reads text only."""
        await self._turn(update, Inbound(text=""))

    async def _turn(
        self, update: Update, inbound: Inbound, *, pressed_message_id: int | None = None
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        key = ChatKey(CHANNEL, str(chat.id))
        # "typing…" only when the turn takes longer than a moment (a timer, not a task: most
        # turns end before it fires).
        timer = asyncio.get_running_loop().call_later(TYPING_AFTER, self._show_typing, chat.id)
        self._turns_under_way += 1
        try:
            # A StoreError goes to on_error, which has the update offered again.
            await self.desk.handle(
                key, inbound, update_id=update.update_id, pressed_message_id=pressed_message_id
            )
        finally:
            self._turns_under_way -= 1
            timer.cancel()

    def _show_typing(self, chat_id: int) -> None:
        if self._turns_under_way > TYPING_BUSY:
            return
        task = asyncio.ensure_future(self._send_typing(chat_id))
        self._typing.add(task)
        task.add_done_callback(self._typing.discard)

    async def _send_typing(self, chat_id: int) -> None:
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed button: always answered; private buttons go to the desk, cards to tickets."""
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        message = query.message
        chat_type = message.chat.type if message is not None else None
        if data.startswith("tk:"):
            text = await self._card_button(query.from_user.id, data)
            with contextlib.suppress(TelegramError):
                await query.answer(text, show_alert=text.startswith("⛔"))
            return
        with contextlib.suppress(TelegramError):
            await query.answer()
        if chat_type == ChatType.PRIVATE and message is not None:
            await self._turn(update, Inbound(button=data), pressed_message_id=message.message_id)

    # -- officers -----------------------------------------------------------------------

    async def _officer(self, telegram_id: int) -> OfficerRecord | None:
        officer = await self.store.officer_by_telegram(telegram_id)
        return (
            officer if officer is not None and officer.role in ("officer", "coordinator") else None
        )

    async def _card_button(self, telegram_id: int, data: str) -> str:
        _, action, number = [*data.split(":"), "", ""][:3]
        officer = await self._officer(telegram_id)
        if officer is None:
            return "⛔ Alleen geregistreerde verbindingsofficieren kunnen tickets behandelen."
        if not (
            number.isascii()
            and number.isdigit()
            and len(number) <= 10
            and 0 < int(number) <= MAX_TICKET
        ):
            return "⛔ Onbekende knop."
        act = {
            "claim": self.tickets.claim,
            "close": self.tickets.close,
            "reopen": self.tickets.reopen,
        }
        if action not in act:
            return "⛔ Onbekende knop."
        try:
            await act[action](int(number), officer)
        except TicketError as exc:
            return f"⛔ {exc}"
        except StoreError as exc:
            if exc.transient:
                raise  # on_error has the press retried once the database is back
            return f"⛔ {exc}"
        self.desk.on_commit()
        done = {"claim": "opgepakt", "close": "gesloten", "reopen": "heropend"}[action]
        return f"Ticket {number} {done}."

    async def on_group_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An officer answers by replying to a card, or with /antwoord NR text, /sluit NR and
        /doorzetten NR name-or-team: note."""
        message = update.effective_message
        user = update.effective_user
        if message is None or message.text is None or user is None:
            return
        if not await self._officers_group(str(message.chat_id)):
            return
        text = message.text.strip()
        number: int | None = None
        answer: str | None = None
        closing = False
        passing: tuple[str, str] | None = None
        if found := _PASS.match(text):
            number, passing = int(found.group(1)), (found.group(2), found.group(3) or "")
        elif found := _ANSWER.match(text):
            number, answer = int(found.group(1)), found.group(2)
        elif found := _CLOSE.match(text):
            number, closing = int(found.group(1)), True
        elif message.reply_to_message is not None and not text.startswith("/"):
            number = await self._replied_ticket(message.reply_to_message)
            answer = text
        if number is None:
            return  # ordinary chat among officers
        if not 0 < number <= MAX_TICKET:
            # Ten digits pass the pattern but not PostgreSQL's integer column.
            await self._group_note(message.chat_id, message.message_id, "⛔ Onbekend ticket.")
            return
        officer = await self._officer(user.id)
        if officer is None:
            await self._group_note(
                message.chat_id,
                message.message_id,
                "⛔ Alleen geregistreerde verbindingsofficieren kunnen tickets beantwoorden.",
            )
            return
        try:
            if passing is not None:
                done = await self._pass_on(number, officer, *passing)
                await self._group_note(message.chat_id, message.message_id, done)
            elif closing:
                await self.tickets.close(number, officer)
            else:
                await self.tickets.answer(
                    number, officer, answer or "", key=f"tg:{update.update_id}"
                )
        except TicketError as exc:
            await self._group_note(message.chat_id, message.message_id, f"⛔ {exc}")
            return
        except StoreError as exc:
            if exc.transient:
                raise  # on_error has the answer retried once the database is back
            await self._group_note(message.chat_id, message.message_id, f"⛔ {exc}")
            return
        self.desk.on_commit()

    async def _pass_on(self, number: int, officer: OfficerRecord, name: str, note: str) -> str:
        """Pass ticket `number` on as /doorzetten asks; what to tell the group."""
        target = pass_target(name, await self.store.officers(), await self.store.teams())
        if isinstance(target, str):
            return f"⛔ {target}"
        to_officer, to_team = target
        await self.tickets.pass_on(
            number, officer, to_officer=to_officer, to_team=to_team, note=note[:2000]
        )
        log.info("ticket %s passed on by %s in Telegram", number, officer.name)
        return f"➡️ Ticket {number} is doorgegeven aan {passed_to(to_officer, to_team)}."

    async def _officers_group(self, chat_id: str) -> bool:
        """Whether `chat_id` is the shared officers' group or a team's group."""
        if chat_id == self.officers_chat:
            return True
        return any(team.chat_id == chat_id for team in await self.store.teams())

    async def _replied_ticket(self, replied: Message) -> int | None:
        """The ticket of the bot's card (or follow-up) an officer replied to, if any."""
        number = await self.store.ticket_by_card(str(replied.chat_id), replied.message_id)
        if number is not None:
            return number
        # The card's message id is recorded just after Telegram confirms it; an officer who
        # replies within that moment replies to our own "Ticket N ..." text.
        sender = replied.from_user
        if sender is None or sender.id != self.application.bot.id:
            return None
        found = _CARD_TICKET.match(replied.text or "")
        return int(found.group(1)) if found else None

    async def _group_note(self, chat_id: int, reply_to: int, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_message(
                chat_id,
                text,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True),
            )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A store failure has the update retried; anything else is logged and the user told."""
        if isinstance(context.error, StoreError) and isinstance(update, Update):
            # Nothing of the turn was stored (one transaction): offering it again is safe.
            await self._defer(update, context.error)
            return
        log.error(
            "handler failed for update %s",
            getattr(update, "update_id", "?"),
            exc_info=context.error,
        )
        if isinstance(update, Update):
            await self._give_up(update)

    # -- delivery -----------------------------------------------------------------------

    async def deliver(self, row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one outbox row; map Telegram's errors onto retry or give up."""
        bot = self.application.bot
        try:
            chat_id = int(row.chat_id)
        except ValueError:
            raise DeliveryFailed("bad chat id: not a Telegram chat") from None
        card = bool(payload.get("card")) or "edit_ticket_card" in row.payload
        try:
            if row.kind == "edit_markup":
                await bot.edit_message_reply_markup(
                    chat_id, int(payload["message_id"]), reply_markup=None
                )
                return {}
            markup = keyboard(payload.get("buttons") or [])
            text = render_html(str(payload["text"]), bold_first_line=card)
            if row.kind == "edit_text":
                if payload.get("message_id") is None:
                    return {"skipped": "the card was never sent"}
                await bot.edit_message_text(
                    text,
                    chat_id,
                    int(payload["message_id"]),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
                return {}
            reply_to = payload.get("reply_to_message_id")
            sent = await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=(
                    ReplyParameters(int(reply_to), allow_sending_without_reply=True)
                    if reply_to
                    else None
                ),
            )
            return {"message_id": sent.message_id}
        except RetryAfter as exc:
            after = exc.retry_after
            seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
            raise DeliveryRetry("rate limited", after=seconds) from exc
        except Forbidden as exc:
            raise DeliveryFailed(f"forbidden: {exc.message}") from exc
        except BadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                return {}
            if "message to edit not found" in reason or "message can't be edited" in reason:
                return {"skipped": exc.message}
            raise DeliveryFailed(f"bad request: {exc.message}") from exc
        except (TimedOut, NetworkError) as exc:
            raise DeliveryRetry(f"network: {exc.message}") from exc
        except TelegramError as exc:
            raise DeliveryRetry(f"telegram: {exc.message}") from exc
