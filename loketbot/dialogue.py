"""The pure dialogue core: step(conversation, inbound) -> outcome. No I/O, no clock.

Every channel (Telegram, terminal, tests) drives this same function, so a conversation
behaves the same everywhere. The shell persists `Outcome.conversation` and delivers
`Outcome.replies`; `Outcome.events` are facts for the store (handoffs, feedback).
"""

from __future__ import annotations

__all__ = [
    "Button",
    "Conversation",
    "Dialogue",
    "FeedbackGiven",
    "HandoffRequested",
    "Inbound",
    "Outcome",
    "Reply",
]

from dataclasses import dataclass, replace
from typing import Any

from .knowledge import LANGS, Entry, Knowledge
from .matcher import Match, Matcher
from .texts import KIND_LABELS, say

HISTORY = 12
STATE_VERSION = 1


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
class Inbound:
    """One thing the user did: typed `text`, or pressed the button carrying `button`."""

    text: str = ""
    button: str | None = None


@dataclass(frozen=True)
class HandoffRequested:
    """The user confirmed that a liaison officer should answer `question`."""

    question: str
    lang: str
    context: dict[str, Any]


@dataclass(frozen=True)
class FeedbackGiven:
    """The user said whether the answer of `entry_id` helped."""

    entry_id: str
    helpful: bool


Event = HandoffRequested | FeedbackGiven


