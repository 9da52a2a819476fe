"""What liaison officers do with a ticket (claim, answer, close, reopen) and the card they see.

Every action is one store transaction: the status change, the history event and the outbox
rows (the answer to the initiator, the card update in the officers' group) commit together.
"""

from __future__ import annotations

__all__ = ["FROM_PROFILE", "TicketError", "Tickets", "card", "flow_answers", "passed_to"]

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from loketbot.content.knowledge import Knowledge
from loketbot.conversation.face import helped_buttons, tell
from loketbot.conversation.state import clean_text
from loketbot.conversation.texts import say
from loketbot.errors import LoketbotError
from loketbot.service.answertime import local_text
from loketbot.service.routing import contact_line, public_name
from loketbot.store.organisation import TeamRecord, initiative_of, set_contact
from loketbot.store.privacy import ANONYMOUS
from loketbot.store.store import HandoffRecord, OfficerRecord, Store, TicketTx

CARD_CHANNEL = "telegram"
# A card is one Telegram message (at most 4,096 characters) and is never split: long texts are
# cut on the card; the console shows them whole.
CARD_LIMIT = 4000
_MAX_TICKET = 2**31 - 1  # ticket numbers are 32-bit integers in the database
_STATUS_NL = {
    "open": "🟠 open",
    "claimed": "🔵 in behandeling",
    "answered": "🟢 beantwoord",
    "closed": "⚪ gesloten",
}
# Beside a flow answer the bot took from the initiative's profile rather than the initiator:
# it may be out of date, so the officer checks it.
FROM_PROFILE = "(uit het profiel)"


class TicketError(LoketbotError):
    """An officer action that cannot be done (wrong status, unknown ticket, not an officer)."""


def passed_to(to_officer: OfficerRecord | None, to_team: TeamRecord | None) -> str:
    """Whom a ticket is passed to, in Dutch: "Bram Jansen", "team Zuid" or both with "en"."""
    names = (to_officer.name if to_officer else "", f"team {to_team.name}" if to_team else "")
    return " en ".join(name for name in names if name)


