"""The console's figures count questions, not button presses, typed option numbers or flow
answers; "Wat de bot niet wist" keeps the questions' language (newcomer review, section 7)."""

from __future__ import annotations

from datetime import timedelta

from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Inbound
from loketbot.service.desk import Desk
from loketbot.store.insight import insight, unknown_questions
from loketbot.store.models import utcnow
from loketbot.store.store import ChatKey, Store

CHAT = ChatKey("telegram", "4242")


async def test_typed_numbers_and_flow_answers_are_no_questions(
    store: Store, flow_dialogue: Dialogue
) -> None:
    desk = Desk(store, flow_dialogue, flood_limit=None)
    for text in ("/menu", "1", "ja", "terug", "nee", "stop", "asdf qwerty zxcv"):
        await desk.handle(CHAT, Inbound(text=text))
    figures = await insight(store, now=utcnow())
    assert figures.questions == 1  # only "asdf qwerty zxcv" was read as a question
    unknown = await unknown_questions(store, since=utcnow() - timedelta(days=1))
    assert [q.text for q in unknown] == ["asdf qwerty zxcv"]
