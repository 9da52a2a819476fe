"""The shell around the pure core: load state, step the dialogue, persist, queue the replies.

One database transaction per inbound event: the conversation state, both messages, any
handoff, follow-up or feedback, and every outgoing message (as outbox rows) are written
together, so a crash never leaves half a turn behind and never loses a reply. The Sender
delivers the outbox afterwards.

Before any of that, a chat that floods the bot is refused (flood.py): one notice, then its
messages are dropped until it slows down, so it costs the others almost nothing.
"""

from __future__ import annotations

__all__ = ["Desk"]

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from loketbot.config import DEFAULT_FLOOD_LIMIT, OFF
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import (
    Conversation,
    FeedbackGiven,
    FollowUp,
    ForgetRequested,
    HandoffRequested,
    Inbound,
    Reply,
    TicketInfo,
)
from loketbot.conversation.texts import say
from loketbot.service.flood import PRUNE_SECONDS, FloodGuard
from loketbot.service.metrics import MATCH_SECONDS
from loketbot.service.tickets import CARD_CHANNEL, card_payload
from loketbot.store.guards import MAX_KEY
from loketbot.store.store import ChatKey, HandoffRecord, Store, Turn

log = logging.getLogger(__name__)

Splitter = Callable[[str], list[str]]
DEFAULT_REOPEN_WINDOW = timedelta(days=3)
ADMITTED_KEPT = 10_000  # update ids the flood limit let through, remembered for retries


def _whole(text: str) -> list[str]:
    """Channels without a length limit take a text in one piece."""
    return [text]


