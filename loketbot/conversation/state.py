"""What a conversation is made of: inbound events, replies, domain events and the state."""

from __future__ import annotations

__all__ = [
    "Button",
    "Conversation",
    "Event",
    "FeedbackGiven",
    "FollowUp",
    "ForgetRequested",
    "HandoffRequested",
    "Inbound",
    "Outcome",
    "Profile",
    "ProfileGiven",
    "Reply",
    "TicketInfo",
]

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loketbot.content.knowledge import LANGS
from loketbot.conversation.flows import FlowState
from loketbot.profile import LIST_COLUMNS, PROFILE_COLUMNS
from loketbot.understanding.matcher import Match

STATE_VERSION = 1
MAX_TEXT = 4096  # characters of one message (Telegram's limit for a text message)
MAX_BUTTON = 256  # characters of button data (Telegram sends at most 64 bytes)
# Control characters but tab and newline: PostgreSQL refuses NUL in text and JSON, and escape
# sequences would reach the terminals of the people reading along.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply; `data` comes back as Inbound.button when chosen."""

    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """One message to the user."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class TicketInfo:
    """The chat's latest ticket, as the shell knows it; `reopenable` while within the window."""

    number: int
    status: str  # open | claimed | answered | closed
    reopenable: bool = False


@dataclass(frozen=True)
class Profile:
    """The initiative's profile as the shell knows it (from the store): flows skip what it says.

    One attribute per column of PROFILE_COLUMNS, filled by the profile flow (`profile: true`).
    """

    name: str = ""
    legal_form: str = ""
    area: str = ""
    themes: tuple[str, ...] = ()
    stage: str = ""

    def known(self) -> dict[str, tuple[str, ...]]:
        """Profile field (as flows name it in `from_profile:`) -> its values, the empty left out."""
        known: dict[str, tuple[str, ...]] = {}
        for field, column in PROFILE_COLUMNS.items():
            value = getattr(self, column)
            values = tuple(v for v in (value if column in LIST_COLUMNS else (value,)) if v)
            if values:
                known[field] = values
        return known

    @classmethod
    def from_answers(cls, answers: Mapping[str, Any]) -> Profile:
        """The profile the profile flow's answers make (one answer per field, a theme too)."""
        values: dict[str, Any] = {}
        for field, column in PROFILE_COLUMNS.items():
            answer = answers.get(field)
            if column in LIST_COLUMNS:
                values[column] = (str(answer),) if answer else ()
            else:
                values[column] = str(answer or "")
        values["name"] = values["name"][:200]
        return cls(**values)

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> Profile:
        """The profile as the store read it: each of PROFILE_COLUMNS' values -> value or None."""
        values: dict[str, Any] = {}
        for column in PROFILE_COLUMNS.values():
            if column in LIST_COLUMNS:
                values[column] = tuple(str(v) for v in row[column] or ())
            else:
                values[column] = row[column] or ""
        return cls(**values)

    def columns(self) -> dict[str, Any]:
        """PROFILE_COLUMNS' values -> this profile's value, for the store to save."""
        return {column: getattr(self, column) for column in PROFILE_COLUMNS.values()}


@dataclass(frozen=True)
class Inbound:
    """One thing the user did: typed `text`, or pressed the button carrying `button`.

    `ticket` is the chat's latest ticket (from the store), so the core can route follow-ups;
    `profile` the initiative's profile (from the store), so flows skip what it already says.
    """

    text: str = ""
    button: str | None = None
    ticket: TicketInfo | None = None
    profile: Profile | None = None
    cut: bool = False  # the text was longer than MAX_TEXT and was cut there

    def __post_init__(self) -> None:
        # Every channel's input passes here: made safe once, before anything reads or stores it.
        text = self.text
        if len(text) > MAX_TEXT:
            # Telegram's own limit: longer text comes only from a forged webhook update or
            # another Bot API server. Cut before any work, so it never costs more than this.
            object.__setattr__(self, "cut", True)
            text = text[:MAX_TEXT]
        object.__setattr__(self, "text", clean_text(text))
        if self.button is not None:
            object.__setattr__(self, "button", clean_text(self.button[:MAX_BUTTON]))


