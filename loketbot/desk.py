"""The shell around the pure core: load state, step the dialogue, persist, return replies.

One database transaction per inbound event: the conversation state, both messages and any
handoff or feedback are written together, so a crash never leaves half a turn behind.
"""

from __future__ import annotations

__all__ = ["Desk"]

import logging
from dataclasses import replace

from .dialogue import Conversation, Dialogue, FeedbackGiven, HandoffRequested, Inbound, Reply
from .store import ChatKey, Store
from .texts import say

log = logging.getLogger(__name__)


class Desk:
    """Handles inbound events for every channel against one store and one dialogue."""

    def __init__(self, store: Store, dialogue: Dialogue) -> None:
        """`dialogue` may be replaced later (knowledge reload) through `use`."""
        self.store = store
        self.dialogue = dialogue

    def use(self, dialogue: Dialogue) -> None:
        """Swap in a dialogue built from newly loaded knowledge."""
        self.dialogue = dialogue

    async def handle(self, key: ChatKey, inbound: Inbound) -> list[Reply]:
        """Run one turn for `key` and return the replies to deliver."""
        dialogue = self.dialogue  # one knowledge set for the whole turn, even during a reload
        async with self.store.turn(key) as turn:
            before = Conversation.from_json(turn.state)
            outcome = dialogue.step(before, inbound)
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
                    ticket = await turn.add_handoff(
                        question=event.question, lang=event.lang, context=event.context
                    )
                    log.info("handoff %s created for %s:%s", ticket, key.channel, key.external_id)
                    last = replies[-1]
                    ticket_line = say("ticket", event.lang, ticket=ticket)
                    replies[-1] = replace(last, text=f"{last.text}\n\n{ticket_line}")
                elif isinstance(event, FeedbackGiven):
                    turn.add_feedback(event.entry_id, event.helpful)
            for reply in replies:
                turn.add_message("out", reply.text)
            if outcome.conversation.lang != before.lang:
                turn.set_lang(outcome.conversation.lang)
            turn.save_state(outcome.conversation.to_json())
        return replies
