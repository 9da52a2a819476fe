"""A turn: what one incoming message may read and write, committed together by the Store."""

from __future__ import annotations

__all__ = ["Turn"]

import copy
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import StoreError
from .models import (
    DIRECTIONS,
    Conversation,
    Feedback,
    Handoff,
    Message,
    ProcessedUpdate,
    User,
    utcnow,
)
from .store_engine import DB_ERRORS as _DB_ERRORS
from .store_outbox import OutboxBuffer
from .store_privacy import forget_chat
from .store_records import (
    ChatKey,
    HandoffRecord,
    handoff_query,
    handoff_record,
    insert_ignoring,
)
from .store_tickets import add_followup, new_handoff


class Turn:
    """What one incoming message may read and write; everything is committed together."""

    def __init__(
        self,
        session: AsyncSession,
        user: User,
        conversation: Conversation,
        error: Callable[[str, BaseException], StoreError],
    ) -> None:
        self._session = session
        self._error = error
        self._user = user
        self._conversation = conversation
        self._new_state: dict[str, Any] | None = None
        self._outbox = OutboxBuffer()
        # A copy, so that changing the dict in place does not count as saving it.
        self.state: dict[str, Any] | None = copy.deepcopy(conversation.state)
        self.version: int = conversation.version

    def save_state(self, state: dict[str, Any]) -> None:
        """Keep `state` as the conversation state; it is written at commit, version + 1."""
        self._new_state = copy.deepcopy(state)

    def set_lang(self, lang: str) -> None:
        """Set the user's language (two letters, e.g. 'nl')."""
        if len(lang) != 2:
            raise ValueError(f"language must be a two-letter code, not {lang!r}")
        self._user.lang = lang

    def add_message(
        self,
        direction: str,
        text: str,
        *,
        intent: str | None = None,
        score: float | None = None,
        action: str | None = None,
    ) -> None:
        """Record a message received ('in') or sent ('out')."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        self._session.add(
            Message(
                conversation_id=self._conversation.id,
                direction=direction,
                text=text,
                intent=intent,
                score=score,
                action=action,
                created_at=utcnow(),
            )
        )

    async def add_handoff(
        self,
        *,
        question: str,
        lang: str,
        context: dict[str, Any],
        area: str | None = None,
        topic: str | None = None,
    ) -> int:
        """Open a handoff for an officer (with its 'created' event) and return its ticket number."""
        try:
            return await new_handoff(
                self._session,
                self._conversation.id,
                question=question,
                lang=lang,
                context=context,
                area=area,
                topic=topic,
            )
        except _DB_ERRORS as exc:
            raise self._error("cannot add a handoff to", exc) from exc

    def add_feedback(self, entry_id: str, helpful: bool) -> None:
        """Record whether the answer from knowledge entry `entry_id` helped."""
        self._session.add(
            Feedback(
                conversation_id=self._conversation.id,
                entry_id=entry_id,
                helpful=helpful,
                created_at=utcnow(),
            )
        )

    def add_outbox(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str,
        channel: str | None = None,
        chat_id: str | None = None,
        ticket: int | None = None,
    ) -> None:
        """Queue a message (default: to this chat), written at commit; a used key is skipped."""
        self._outbox.add(
            kind,
            payload,
            key=key,
            channel=self._user.channel if channel is None else channel,
            chat_id=self._user.external_id if chat_id is None else chat_id,
            ticket=ticket,
        )

    async def seen_update(self, update_id: int) -> bool:
        """Record the channel's update as processed in this turn; True if it already was."""
        values = {"channel": self._user.channel, "update_id": update_id, "created_at": utcnow()}
        try:
            inserted = await insert_ignoring(
                self._session, ProcessedUpdate, ["channel", "update_id"], values
            )
        except _DB_ERRORS as exc:
            raise self._error("cannot record an update in", exc) from exc
        return not inserted

    async def latest_handoff(self) -> HandoffRecord | None:
        """The newest handoff of this conversation, or None."""
        query = (
            handoff_query()
            .where(Handoff.conversation_id == self._conversation.id)
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        try:
            row = (await self._session.execute(query)).first()
        except _DB_ERRORS as exc:
            raise self._error("cannot read a handoff from", exc) from exc
        return None if row is None else handoff_record(*row)

    async def ticket_followup(self, ticket: int, text: str, *, reopen: bool) -> HandoffRecord:
        """Add a 'followup' event to this chat's ticket; `reopen` opens it again if it is not."""
        try:
            return await add_followup(
                self._session, self._conversation.id, ticket, text, reopen=reopen
            )
        except _DB_ERRORS as exc:
            raise self._error(f"cannot add a follow-up to ticket {ticket} in", exc) from exc

    async def forget(self) -> list[HandoffRecord]:
        """Delete this chat's messages (this turn's so far too), feedback and undelivered outbox
        rows, blank the texts of rows already sent, and anonymise its tickets: returned as they
        now read, so their cards can be updated. The state starts empty unless saved after."""
        self._user.display_name = None
        self.save_state({})
        key = ChatKey(self._user.channel, self._user.external_id)
        try:
            return await forget_chat(self._session, self._conversation.id, key)
        except _DB_ERRORS as exc:
            raise self._error("cannot delete a chat's data in", exc) from exc

    async def _finish(self) -> None:
        """Write the state and the queued outbox rows; the caller commits."""
        await self._write_state()
        await self._outbox.write(self._session)

    async def _write_state(self) -> None:
        """Write the saved state, checking that nobody else wrote since it was read."""
        if self._new_state is None:
            return
        result = await self._session.execute(
            update(Conversation)
            .where(Conversation.id == self._conversation.id, Conversation.version == self.version)
            .values(state=self._new_state, version=self.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            raise StoreError(
                f"conversation {self._conversation.id} was changed by another turn", transient=True
            )
        self.state, self.version = self._new_state, self.version + 1
        self._new_state = None
