"""A turn: what one incoming message may read and write, committed together by the Store.

A turn runs as one synchronous function inside one transaction (see Store.run_turn): on a
SQLite file in the store's writer thread, elsewhere in a greenlet of the async session. Its
everyday statements are built once, with bound parameters, and run on the Core connection: a
turn is the bot's hottest path, and building and caching ORM statements cost more than the
database itself.
"""

from __future__ import annotations

__all__ = ["Turn", "open_turn"]

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, insert, select, update
from sqlalchemy.orm import Session

from loketbot.errors import StoreError
from loketbot.profile import PROFILE_COLUMNS
from loketbot.store.engine import insert_ignoring_conflict
from loketbot.store.guards import count_event
from loketbot.store.models import (
    DIRECTIONS,
    Conversation,
    Feedback,
    Handoff,
    Initiative,
    Message,
    ProcessedUpdate,
    User,
    table_of,
    utcnow,
)
from loketbot.store.outbox import OutboxBuffer
from loketbot.store.privacy import forget_chat
from loketbot.store.records import ChatKey, HandoffRecord, handoff_record
from loketbot.store.tickets import add_followup, new_handoff

_USERS = table_of(User)
_CONVERSATIONS = table_of(Conversation)
_HANDOFFS = table_of(Handoff)
_INITIATIVES = table_of(Initiative)

# The chat's user and conversation, and its initiative's profile when it has one (flows skip
# what the profile says; read here, so a turn costs no extra statement); FOR UPDATE makes a
# second turn of the chat wait for our commit on PostgreSQL (SQLite's BEGIN IMMEDIATE already
# excludes every other writer).
_PROFILE_FIELDS = tuple(PROFILE_COLUMNS.values())
_CHAT = (
    select(
        _USERS.c.id.label("user_id"),
        _USERS.c.lang,
        _CONVERSATIONS.c.id.label("conversation_id"),
        _CONVERSATIONS.c.state,
        _CONVERSATIONS.c.version,
        _INITIATIVES.c.id.label("initiative_id"),
        *(_INITIATIVES.c[name] for name in _PROFILE_FIELDS),
    )
    .join_from(_USERS, _CONVERSATIONS, _CONVERSATIONS.c.user_id == _USERS.c.id)
    .outerjoin(_INITIATIVES, _INITIATIVES.c.conversation_id == _CONVERSATIONS.c.id)
    .where(_USERS.c.channel == bindparam("channel"), _USERS.c.external_id == bindparam("chat"))
    .with_for_update(of=_CONVERSATIONS)
)
_USER_ID = select(_USERS.c.id).where(
    _USERS.c.channel == bindparam("channel"), _USERS.c.external_id == bindparam("chat")
)
_LATEST_HANDOFF = (
    select(_HANDOFFS, _USERS.c.channel, _USERS.c.external_id)
    .join_from(_HANDOFFS, _CONVERSATIONS, _HANDOFFS.c.conversation_id == _CONVERSATIONS.c.id)
    .join(_USERS, _CONVERSATIONS.c.user_id == _USERS.c.id)
    .where(_HANDOFFS.c.conversation_id == bindparam("conversation"))
    .order_by(_HANDOFFS.c.id.desc())
    .limit(1)
)
_SAVE_STATE = (
    update(_CONVERSATIONS)
    .where(
        _CONVERSATIONS.c.id == bindparam("conversation"),
        _CONVERSATIONS.c.version == bindparam("read_version"),
    )
    .values(
        state=bindparam("new_state", type_=_CONVERSATIONS.c.state.type),
        version=bindparam("new_version", type_=_CONVERSATIONS.c.version.type),
        updated_at=bindparam("now", type_=_CONVERSATIONS.c.updated_at.type),
    )
)
_INSERT_MESSAGES = insert(table_of(Message))
_INSERT_FEEDBACK = insert(table_of(Feedback))


@dataclass(frozen=True)
class _Upserts:
    """INSERT ... ON CONFLICT DO NOTHING statements, which differ per dialect."""

    user: Insert
    conversation: Insert
    update_seen: Insert


@functools.cache
def _upserts(dialect: str) -> _Upserts:
    return _Upserts(
        user=insert_ignoring_conflict(dialect, _USERS, ["channel", "external_id"]),
        conversation=insert_ignoring_conflict(dialect, _CONVERSATIONS, ["user_id"]),
        update_seen=insert_ignoring_conflict(
            dialect, table_of(ProcessedUpdate), ["channel", "update_id"]
        ),
    )


def open_turn(connection: Connection, key: ChatKey) -> Turn:
    """Get or create the chat's user and conversation, locking the conversation, as a Turn."""
    chat = {"channel": key.channel, "chat": key.external_id}
    row = connection.execute(_CHAT, chat).first()
    if row is None:
        upserts = _upserts(connection.dialect.name)
        now = utcnow()
        values = {"channel": key.channel, "external_id": key.external_id, "created_at": now}
        connection.execute(upserts.user, values)  # a concurrent insert wins
        user_id = connection.execute(_USER_ID, chat).scalar_one()
        connection.execute(
            upserts.conversation, {"user_id": user_id, "version": 0, "updated_at": now}
        )
        row = connection.execute(_CHAT, chat).one()
    profile = (
        None
        if row.initiative_id is None
        else {name: getattr(row, name) for name in _PROFILE_FIELDS}
    )
    return Turn(
        connection,
        key,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        lang=row.lang,
        state=row.state,
        version=row.version,
        profile=profile,
    )