def clean_text(text: str) -> str:
    """`text` safe to store and send: line ends as newlines, no other control characters,
    and a lone surrogate (JSON allows "\\ud800") as U+FFFD. Writing marks (RTL, ZWJ) stay."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SURROGATE.search(text):
        # A pair that arrived as two escapes becomes the one character it stands for.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class HandoffRequested:
    """The user confirmed that a liaison officer should answer `question`."""

    question: str
    lang: str
    context: dict[str, Any]
    area: str | None = None  # the initiative's area, when a flow asked it


@dataclass(frozen=True)
class FeedbackGiven:
    """The user said whether the answer of `entry_id` helped."""

    entry_id: str
    helpful: bool


@dataclass(frozen=True)
class FollowUp:
    """The initiator added `text` to ticket `ticket` (reopening it when `reopen`)."""

    ticket: int
    text: str
    reopen: bool = False


@dataclass(frozen=True)
class ForgetRequested:
    """The user confirmed that their messages and personal data be deleted."""


@dataclass(frozen=True)
class ProfileGiven:
    """The initiator filled in (or changed) the initiative's profile: the flow's answers."""

    answers: dict[str, Any]


Event = HandoffRequested | FeedbackGiven | FollowUp | ForgetRequested | ProfileGiven


@dataclass(frozen=True)
class Conversation:
    """Everything the core remembers about one chat; stored as JSON by the shell."""

    lang: str = "nl"
    lang_pinned: bool = False
    mode: str = (
        "idle"  # idle | clarify | redirected | handoff_* | followup_confirm | forget_confirm
    )
    question: str = ""
    last_question: str = ""  # the latest free-text question: a follow-up is read against it
    followed: str = ""  # the question last_question follows up, when it was read on its own
    last_topic: str | None = None  # the entry answered last: what a follow-up refers to
    options: tuple[str, ...] = ()
    candidates: tuple[tuple[str, float], ...] = ()
    history: tuple[tuple[str, str], ...] = ()
    offered: tuple[Button, ...] = ()  # the last buttons shown: a typed number or label picks one
    flow: FlowState | None = None  # the flow in progress
    last_flow: FlowState | None = None  # the flow that ended last: context for a handoff

    @property
    def asked(self) -> str:
        """The latest question as a later "/mens" passes it on: a follow-up read on its own
        ("en een coöperatie?") with the question it follows up."""
        return f"{self.followed} — {self.last_question}" if self.followed else self.last_question

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for the store."""
        return {
            "v": STATE_VERSION,
            "lang": self.lang,
            "lang_pinned": self.lang_pinned,
            "mode": self.mode,
            "question": self.question,
            "last_question": self.last_question,
            "followed": self.followed,
            "last_topic": self.last_topic,
            "options": list(self.options),
            "candidates": [list(c) for c in self.candidates],
            "history": [list(h) for h in self.history],
            "offered": [[b.label, b.data] for b in self.offered],
            "flow": self.flow.to_json() if self.flow else None,
            "last_flow": self.last_flow.to_json() if self.last_flow else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Conversation:
        """Rebuild from `to_json` output; an unknown or older shape starts fresh (same language)."""
        if not data:
            return cls()
        lang = data.get("lang") if data.get("lang") in LANGS else "nl"
        if data.get("v") != STATE_VERSION:
            return cls(lang=str(lang))
        return cls(
            lang=str(lang),
            lang_pinned=bool(data.get("lang_pinned")),
            mode=str(data.get("mode", "idle")),
            question=str(data.get("question", "")),
            last_question=str(data.get("last_question", "")),
            followed=str(data.get("followed", "")),
            last_topic=str(data["last_topic"]) if data.get("last_topic") else None,
            options=tuple(str(o) for o in data.get("options", ())),
            candidates=tuple((str(i), float(s)) for i, s in data.get("candidates", ())),
            history=tuple((str(r), str(t)) for r, t in data.get("history", ())),
            offered=tuple(Button(str(label), str(d)) for label, d in data.get("offered", ())),
            flow=FlowState.from_json(data["flow"]) if data.get("flow") else None,
            last_flow=FlowState.from_json(data["last_flow"]) if data.get("last_flow") else None,
        )


@dataclass(frozen=True)
class Outcome:
    """What one step decided."""

    conversation: Conversation
    replies: tuple[Reply, ...]
    events: tuple[Event, ...] = ()
    match: Match | None = None