@dataclass(frozen=True)
class Conversation:
    """Everything the core remembers about one chat; stored as JSON by the shell."""

    lang: str = "nl"
    lang_pinned: bool = False
    mode: str = "idle"  # idle | clarify | handoff_confirm | handoff_question | handoff_context
    question: str = ""
    options: tuple[str, ...] = ()
    candidates: tuple[tuple[str, float], ...] = ()
    history: tuple[tuple[str, str], ...] = ()
    offered: tuple[Button, ...] = ()  # the last buttons shown: a typed number or label picks one

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for the store."""
        return {
            "v": STATE_VERSION,
            "lang": self.lang,
            "lang_pinned": self.lang_pinned,
            "mode": self.mode,
            "question": self.question,
            "options": list(self.options),
            "candidates": [list(c) for c in self.candidates],
            "history": [list(h) for h in self.history],
            "offered": [[b.label, b.data] for b in self.offered],
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
            options=tuple(str(o) for o in data.get("options", ())),
            candidates=tuple((str(i), float(s)) for i, s in data.get("candidates", ())),
            history=tuple((str(r), str(t)) for r, t in data.get("history", ())),
            offered=tuple(Button(str(label), str(d)) for label, d in data.get("offered", ())),
        )


@dataclass(frozen=True)
class Outcome:
    """What one step decided."""

    conversation: Conversation
    replies: tuple[Reply, ...]
    events: tuple[Event, ...] = ()
    match: Match | None = None


_COMMANDS = {
    "/start": "start",
    "/help": "help",
    "/hulp": "help",
    "/menu": "menu",
    "/mens": "human",
    "/human": "human",
    "/opnieuw": "reset",
    "/reset": "reset",
    "/taal": "lang",
    "/language": "lang",
}
_YES = frozenset({"ja", "j", "yes", "y", "ok", "oke", "graag", "ja graag", "doe maar"})
_NO = frozenset({"nee", "n", "no", "nope", "nee dank je", "no thanks", "laat maar"})


class Dialogue:
    """Decides replies for one knowledge set; stateless apart from what it is built with."""

    def __init__(self, knowledge: Knowledge, matcher: Matcher | None = None) -> None:
        """Use `matcher` when given (shared with other users of the same knowledge)."""
        self.knowledge = knowledge
        self.matcher = matcher or Matcher(knowledge)

    def step(self, conv: Conversation, inbound: Inbound) -> Outcome:
        """Handle one inbound event."""
        inbound = self._typed_choice(conv, inbound)
        text = inbound.text.strip()
        if inbound.button is not None:
            outcome = self._button(conv, inbound.button)
        elif not text:
            outcome = Outcome(conv, (Reply(say("text_only", conv.lang)),))
        elif text.startswith("/"):
            outcome = self._command(conv, text)
        else:
            outcome = self._text(conv, text)
        return self._remember(outcome, inbound)

    @staticmethod
    def _typed_choice(conv: Conversation, inbound: Inbound) -> Inbound:
        """Typing an offered option's number or label is the same as pressing it."""
        typed = inbound.text.strip()
        if inbound.button is not None or not typed or not conv.offered:
            return inbound
        if typed.isdigit() and 1 <= int(typed) <= len(conv.offered):
            return Inbound(button=conv.offered[int(typed) - 1].data)
        for button in conv.offered:
            if typed.casefold() == button.label.casefold():
                return Inbound(button=button.data)
        return inbound

    # -- commands -------------------------------------------------------------------------

    def _command(self, conv: Conversation, text: str) -> Outcome:
        name, _, arg = text.partition(" ")
        command = _COMMANDS.get(name.split("@", 1)[0].lower())
        idle = replace(conv, mode="idle", options=(), question="")
        if command == "start":
            return Outcome(idle, (Reply(say("welcome", conv.lang), self._menu_buttons(conv.lang)),))
        if command == "help":
            return Outcome(idle, (Reply(say("help", conv.lang)),))
        if command == "menu":
            return Outcome(idle, (Reply(say("menu", conv.lang), self._menu_buttons(conv.lang)),))
        if command == "reset":
            fresh = Conversation(lang=conv.lang, lang_pinned=conv.lang_pinned)
            return Outcome(fresh, (Reply(say("reset", conv.lang)),))
        if command == "lang":
            choice = arg.strip().lower()[:2]
            if choice in LANGS:
                return self._set_lang(conv, choice)
            buttons = (Button("Nederlands", "lang:nl"), Button("English", "lang:en"))
            return Outcome(conv, (Reply(say("lang_ask", conv.lang), buttons),))
        if command == "human":
            return self._ask_for_human(conv, self._last_question(conv), offer="ask_question")
        return Outcome(conv, (Reply(say("unknown_command", conv.lang)),))

    def _set_lang(self, conv: Conversation, lang: str) -> Outcome:
        conv = replace(conv, lang=lang, lang_pinned=True)
        return Outcome(conv, (Reply(say("lang_set", lang)),))

    def _menu_buttons(self, lang: str) -> tuple[Button, ...]:
        kinds = [k for k in KIND_LABELS if any(e.kind == k for e in self.knowledge.entries)]
        buttons = [Button(KIND_LABELS[k][lang], f"k:{k}") for k in kinds]
        return (*buttons, Button(say("human_button", lang), "h:human"))

    # -- buttons --------------------------------------------------------------------------

    def _button(self, conv: Conversation, data: str) -> Outcome:
        kind, _, value = data.partition(":")
        lang = conv.lang
        if kind == "e" and value in self.knowledge.by_id:
            return self._answer(replace(conv, mode="idle", options=()), self.knowledge.by_id[value])
        if kind == "k" and value in KIND_LABELS:
            entries = [e for e in self.knowledge.entries if e.kind == value]
            buttons = tuple(Button(e.text(e.title, lang), f"e:{e.id}") for e in entries)
            return Outcome(conv, (Reply(say("menu_kind", lang), buttons),))
        if kind == "lang" and value in LANGS:
            return self._set_lang(conv, value)
        if kind == "fb":
            helpful, _, entry_id = value.partition(":")
            if entry_id in self.knowledge.by_id and helpful in ("0", "1"):
                return self._feedback(conv, entry_id, helpful == "1")
        if kind == "h":
            return self._handoff_button(conv, value)
        return Outcome(conv, (Reply(say("stale_button", lang)),))

    def _feedback(self, conv: Conversation, entry_id: str, helpful: bool) -> Outcome:
        event = FeedbackGiven(entry_id, helpful)
        if helpful:
            return Outcome(conv, (Reply(say("thanks_feedback", conv.lang)),), (event,))
        outcome = self._ask_for_human(conv, conv.question, offer="offer_after_feedback")
        return replace(outcome, events=(event,))

    def _handoff_button(self, conv: Conversation, value: str) -> Outcome:
        lang = conv.lang
        if value == "human":
            return self._ask_for_human(conv, self._last_question(conv), offer="ask_question")
        if value == "ask" and conv.mode == "clarify":
            return self._ask_for_human(conv, conv.question, offer="offer_handoff")
        if value == "yes" and conv.mode == "handoff_confirm":
            return self._confirmed(conv)
        if value == "skip" and conv.mode == "handoff_context":
            return self._hand_off(conv, extra="")
        if value == "no" and conv.mode.startswith("handoff"):
            idle = replace(conv, mode="idle", question="", candidates=())
            return Outcome(idle, (Reply(say("handoff_cancelled", lang)),))
        return Outcome(conv, (Reply(say("stale_button", lang)),))

    # -- free text ------------------------------------------------------------------------

    def _text(self, conv: Conversation, text: str) -> Outcome:
        word = text.lower().strip(" .!")
        if conv.mode == "handoff_context":
            return self._hand_off(conv, extra=text)
        if conv.mode == "handoff_question":
            return self._confirmed(replace(conv, question=text))
        if conv.mode == "handoff_confirm" and word in _YES:
            return self._handoff_button(conv, "yes")
        if conv.mode == "handoff_confirm" and word in _NO:
            return self._handoff_button(conv, "no")
        if conv.mode == "clarify":
            chosen = self._pick_option(conv, text)
            if chosen is not None:
                return self._answer(replace(conv, mode="idle", options=()), chosen)
        match = self.matcher.match(text, conv.lang if conv.lang_pinned else None)
        if match.lang_sure and not conv.lang_pinned:
            conv = replace(conv, lang=match.lang)
        conv = replace(conv, mode="idle", options=(), question=text, candidates=match.candidates)
        outcome = self._route(conv, match)
        return replace(outcome, match=match)

    def _pick_option(self, conv: Conversation, text: str) -> Entry | None:
        """A typed choice while clarifying: the option's number or (part of) its title."""
        entries = [self.knowledge.by_id[o] for o in conv.options if o in self.knowledge.by_id]
        if text.isdigit() and 1 <= int(text) <= len(entries):
            return entries[int(text) - 1]
        lowered = text.lower()
        found = [e for e in entries if lowered in e.text(e.title, conv.lang).lower()]
        return found[0] if len(found) == 1 else None

    def _route(self, conv: Conversation, match: Match) -> Outcome:
        lang = conv.lang
        if match.action == "handoff" or match.intent is None:
            return self._ask_for_human(conv, conv.question, offer="offer_handoff")
        if match.action == "clarify":
            options = tuple(a for a in match.alternatives if a in self.knowledge.by_id)
            buttons = tuple(
                Button(self.knowledge.by_id[o].text(self.knowledge.by_id[o].title, lang), f"e:{o}")
                for o in options
            )
            buttons += (Button(say("none_of_these", lang), "h:ask"),)
            return Outcome(
                replace(conv, mode="clarify", options=options),
                (Reply(say("clarify", lang), buttons),),
            )
        return self._answer(conv, self.knowledge.by_id[match.intent])

    def _answer(self, conv: Conversation, entry: Entry) -> Outcome:
        lang = conv.lang
        if entry.id == "system-human":
            return self._ask_for_human(conv, self._last_question(conv), offer="ask_question")
        text = entry.text(entry.answer, lang).strip()
        if entry.kind == "system":
            buttons = (
                self._menu_buttons(lang) if entry.id in ("system-greeting", "system-help") else ()
            )
            return Outcome(conv, (Reply(text, buttons),))
        lines = [entry.text(entry.title, lang).upper(), "", text]
        if entry.links:
            lines += ["", say("more_info", lang) + ":"]
            lines += [f"- {link.title}: {link.url}" for link in entry.links]
        department = self.knowledge.by_id.get(entry.department or "")
        if department is not None and department.id != entry.id:
            lines += ["", f"{say('department', lang)}: {department.text(department.title, lang)}"]
        buttons = (
            Button(say("helped", lang), f"fb:1:{entry.id}"),
            Button(say("not_helped", lang), f"fb:0:{entry.id}"),
        )
        return Outcome(conv, (Reply("\n".join(lines), buttons),))

    # -- handoff --------------------------------------------------------------------------

    def _last_question(self, conv: Conversation) -> str:
        """The user's latest question that was not a command or a request for a human."""
        for role, text in reversed(conv.history):
            if role == "user" and not text.startswith("/") and not text.startswith("["):
                match = self.matcher.match(text)
                if match.intent != "system-human":
                    return text
        return ""

    def _ask_for_human(self, conv: Conversation, question: str, *, offer: str) -> Outcome:
        lang = conv.lang
        if not question:
            return Outcome(
                replace(conv, mode="handoff_question", question="", options=()),
                (Reply(say("ask_question", lang)),),
            )
        if offer == "ask_question":  # the user asked for a person: no need to ask "are you sure"
            return self._confirmed(replace(conv, question=question))
        buttons = (
            Button(say("handoff_yes", lang), "h:yes"),
            Button(say("handoff_no", lang), "h:no"),
        )
        return Outcome(
            replace(conv, mode="handoff_confirm", question=question, options=()),
            (Reply(say(offer, lang), buttons),),
        )

    def _confirmed(self, conv: Conversation) -> Outcome:
        lang = conv.lang
        buttons = (Button(say("no_context", lang), "h:skip"), Button(say("cancel", lang), "h:no"))
        text = say("forwarding", lang, question=conv.question) + "\n\n" + say("ask_context", lang)
        return Outcome(replace(conv, mode="handoff_context"), (Reply(text, buttons),))

    def _hand_off(self, conv: Conversation, extra: str) -> Outcome:
        context = {
            "extra": extra,
            "recent": [{"role": r, "text": t} for r, t in conv.history],
            "candidates": [{"intent": i, "score": s} for i, s in conv.candidates],
        }
        event = HandoffRequested(conv.question, conv.lang, context)
        idle = replace(conv, mode="idle", question="", options=(), candidates=())
        return Outcome(idle, (Reply(say("handoff_done", conv.lang)),), (event,))

    # -- memory ---------------------------------------------------------------------------

    @staticmethod
    def _remember(outcome: Outcome, inbound: Inbound) -> Outcome:
        said = inbound.text.strip() if inbound.button is None else f"[{inbound.button}]"
        entries = [("user", said[:500])] + [("bot", r.text[:300]) for r in outcome.replies]
        history = (outcome.conversation.history + tuple(entries))[-HISTORY:]
        offered = next((r.buttons for r in reversed(outcome.replies) if r.buttons), ())
        conv = replace(outcome.conversation, history=history, offered=offered)
        return replace(outcome, conversation=conv)