def flow_answers(context: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """A ticket's flow answers as (line, taken from the profile); older tickets mark none."""
    flow = context.get("flow") or {}
    marked = set(flow.get("from_profile") or ())
    return [(str(line), i in marked) for i, line in enumerate(flow.get("summary") or ())]


@dataclass(frozen=True)
class Card:
    """The text and buttons of a ticket card in the officers' group."""

    text: str
    buttons: tuple[tuple[str, str], ...]


def card(
    record: HandoffRecord, knowledge: Knowledge | None = None, *, contact: bool = False
) -> Card:
    """Render a ticket for officers: number, status, area, topic, question, short context,
    why it came to this group and by when it should be answered."""
    context = record.context or {}
    lines = [f"Ticket {record.ticket} · {_STATUS_NL.get(record.status, record.status)}"]
    if record.assigned_officer:
        lines.append(
            f"Bij: {record.assigned_officer}" + (" (vaste contactpersoon)" if contact else "")
        )
    if record.route_reason:
        lines.append(f"Waarom hier: {record.route_reason}")
    if record.due_at is not None and record.status in ("open", "claimed"):
        lines.append(f"Antwoord uiterlijk: {local_text(record.due_at)}")
    facts = [f"taal {record.lang}"]
    if record.area:
        facts.append(f"gebied {record.area}")
    if record.theme:
        facts.append(f"thema {record.theme}")
    if record.topic:
        entry = knowledge.by_id.get(record.topic) if knowledge else None
        facts.append(f"onderwerp {entry.title['nl'] if entry else record.topic}")
    lines += [" · ".join(facts)]
    profile = context.get("profile") or {}
    shown = [str(profile[k]) for k in ("name", "legal_form", "stage") if profile.get(k)]
    if shown:
        lines.append("Initiatief: " + " · ".join(shown))
    lines += ["", "Vraag:", _short(record.question, 1500)]
    extra = str(context.get("extra") or "").strip()
    if extra:
        lines += ["", "Aanvulling:", _short(extra, 800)]
    answers = flow_answers(context)
    if answers:
        lines += ["", "Antwoorden in de vragenlijst:"]
        for line, profiled in answers:
            mark = f" {FROM_PROFILE}" if profiled else ""
            lines.append(_short(f"- {line}", 300 - len(mark)) + mark)  # the mark is never cut
    recent = [m["text"] for m in context.get("recent", []) if m.get("role") == "user"]
    recent = [t for t in recent if t != record.question and not t.startswith("[")][-3:]
    if recent:
        lines += ["", "Eerder in het gesprek:"] + [f"- {t[:200]}" for t in recent]
    if record.answer:
        lines += ["", "Antwoord:", _short(record.answer, 800)]
    hint = ""
    if record.status in ("open", "claimed"):
        hint = "\n\nAntwoord door op dit bericht te reageren (reply), of met /antwoord NR tekst."
    buttons: tuple[tuple[str, str], ...]
    if record.status == "open":
        buttons = (
            ("Oppakken", f"tk:claim:{record.ticket}"),
            ("Sluiten", f"tk:close:{record.ticket}"),
        )
    elif record.status in ("claimed", "answered"):
        buttons = (("Sluiten", f"tk:close:{record.ticket}"),)
    else:
        buttons = (("Heropenen", f"tk:reopen:{record.ticket}"),)
    return Card(_short("\n".join(lines), CARD_LIMIT - len(hint)) + hint, buttons)


def _short(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters ending in "…" when it is longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_payload(
    record: HandoffRecord, knowledge: Knowledge | None, *, new: bool, contact: bool = False
) -> dict[str, object]:
    """Outbox payload for a new card, or for an edit of the card already sent."""
    rendered = card(record, knowledge, contact=contact)
    buttons = [[label, data] for label, data in rendered.buttons]
    if new:
        return {"text": rendered.text, "buttons": buttons, "card": True}
    return {"text": rendered.text, "buttons": buttons, "edit_ticket_card": record.ticket}


class Tickets:
    """Officer actions against one store; the answer goes to the initiator's own channel."""

    def __init__(
        self,
        store: Store,
        *,
        officers_chat: str | None,
        knowledge: Callable[[], Knowledge | None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        splitters: Mapping[str, Callable[[str], list[str]]] | None = None,
    ) -> None:
        """`knowledge` returns the current set (it changes on reload) for topic titles;
        `splitters` cut an answer too long for the initiator's channel, as Desk does."""
        self.splitters = dict(splitters or {})
        self.store = store
        self.officers_chat = officers_chat
        self.knowledge = knowledge
        self.clock = clock

    async def claim(self, number: int, officer: OfficerRecord) -> HandoffRecord:
        """Take the ticket; refused when someone else has it or it is done."""
        return await self._act(number, officer, "claimed", allowed=("open",))

    async def answer(
        self, number: int, officer: OfficerRecord, text: str, *, key: str | None = None
    ) -> HandoffRecord:
        """Send `text` to the initiator; `key` makes a repeated request harmless."""
        text = clean_text(text).strip()  # a pasted NUL would make PostgreSQL refuse it
        if not text:
            raise TicketError("an answer needs text: /antwoord NR your answer")
        return await self._act(
            number,
            officer,
            "answered",
            allowed=("open", "claimed", "answered"),
            answer=text,
            key=key,
        )

    async def close(self, number: int, officer: OfficerRecord) -> HandoffRecord:
        """Close the ticket; the initiator is told and can reopen within the window."""
        return await self._act(number, officer, "closed", allowed=("open", "claimed", "answered"))

    async def reopen(self, number: int, officer: OfficerRecord) -> HandoffRecord:
        """Open a closed ticket again."""
        return await self._act(number, officer, "open", allowed=("closed", "answered"))

    async def _act(
        self,
        number: int,
        officer: OfficerRecord,
        status: str,
        *,
        allowed: tuple[str, ...],
        answer: str | None = None,
        key: str | None = None,
    ) -> HandoffRecord:
        if officer.role not in ("officer", "coordinator"):
            raise TicketError(f"{officer.name} is no liaison officer")
        if not 0 < number <= _MAX_TICKET:  # from a typed or forged number: no database takes it
            raise TicketError(f"no ticket {number}")
        action = key or uuid.uuid4().hex
        async with self.store.ticket(number) as tx:
            before = tx.record
            if before.status not in allowed:
                raise TicketError(
                    f"ticket {number} is {before.status}"
                    + (f" (by {before.assigned_officer})" if before.assigned_officer else "")
                )
            if status == "claimed" and before.assigned_officer not in (None, officer.name):
                raise TicketError(f"ticket {number} is already with {before.assigned_officer}")
            # An anonymised ticket has no initiator any more (/vergeet or the retention period).
            reachable = before.channel != ANONYMOUS.channel
            if answer is not None and not reachable:
                raise TicketError(
                    f"ticket {number} is anonymised: the initiator's data was deleted, "
                    "so an answer cannot reach them"
                )
            tx.set_status(status, officer=officer.name, answer=answer)
            after = _updated(before, status, officer, answer)
            if answer is not None:
                text = say("officer_answer", before.lang, ticket=number, answer=answer)
                split = self.splitters.get(before.channel)
                parts = split(text) if split else [text]
                for index, part in enumerate(parts):
                    # Part 0 keeps the old key, so a retried request stays harmless.
                    payload: dict[str, object] = {"text": part}
                    if index == len(parts) - 1 and before.helped is None:
                        # "Did it help?": two buttons under the (last part of the) answer.
                        payload["text"] = part + "\n\n" + tell("helped_ask", before.lang)
                        payload["buttons"] = helped_buttons(before.lang, number)
                    tx.add_outbox(
                        "message",
                        payload,
                        key=f"answer:{number}:{action}" + (f":{index}" if index else ""),
                        channel=before.channel,
                        chat_id=before.external_id,
                    )
                await self._first_contact(tx, before, officer)
            if status == "closed" and reachable:
                tx.add_outbox(
                    "message",
                    {"text": say("ticket_closed", before.lang, ticket=number)},
                    key=f"closed:{number}:{action}",
                    channel=before.channel,
                    chat_id=before.external_id,
                )
            group = before.card_chat_id or before.route_chat or self.officers_chat
            if group:
                tx.add_outbox(
                    "edit_text",
                    card_payload(after, self.knowledge(), new=False),
                    key=f"card-edit:{number}:{action}",
                    channel=CARD_CHANNEL,
                    chat_id=group,
                )
        return after

    async def _first_contact(
        self, tx: TicketTx, record: HandoffRecord, officer: OfficerRecord
    ) -> None:
        """The first officer who answers an initiative becomes its fixed contact; the
        initiator is told once (the outbox key is per initiative and officer)."""
        conversation = tx.conversation_id
        initiative = await tx.run_sync(lambda s: initiative_of(s, conversation))
        if initiative is not None and initiative.contact_officer_id is not None:
            return
        await tx.run_sync(lambda s: set_contact(s, conversation, officer.id))
        tx.add_outbox(
            "message",
            {
                "text": tell(
                    "contact_new",
                    record.lang,
                    contact=contact_line(officer),
                    first=public_name(officer),
                )
            },
            key=f"contact:{conversation}:{officer.id}",
            channel=record.channel,
            chat_id=record.external_id,
        )

    async def pass_on(
        self,
        number: int,
        officer: OfficerRecord,
        *,
        to_officer: OfficerRecord | None = None,
        to_team: TeamRecord | None = None,
        note: str = "",
    ) -> HandoffRecord:
        """Pass the ticket to another officer and/or team with a note; the history shows it,
        the card moves to the new team's group (the old card says where it went)."""
        if officer.role not in ("officer", "coordinator"):
            raise TicketError(f"{officer.name} is no liaison officer")
        if to_officer is None and to_team is None:
            raise TicketError("pass a ticket to an officer or a team")
        if not 0 < number <= _MAX_TICKET:
            raise TicketError(f"no ticket {number}")
        action = uuid.uuid4().hex
        note = clean_text(note).strip()
        async with self.store.ticket(number) as tx:
            before = tx.record
            if before.status not in ("open", "claimed"):
                raise TicketError(f"ticket {number} is {before.status}")
            target = passed_to(to_officer, to_team)
            old_group = before.card_chat_id or before.route_chat or self.officers_chat
            new_group = (to_team.chat_id if to_team else None) or (
                before.route_chat if to_team is None else self.officers_chat
            )
            columns: dict[str, object] = {
                "route_reason": f"doorgezet door {officer.name}" + (f": {note}" if note else "")
            }
            if to_officer is not None:
                columns["assigned_officer"] = to_officer.name
            else:
                columns["assigned_officer"] = None
            if to_team is not None:
                columns["team_id"] = to_team.id
                columns["route_chat"] = new_group
            status = "open"
            columns["status"] = status
            tx.mark(
                "passed",
                actor=officer.name,
                text=f"naar {target}" + (f": {note}" if note else ""),
                **columns,
            )
            after = replace(
                before,
                status=status,
                assigned_officer=to_officer.name if to_officer else None,
                team_id=to_team.id if to_team else before.team_id,
                route_chat=new_group,
                route_reason=str(columns["route_reason"]),
            )
            if new_group and new_group != old_group:
                if old_group:
                    gone = replace(after, route_reason=f"doorgezet naar {target}")
                    tx.add_outbox(
                        "edit_text",
                        card_payload(gone, self.knowledge(), new=False),
                        key=f"card-edit:{number}:{action}",
                        channel=CARD_CHANNEL,
                        chat_id=old_group,
                    )
                tx.add_outbox(
                    "message",
                    card_payload(after, self.knowledge(), new=True),
                    key=f"card:{number}:pass:{action}",
                    channel=CARD_CHANNEL,
                    chat_id=new_group,
                )
            elif old_group:
                tx.add_outbox(
                    "edit_text",
                    card_payload(after, self.knowledge(), new=False),
                    key=f"card-edit:{number}:{action}",
                    channel=CARD_CHANNEL,
                    chat_id=old_group,
                )
            if to_officer is not None and to_officer.telegram_id is not None:
                tx.add_outbox(
                    "message",
                    {
                        "text": f"{officer.name} zette ticket {number} naar je door."
                        + (f"\nNotitie: {note}" if note else "")
                    },
                    key=f"pass-dm:{number}:{action}",
                    channel=CARD_CHANNEL,
                    chat_id=str(to_officer.telegram_id),
                )
        return after


def _updated(
    record: HandoffRecord, status: str, officer: OfficerRecord, answer: str | None
) -> HandoffRecord:
    """The record as it will read after set_status (the transaction keeps the one it locked)."""
    return replace(
        record,
        status=status,
        assigned_officer=officer.name,  # as the store records it, reopening included
        answer=answer if answer is not None else record.answer,
    )
