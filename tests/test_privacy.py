"""/privacy and /vergeet: what the user reads, and what is left in the database afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select

from loketbot.content.bundle import load_content
from loketbot.conversation.dialogue import Conversation, Dialogue, Inbound, Outcome
from loketbot.conversation.state import ForgetRequested
from loketbot.service.desk import Desk
from loketbot.service.tickets import TicketError, Tickets
from loketbot.store.models import Base
from loketbot.store.privacy import ANONYMOUS, FORGOTTEN
from loketbot.store.store import ChatKey, Store
from loketbot.store.suggestions import add_suggestion
from tests.conftest import ROOT, deliver_all, hand_off

ALICE = ChatKey("telegram", "1001")
BOB = ChatKey("telegram", "1002")
GROUP = "-100"
SECRET = "zebrapad-xq7"  # what Alice typed; must be gone after /vergeet
BOBS = "kikker-bob-55"  # what Bob typed; must stay


async def rows_containing(store: Store, needle: str) -> dict[str, int]:
    """Every text and JSON column of every table that holds `needle`: {"table.column": rows}."""
    found: dict[str, int] = {}
    async with store.reading("search the database") as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                query = (
                    select(func.count())
                    .select_from(table)
                    .where(cast(column, Text).like(f"%{needle}%"))
                )
                count = (await session.execute(query)).scalar_one()
                if count:
                    found[f"{table.name}.{column.name}"] = count
    return found


def step(d: Dialogue, conv: Conversation, text: str = "", button: str | None = None) -> Outcome:
    return d.step(conv, Inbound(text=text, button=button))


# --- the core ----------------------------------------------------------------------------------


def test_privacy_tells_what_why_who_how_long_and_how_to_delete(dialogue: Dialogue) -> None:
    short = Dialogue(dialogue.knowledge, dialogue.matcher, retention_days=30)
    text = step(short, Conversation(), "/privacy").replies[0].text
    assert "30 dagen" in text
    assert "chatnummer" in text and "verbindingsofficier" in text and "/vergeet" in text
    english = step(short, Conversation(lang="en", lang_pinned=True), "/privacy").replies[0].text
    assert "30 days" in english and "liaison officer" in english


def test_help_and_welcome_point_to_privacy_and_vergeet(dialogue: Dialogue) -> None:
    for command in ("/help", "/start"):
        text = step(dialogue, Conversation(), command).replies[0].text
        assert "/privacy" in text and "/vergeet" in text


def test_privacy_in_a_flow_asks_the_flow_question_again(dialogue: Dialogue) -> None:
    content = load_content(ROOT / "knowledge", ROOT / "flows")
    with_flows = Dialogue(content.knowledge, dialogue.matcher, flows=content.flows)
    conv = step(with_flows, Conversation(), button="f:find-contact").conversation
    assert conv.flow is not None
    out = step(with_flows, conv, "/privacy")
    assert "Privacy" in out.replies[0].text
    assert out.conversation.flow == conv.flow and len(out.replies) == 2


def test_vergeet_asks_first_and_only_yes_deletes(dialogue: Dialogue) -> None:
    asked = step(dialogue, Conversation(), "/vergeet")
    assert [b.label for b in asked.replies[0].buttons] == ["Ja, verwijder alles", "Nee"]
    assert asked.events == ()
    declined = step(dialogue, asked.conversation, button="v:no")
    assert declined.events == () and "verwijder niets" in declined.replies[0].text
    again = step(dialogue, declined.conversation, button="v:yes")  # the old button, pressed late
    assert again.events == () and "niets om te verwijderen" in again.replies[0].text
    confirmed = step(dialogue, asked.conversation, button="v:yes")
    assert confirmed.events == (ForgetRequested(),)
    assert confirmed.replies[0].text.startswith("Je gegevens zijn verwijderd.")


def test_a_forged_confirm_button_deletes_nothing(dialogue: Dialogue) -> None:
    conv = step(dialogue, Conversation(), "wat is een stichting?").conversation
    out = step(dialogue, conv, button="v:yes")
    assert out.events == ()
    assert "niets om te verwijderen" in out.replies[0].text


def test_typed_answers_to_vergeet(dialogue: Dialogue) -> None:
    asked = step(dialogue, Conversation(lang="en", lang_pinned=True), "/forget").conversation
    assert step(dialogue, asked, "no").events == ()
    yes = step(dialogue, asked, "yes")
    assert yes.events == (ForgetRequested(),)
    assert yes.replies[0].text.startswith("Your data has been deleted.")
    assert yes.conversation.lang == "en"  # the language stays, everything else starts fresh
    assert step(dialogue, asked, "1").events == (ForgetRequested(),)  # the first option


# --- the desk and the store ---------------------------------------------------------------------


async def test_vergeet_deletes_the_texts_and_keeps_anonymous_tickets(
    store: Store, dialogue: Dialogue
) -> None:
    desk = Desk(store, dialogue, officers_chat=GROUP, flood_limit=None)
    tickets = Tickets(store, officers_chat=GROUP, knowledge=lambda: dialogue.knowledge)
    anna = await store.add_officer("anna", role="officer", telegram_id=42)
    await desk.handle(ALICE, Inbound(text=f"wat is een stichting {SECRET}?"))
    await desk.handle(ALICE, Inbound(button="fb:1:legal-form-stichting"))
    ticket = await hand_off(desk, ALICE, f"wie wint zondag de wedstrijd {SECRET}?", SECRET)
    bobs_ticket = await hand_off(desk, BOB, f"wie wint zondag de wedstrijd {BOBS}?", BOBS)
    await deliver_all(store)  # the cards are in the group now; Alice has read her replies
    await tickets.answer(ticket, anna, f"Beste {SECRET}, dat weet niemand.")
    await add_suggestion(store, ticket, f"wedstrijd {SECRET}", "dat weet niemand")
    await desk.handle(ALICE, Inbound(text=f"nog een vraag over {SECRET}"))
    await desk.handle(ALICE, Inbound(button=f"t:yes:{ticket}"))  # reopens the ticket
    before = await rows_containing(store, SECRET)
    assert {"messages.text", "handoffs.question", "handoff_events.text", "outbox.payload"} <= set(
        before
    )
    assert "suggestions.question" in before and "conversations.state" in before
    bobs_before = await rows_containing(store, BOBS)

    # "Nee" deletes nothing, nor does the confirm button pressed again afterwards.
    await desk.handle(ALICE, Inbound(text="/vergeet"))
    (no,) = await desk.handle(ALICE, Inbound(button="v:no"))
    assert "verwijder niets" in no.text
    (stale,) = await desk.handle(ALICE, Inbound(button="v:yes"))
    assert "niets om te verwijderen" in stale.text
    assert (await rows_containing(store, SECRET)).keys() == before.keys()

    (asked,) = await desk.handle(ALICE, Inbound(text="/vergeet"))
    assert [b.data for b in asked.buttons] == ["v:yes", "v:no"]
    (done,) = await desk.handle(ALICE, Inbound(button="v:yes"), pressed_message_id=77)
    assert done.text.startswith("Je gegevens zijn verwijderd.")

    assert await rows_containing(store, SECRET) == {}
    assert await rows_containing(store, BOBS) == bobs_before
    record = await store.handoff(ticket)
    assert record is not None
    assert (record.status, record.question, record.answer) == ("open", FORGOTTEN, FORGOTTEN)
    assert (record.channel, record.external_id) == (ANONYMOUS.channel, ANONYMOUS.external_id)
    assert record.card_message_id is not None  # the group's card is still this ticket's
    assert [e.kind for e in await store.ticket_events(ticket)] == [
        "created",
        "answered",
        "followup",
        "reopened",
    ]
    bobs = await store.handoff(bobs_ticket)
    assert bobs is not None and BOBS in bobs.question and bobs.external_id == BOB.external_id
    transcript = await store.transcript(ALICE)
    assert [(m.direction, m.text) for m in transcript] == [("out", done.text)]

    # What is still to be sent: the confirmation, the unbutton, and the card without the text.
    pending = await store.outbox_rows(status="pending")
    assert [(r.chat_id, r.kind) for r in pending if r.chat_id == ALICE.external_id] == [
        (ALICE.external_id, "edit_markup"),
        (ALICE.external_id, "message"),
    ]
    sent = await deliver_all(store)
    card_edits = [p for chat, kind, p in sent if chat == GROUP and kind == "edit_text"]
    assert card_edits and card_edits[-1]["message_id"] == record.card_message_id
    assert FORGOTTEN in card_edits[-1]["text"]

    # Alice starts afresh: no ticket of hers is waiting for follow-ups.
    (answer,) = await desk.handle(ALICE, Inbound(text="wat is een stichting?"))
    assert "STICHTING" in answer.text
    await deliver_all(store)

    # Officers can still close the ticket, but no answer can reach the person any more.
    with pytest.raises(TicketError, match="anonymised"):
        await tickets.answer(ticket, anna, "Hallo?")
    await tickets.close(ticket, anna)
    assert not [r for r in await store.outbox_rows(status="pending") if r.chat_id != GROUP]
    assert await store.transcript(ANONYMOUS) == []
