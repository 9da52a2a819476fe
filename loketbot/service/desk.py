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
from loketbot.conversation.face import tell
from loketbot.conversation.state import (
    Button,
    Conversation,
    FeedbackGiven,
    FollowUp,
    ForgetRequested,
    HandoffRequested,
    Inbound,
    Profile,
    ProfileGiven,
    Reply,
    TicketInfo,
)
from loketbot.conversation.texts import say
from loketbot.service.answertime import Promise
from loketbot.service.flood import PRUNE_SECONDS, FloodGuard
from loketbot.service.metrics import MATCH_SECONDS
from loketbot.service.routing import contact_line, route, theme_of
from loketbot.service.tickets import CARD_CHANNEL, card_payload
from loketbot.store.guards import MAX_KEY
from loketbot.store.models import Handoff
from loketbot.store.organisation import initiative_of, mark_helped, routing_facts, save_profile
from loketbot.store.store import ChatKey, HandoffRecord, Store, Turn

log = logging.getLogger(__name__)

Splitter = Callable[[str], list[str]]
FindArea = Callable[[str], str | None]
DEFAULT_REOPEN_WINDOW = timedelta(days=3)
ADMITTED_KEPT = 10_000  # update ids the flood limit let through, remembered for retries


def _profile(turn: Turn) -> Profile | None:
    """The chat's initiative profile as the turn read it, for the dialogue."""
    return None if turn.profile is None else Profile.from_columns(turn.profile)


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
        find_area: FindArea | None = None,
        promise: Promise | None = None,
    ) -> None:
        """`splitters` cut long texts per channel; `on_commit` wakes the sender; `flood_limit`
        ("8 per 10 seconds; 30 per minute") applies per chat, None or "off" for no limit (the
        terminal: one person at a keyboard). `find_area` names the Rotterdam area a question
        mentions (for routing; default: the knowledge's areas.yaml); `promise` sets every new
        ticket's deadline."""
        self.find_area = find_area
        self.promise = promise
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
        handled = self._desk_only(turn, key, before, inbound, latest, turn_id)
        if handled is not None:
            if pressed_message_id is not None:
                turn.add_outbox(
                    "edit_markup",
                    {"message_id": pressed_message_id},
                    key=f"unbutton:{key.channel}:{key.external_id}:{pressed_message_id}",
                )
            self._queue(turn, key, handled, turn_id)
            return handled
        known = replace(inbound, ticket=self._ticket_info(latest), profile=_profile(turn))
        with MATCH_SECONDS.time():
            outcome = dialogue.step(before, known)
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
                replies += self._offer_profile(turn, dialogue, event.lang)
            elif isinstance(event, FollowUp):
                self._follow_up(turn, event, turn_id, dialogue)
            elif isinstance(event, FeedbackGiven):
                turn.add_feedback(event.entry_id, event.helpful)
            elif isinstance(event, ForgetRequested):
                self._forget(turn, turn_id, dialogue)
            elif isinstance(event, ProfileGiven):
                self._save_profile(turn, event)
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

    def _save_profile(self, turn: Turn, event: ProfileGiven) -> None:
        """The profile flow's answers, as the initiative's profile."""
        profile = Profile.from_answers(event.answers)
        save_profile(turn.orm(), turn.conversation_id, **profile.columns())
        log.info("initiative profile saved")

    @staticmethod
    def _offer_profile(turn: Turn, dialogue: Dialogue, lang: str) -> list[Reply]:
        """After a handoff, once: the profile, so officers know who asks (when there is none)."""
        flow = next((f for f in dialogue.engine.flows.values() if f.profile), None)
        profile = initiative_of(turn.orm(), turn.conversation_id)
        if flow is None or (profile is not None and profile.name):
            return []
        button = Button(say("profile_fill", lang), f"f:{flow.id}")
        return [Reply(say("profile_offer", lang), (button,))]

    def _desk_only(
        self,
        turn: Turn,
        key: ChatKey,
        conv: Conversation,
        inbound: Inbound,
        latest: HandoffRecord | None,
        turn_id: str,
    ) -> list[Reply] | None:
        """What the desk answers itself, from the store: /contact, and "did the answer help?"
        under an officer's answer. None: the dialogue decides."""
        text = inbound.text.strip()
        if inbound.button is None and text.split("@", 1)[0].split(" ", 1)[0].lower() == "/contact":
            turn.add_message("in", text)
            initiative = initiative_of(turn.orm(), turn.conversation_id)
            facts = routing_facts(turn.orm(), turn.conversation_id)
            contact = next(
                (
                    o
                    for o in facts.officers
                    if initiative is not None and o.id == initiative.contact_officer_id
                ),
                None,
            )
            if contact is None:
                return [Reply(tell("contact_none", conv.lang))]
            return [Reply(tell("contact_show", conv.lang, contact=contact_line(contact)))]
        button = inbound.button or ""
        if not button.startswith("hp:"):
            return None
        _, verdict, number = [*button.split(":"), "", ""][:3]
        turn.add_message("in", f"[{button}]")
        if not number.isdigit() or verdict not in ("yes", "no"):
            return [Reply(say("unknown_command", conv.lang))]
        ticket = int(number)
        marked = mark_helped(turn.orm(), turn.conversation_id, ticket, verdict == "yes")
        if not marked:
            return [Reply(tell("helped_done", conv.lang))]
        if verdict == "yes":
            return [Reply(tell("helped_thanks", conv.lang))]
        # What the initiator types next is what is still unclear: straight onto the ticket.
        unclear = replace(conv, mode="unclear", question=str(ticket), options=())
        turn.save_state(unclear.to_json())
        return [Reply(tell("helped_no", conv.lang, ticket=ticket))]

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
        for record in tickets:
            if not (record.card_chat_id or record.route_chat or self.officers_chat):
                continue
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
        facts = routing_facts(turn.orm(), turn.conversation_id)
        profile = facts.initiative
        area, area_source = event.area, "uit de vragenlijst"
        if area is None and profile is not None and profile.area:
            area, area_source = profile.area, "uit het profiel"
        # The knowledge's own areas (knowledge/areas.yaml) unless a finder was given: a reload
        # brings its new spellings along.
        areas = dialogue.knowledge.areas
        find_area = self.find_area or (areas.find if areas is not None else None)
        if area is None and find_area is not None:
            area, area_source = find_area(event.question), "genoemd in de vraag"
        entry = dialogue.knowledge.by_id.get(topic) if topic else None
        flow_context = event.context.get("flow") or {}
        theme = theme_of(
            topic,
            entry.kind if entry else None,
            flow_context.get("id"),
            flow_context.get("answers"),
        )
        theme_source = "uit de vragenlijst" if flow_context.get("answers") else "onderwerp"
        if theme is None and profile is not None and profile.themes:
            theme, theme_source = profile.themes[0], "uit het profiel"
        decision = route(
            facts, area=area, area_source=area_source, theme=theme, theme_source=theme_source
        )
        context = dict(event.context)
        if profile is not None and (profile.name or profile.legal_form or profile.stage):
            context["profile"] = {
                "name": profile.name,
                "legal_form": profile.legal_form,
                "area": profile.area,
                "themes": list(profile.themes),
                "stage": profile.stage,
            }
        ticket = turn.add_handoff(
            question=event.question, lang=event.lang, context=context, area=area, topic=topic
        )
        chat = (decision.team.chat_id if decision.team else None) or self.officers_chat
        now = self.clock()
        row = turn.orm().get(Handoff, ticket)
        assert row is not None
        row.team_id = decision.team.id if decision.team else None
        row.theme = theme
        row.route_reason = decision.reason
        row.route_chat = chat
        row.assigned_officer = decision.officer.name if decision.officer else None
        if self.promise is not None:
            row.due_at = self.promise.due(now)
            row.remind_at = self.promise.remind(now)
        turn.orm().flush()
        log.info("handoff %s created, team %s", ticket, decision.team.id if decision.team else "-")
        record = turn.latest_handoff()
        if chat and record is not None:
            payload = card_payload(record, dialogue.knowledge, new=True, contact=decision.contact)
            self._to_officers(
                turn, "message", payload, key=f"card:{ticket}", ticket=ticket, chat=chat
            )
        officer = decision.officer
        if officer is not None and officer.telegram_id is not None:
            first = "Nieuwe vraag" + (" van jouw initiatief" if decision.contact else "")
            turn.add_outbox(
                "message",
                {"text": f"{first}: ticket {ticket}.\nWaarom bij jou: {decision.reason}."},
                key=f"route-dm:{ticket}",
                channel=CARD_CHANNEL,
                chat_id=str(officer.telegram_id),
                ticket=ticket,
            )
        return ticket

    def _follow_up(self, turn: Turn, event: FollowUp, turn_id: str, dialogue: Dialogue) -> None:
        record = turn.ticket_followup(event.ticket, event.text, reopen=event.reopen)
        if not (record.route_chat or self.officers_chat):
            return
        prefix = "Heropend, aanvulling" if event.reopen else "Aanvulling"
        payload: dict[str, object] = {
            "text": f"{prefix} op ticket {record.ticket}:\n{event.text}",
            "buttons": [],
            "reply_to_ticket": record.ticket,
        }
        key = f"followup:{record.ticket}:{turn_id}"
        self._to_officers(
            turn, "message", payload, key=key, ticket=record.ticket, chat=record.route_chat
        )
        if event.reopen:  # the card shows the ticket as open again
            self._edit_card(turn, record, f"reopen:{turn_id}", dialogue)

    def _edit_card(self, turn: Turn, record: HandoffRecord, why: str, dialogue: Dialogue) -> None:
        """Queue an edit of the ticket's card in the officers' group to show `record` as it is."""
        chat = record.card_chat_id or record.route_chat or self.officers_chat
        if not chat:
            return
        payload = card_payload(record, dialogue.knowledge, new=False)
        key = f"card-edit:{record.ticket}:{why}"
        self._to_officers(turn, "edit_text", payload, key=key, ticket=record.ticket, chat=chat)

    def _to_officers(
        self,
        turn: Turn,
        kind: str,
        payload: dict[str, object],
        *,
        key: str,
        ticket: int,
        chat: str | None = None,
    ) -> None:
        """Queue a message (or an edit) about `ticket` for its group (default: the officers')."""
        chat = chat or self.officers_chat
        assert chat is not None
        turn.add_outbox(kind, payload, key=key, channel=CARD_CHANNEL, chat_id=chat, ticket=ticket)