class Desk:
    """Handles inbound events for every channel against one store and one dialogue."""

    def __init__(
        self,
        store: Store,
        dialogue: Dialogue,
        *,
        officers_chat: str | None = None,
        reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
        splitters: Mapping[str, Splitter] | None = None,
        on_commit: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        flood_limit: str | None = DEFAULT_FLOOD_LIMIT,
    ) -> None:
        """`splitters` cut long texts per channel; `on_commit` wakes the sender; `flood_limit`
        ("8 per 10 seconds; 30 per minute") applies per chat, None or "off" for no limit (the
        terminal: one person at a keyboard)."""
        self.store = store
        self.dialogue = dialogue
        self.officers_chat = officers_chat
        self.reopen_window = reopen_window
        self.splitters = dict(splitters or {})
        self.on_commit = on_commit
        self.clock = clock
        self.flood = FloodGuard(flood_limit) if flood_limit and flood_limit != OFF else None
        self._admitted: OrderedDict[int, None] = OrderedDict()
        self._pruned = 0.0  # when this process last pruned the shared flood counts
        # Chats busy enough here that their messages are counted in the shared database.
        self._busy: OrderedDict[tuple[str, str], None] = OrderedDict()

    def use(self, dialogue: Dialogue) -> None:
        """Swap in a dialogue built from newly loaded knowledge."""
        self.dialogue = dialogue

    async def handle(
        self,
        key: ChatKey,
        inbound: Inbound,
        *,
        update_id: int | None = None,
        pressed_message_id: int | None = None,
    ) -> list[Reply]:
        """Run one turn for `key`; returns the replies (already queued in the outbox).

        `update_id` makes a redelivered update a no-op; `pressed_message_id` is the message
        whose button was pressed: its buttons are removed so they cannot be pressed twice.
        """
        turn_id = str(update_id) if update_id is not None else uuid.uuid4().hex
        first_time = update_id is None or update_id not in self._admitted
        verdict = self._flood_verdict(key, update_id)
        if verdict != "ok":
            return await self._refuse(key, turn_id, notice=verdict == "notice")
        # On a database several instances share, a busy chat's messages are also counted there,
        # in the turn (once per update: not again when a stored-then-retried one comes back).
        shared = self._shared_events(key) if first_time else 0
        dialogue = self.dialogue  # one knowledge set for the whole turn, even during a reload

        def body(turn: Turn) -> list[Reply]:
            if update_id is not None and turn.seen_update(update_id):
                log.info("update %s for %s already handled", update_id, key.channel)
                return []
            if shared and self._over_shared_limit(turn, key, shared):
                return self._refuse_in(turn, key, turn_id)
            return self._decide(turn, key, dialogue, inbound, turn_id, pressed_message_id)

        replies = await self.store.run_turn(key, body)
        self.on_commit()
        return replies

    def _decide(
        self,
        turn: Turn,
        key: ChatKey,
        dialogue: Dialogue,
        inbound: Inbound,
        turn_id: str,
        pressed_message_id: int | None,
    ) -> list[Reply]:
        """Step the dialogue and write what it decided into the turn (runs in its transaction)."""
        latest = turn.latest_handoff()
        before = Conversation.from_json(turn.state)
        with MATCH_SECONDS.time():
            outcome = dialogue.step(before, replace(inbound, ticket=self._ticket_info(latest)))
        match = outcome.match
        turn.add_message(
            "in",
            inbound.text if inbound.button is None else f"[{inbound.button}]",
            intent=match.intent if match else None,
            score=match.score if match else None,
            action=match.action if match else None,
        )
        replies = list(outcome.replies)
        for event in outcome.events:
            if isinstance(event, HandoffRequested):
                ticket = self._hand_off(turn, event, dialogue)
                last = replies[-1]
                ticket_line = say("ticket", event.lang, ticket=ticket)
                replies[-1] = replace(last, text=f"{last.text}\n\n{ticket_line}")
            elif isinstance(event, FollowUp):
                self._follow_up(turn, event, turn_id, dialogue)
            elif isinstance(event, FeedbackGiven):
                turn.add_feedback(event.entry_id, event.helpful)
            elif isinstance(event, ForgetRequested):
                self._forget(turn, turn_id, dialogue)
        if pressed_message_id is not None:
            turn.add_outbox(
                "edit_markup",
                {"message_id": pressed_message_id},
                key=f"unbutton:{key.channel}:{key.external_id}:{pressed_message_id}",
            )
        self._queue(turn, key, replies, turn_id)
        if outcome.conversation.lang != before.lang:
            turn.set_lang(outcome.conversation.lang)
        turn.save_state(outcome.conversation.to_json())
        return replies

    def _flood_verdict(self, key: ChatKey, update_id: int | None) -> str:
        """Count a message once: an update retried after a database outage, or redelivered by
        Telegram, was counted (and admitted) the first time and must not be refused now."""
        if self.flood is None or (update_id is not None and update_id in self._admitted):
            return "ok"
        verdict = self.flood.check(key.channel, key.external_id)
        if verdict == "ok" and update_id is not None:
            self._admitted[update_id] = None
            if len(self._admitted) > ADMITTED_KEPT:
                self._admitted.popitem(last=False)
        return verdict

    def _shared_events(self, key: ChatKey) -> int:
        """How many of this chat's messages to count in the shared database now; 0: none.

        Counting every message there cost a third of the bot's throughput on PostgreSQL. A
        chat can only go over the limit on all instances together if it is busy on at least
        one: so nothing is counted until this process saw half a limit's messages in its
        window; then those are counted at once, and every later one. With N instances a
        chat thus gets at most about N x (half the limit) before the count starts: the limit
        itself for two instances, a little over it for three or more.
        """
        if self.flood is None or not self.store.shared:
            return 0
        counts = self.flood.local_counts(key.channel, key.external_id)
        busy = any(
            count >= (limit + 1) // 2
            for count, (limit, _) in zip(counts, self.flood.windows, strict=True)
        )
        chat = (key.channel, key.external_id)
        if not busy:
            self._busy.pop(chat, None)
            return 0
        if chat in self._busy:
            return 1
        self._busy[chat] = None
        if len(self._busy) > ADMITTED_KEPT:
            self._busy.popitem(last=False)
        return max(counts)  # this process's messages of the longest window, this one included

    def _over_shared_limit(self, turn: Turn, key: ChatKey, events: int) -> bool:
        """The chat's messages counted in the shared database, over every instance (in the
        turn: its lock on the conversation makes the count exact, at the cost of a statement
        in a transaction that runs anyway)."""
        assert self.flood is not None
        windows = self.flood.windows
        prune = time.monotonic() - self._pruned >= PRUNE_SECONDS
        if prune:
            self._pruned = time.monotonic()
        counts = turn.count_event(
            f"flood:{key.channel}:{key.external_id}"[:MAX_KEY],
            now=self.clock(),
            windows=[window for _, window in windows],
            prune=prune,
            events=events,
        )
        return any(count > limit for count, (limit, _) in zip(counts, windows, strict=True))

    def _refuse_in(self, turn: Turn, key: ChatKey, turn_id: str) -> list[Reply]:
        """Over the shared limit, found in the turn: a notice once (from this instance), else
        nothing; the message itself is not handled or stored."""
        assert self.flood is not None
        if self.flood.refuse(key.channel, key.external_id) != "notice":
            log.debug("flood: message of %s chat %s dropped", key.channel, key.external_id)
            return []
        log.info("flood: a %s chat is over the shared limit; it gets one notice", key.channel)
        return [self._notice(turn, key, turn_id)]

    def _notice(self, turn: Turn, key: ChatKey, turn_id: str) -> Reply:
        reply = Reply(say("flood", Conversation.from_json(turn.state).lang))
        turn.add_outbox(
            "message",
            {"text": reply.text, "buttons": []},
            key=f"flood:{key.channel}:{key.external_id}:{turn_id}",
        )
        return reply

    async def _refuse(self, key: ChatKey, turn_id: str, *, notice: bool) -> list[Reply]:
        """A message over the flood limit: not handled; the first one in a while gets a notice."""
        if not notice:
            log.debug("flood: message of %s chat %s dropped", key.channel, key.external_id)
            return []
        log.info("flood: a %s chat is over the limit; it gets one notice", key.channel)

        def body(turn: Turn) -> Reply:
            return self._notice(turn, key, turn_id)

        reply = await self.store.run_turn(key, body)
        self.on_commit()
        return [reply]

    def _forget(self, turn: Turn, turn_id: str, dialogue: Dialogue) -> None:
        """The user's /vergeet, confirmed: delete and anonymise; the group's cards show it."""
        tickets = turn.forget()
        log.info("chat data deleted on request; %d ticket(s) anonymised", len(tickets))
        if not self.officers_chat:
            return
        for record in tickets:
            self._edit_card(turn, record, f"forget:{turn_id}", dialogue)

    def _ticket_info(self, latest: HandoffRecord | None) -> TicketInfo | None:
        if latest is None:
            return None
        changed = latest.closed_at or latest.answered_at or latest.updated_at or latest.created_at
        reopenable = latest.status in ("answered", "closed") and (
            self.clock() - changed < self.reopen_window
        )
        return TicketInfo(latest.ticket, latest.status, reopenable)

    def _queue(self, turn: Turn, key: ChatKey, replies: list[Reply], turn_id: str) -> None:
        split = self.splitters.get(key.channel, _whole)
        number = 0
        for reply in replies:
            turn.add_message("out", reply.text)
            parts = split(reply.text)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                buttons = [[b.label, b.data] for b in reply.buttons] if last else []
                turn.add_outbox(
                    "message",
                    {"text": part, "buttons": buttons},
                    key=f"reply:{key.channel}:{key.external_id}:{turn_id}:{number}",
                )
                number += 1

    def _hand_off(self, turn: Turn, event: HandoffRequested, dialogue: Dialogue) -> int:
        candidates = event.context.get("candidates") or []
        topic = candidates[0]["intent"] if candidates else None
        ticket = turn.add_handoff(
            question=event.question,
            lang=event.lang,
            context=event.context,
            area=event.area,
            topic=topic,
        )
        log.info("handoff %s created", ticket)
        if self.officers_chat:
            record = turn.latest_handoff()
            if record is not None:
                payload = card_payload(record, dialogue.knowledge, new=True)
                self._to_officers(turn, "message", payload, key=f"card:{ticket}", ticket=ticket)
        return ticket

    def _follow_up(self, turn: Turn, event: FollowUp, turn_id: str, dialogue: Dialogue) -> None:
        record = turn.ticket_followup(event.ticket, event.text, reopen=event.reopen)
        if not self.officers_chat:
            return
        prefix = "Heropend, aanvulling" if event.reopen else "Aanvulling"
        payload: dict[str, object] = {
            "text": f"{prefix} op ticket {record.ticket}:\n{event.text}",
            "buttons": [],
            "reply_to_ticket": record.ticket,
        }
        key = f"followup:{record.ticket}:{turn_id}"
        self._to_officers(turn, "message", payload, key=key, ticket=record.ticket)
        if event.reopen:  # the card shows the ticket as open again
            self._edit_card(turn, record, f"reopen:{turn_id}", dialogue)

    def _edit_card(self, turn: Turn, record: HandoffRecord, why: str, dialogue: Dialogue) -> None:
        """Queue an edit of the ticket's card in the officers' group to show `record` as it is."""
        payload = card_payload(record, dialogue.knowledge, new=False)
        key = f"card-edit:{record.ticket}:{why}"
        self._to_officers(turn, "edit_text", payload, key=key, ticket=record.ticket)

    def _to_officers(
        self, turn: Turn, kind: str, payload: dict[str, object], *, key: str, ticket: int
    ) -> None:
        """Queue a message (or an edit) about `ticket` for the officers' group."""
        assert self.officers_chat is not None
        turn.add_outbox(
            kind, payload, key=key, channel=CARD_CHANNEL, chat_id=self.officers_chat, ticket=ticket
        )