class Turn:
    """What one incoming message may read and write; everything is committed together."""

    def __init__(
        self,
        connection: Connection,
        key: ChatKey,
        *,
        user_id: int,
        conversation_id: int,
        lang: str,
        state: dict[str, Any] | None,
        version: int,
        profile: dict[str, Any] | None = None,
    ) -> None:
        """A turn on the chat's rows as read (and locked) by `open_turn`; `profile` is the
        chat's initiative profile as read then (its PROFILE_COLUMNS)."""
        self._connection = connection
        self._orm: Session | None = None  # for the rarer writes, made when first needed
        self._key = key
        self._user_id = user_id
        self._conversation_id = conversation_id
        self._user_changes: dict[str, Any] = {}
        self._messages: list[dict[str, Any]] = []
        self._feedback: list[dict[str, Any]] = []
        self._new_state: dict[str, Any] | None = None
        self._outbox = OutboxBuffer()
        self.lang = lang
        # A copy, so that changing the dict in place does not count as saving it.
        self.state = copy.deepcopy(state)
        self.version = version
        self.profile = profile

    def save_state(self, state: dict[str, Any]) -> None:
        """Keep `state` as the conversation state; it is written at commit, version + 1."""
        self._new_state = copy.deepcopy(state)

    def set_lang(self, lang: str) -> None:
        """Set the user's language (two letters, e.g. 'nl')."""
        if len(lang) != 2:
            raise ValueError(f"language must be a two-letter code, not {lang!r}")
        if lang != self.lang:
            self.lang = self._user_changes["lang"] = lang

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
        self._messages.append(
            {
                "conversation_id": self._conversation_id,
                "direction": direction,
                "text": text,
                "intent": intent,
                "score": score,
                "action": action,
                "created_at": utcnow(),
            }
        )

    def add_handoff(
        self,
        *,
        question: str,
        lang: str,
        context: dict[str, Any],
        area: str | None = None,
        topic: str | None = None,
    ) -> int:
        """Open a handoff for an officer (with its 'created' event) and return its ticket number."""
        return new_handoff(
            self._session(),
            self._conversation_id,
            question=question,
            lang=lang,
            context=context,
            area=area,
            topic=topic,
        )

    def add_feedback(self, entry_id: str, helpful: bool) -> None:
        """Record whether the answer from knowledge entry `entry_id` helped."""
        self._feedback.append(
            {
                "conversation_id": self._conversation_id,
                "entry_id": entry_id,
                "helpful": helpful,
                "created_at": utcnow(),
            }
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
            channel=self._key.channel if channel is None else channel,
            chat_id=self._key.external_id if chat_id is None else chat_id,
            ticket=ticket,
        )

    def seen_update(self, update_id: int) -> bool:
        """Record the channel's update as processed in this turn; True if it already was."""
        statement = _upserts(self._connection.dialect.name).update_seen
        values = {"channel": self._key.channel, "update_id": update_id, "created_at": utcnow()}
        return self._connection.execute(statement, values).rowcount != 1

    def count_event(
        self,
        key: str,
        *,
        now: datetime,
        windows: Sequence[timedelta],
        prune: bool,
        events: int = 1,
    ) -> list[int]:
        """Count `events` events under `key` (the flood limit) in this turn; counts per window."""
        return count_event(
            self._connection, key, now=now, windows=windows, prune=prune, events=events
        )

    def latest_handoff(self) -> HandoffRecord | None:
        """The newest handoff of this conversation, or None."""
        row = self._connection.execute(
            _LATEST_HANDOFF, {"conversation": self._conversation_id}
        ).first()
        return None if row is None else handoff_record(row, row.channel, row.external_id)

    def ticket_followup(self, ticket: int, text: str, *, reopen: bool) -> HandoffRecord:
        """Add a 'followup' event to this chat's ticket; `reopen` opens it again if it is not."""
        return add_followup(self._session(), self._conversation_id, ticket, text, reopen=reopen)

    def forget(self) -> list[HandoffRecord]:
        """Delete this chat's messages (this turn's so far too), feedback and undelivered outbox
        rows, blank the texts of rows already sent, and anonymise its tickets: returned as they
        now read, so their cards can be updated. The state starts empty unless saved after."""
        self._user_changes["display_name"] = None
        self._messages.clear()
        self._feedback.clear()
        self.save_state({})
        return forget_chat(self._session(), self._conversation_id, self._key)

    @property
    def conversation_id(self) -> int:
        """The chat's conversation row (the key of its tickets and its initiative)."""
        return self._conversation_id

    def orm(self) -> Session:
        """An ORM session in this turn's transaction, for store modules' sync functions."""
        return self._session()

    def _session(self) -> Session:
        """An ORM session in this turn's transaction (tickets and /vergeet use the ORM)."""
        if self._orm is None:
            self._orm = Session(bind=self._connection, expire_on_commit=False)
        return self._orm

    def _finish(self) -> None:
        """Write everything queued; the caller commits."""
        if self._orm is not None:
            self._orm.flush()
            self._orm.close()
        connection = self._connection
        if self._messages:
            connection.execute(_INSERT_MESSAGES, self._messages)
        if self._feedback:
            connection.execute(_INSERT_FEEDBACK, self._feedback)
        if self._user_changes:
            connection.execute(
                update(_USERS).where(_USERS.c.id == self._user_id).values(**self._user_changes)
            )
        self._write_state()
        self._outbox.write(connection)

    def _write_state(self) -> None:
        """Write the saved state, checking that nobody else wrote since it was read."""
        if self._new_state is None:
            return
        result = self._connection.execute(
            _SAVE_STATE,
            {
                "conversation": self._conversation_id,
                "read_version": self.version,
                "new_state": self._new_state,
                "new_version": self.version + 1,
                "now": utcnow(),
            },
        )
        if result.rowcount != 1:
            raise StoreError(
                f"conversation {self._conversation_id} was changed by another turn", transient=True
            )
        self.state, self.version = self._new_state, self.version + 1
        self._new_state = None
