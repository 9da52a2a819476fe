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
]  # the message types live in conversation.py; re-exported for channels and tests

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from loketbot.config import DEFAULT_RETENTION_DAYS
from loketbot.content.flowfile import Flow
from loketbot.content.knowledge import LANGS, Entry, Knowledge
from loketbot.conversation.flows import FlowEngine, FlowState, FlowTurn, Known, Prompt
from loketbot.conversation.state import (
    Button,
    Conversation,
    FeedbackGiven,
    FollowUp,
    ForgetRequested,
    HandoffRequested,
    Inbound,
    Outcome,
    ProfileGiven,
    Reply,
    TicketInfo,
)
from loketbot.conversation.texts import KIND_LABELS, say
from loketbot.understanding.analysis import tokens
from loketbot.understanding.answers import NO, NO_SHORT, OKAY, YES, YES_SHORT
from loketbot.understanding.matcher import Match, Matcher
from loketbot.understanding.reading import Reading, asks, read

HISTORY = 12
QUOTE = 300  # characters of a question quoted back in "Ik stuur deze vraag door"
# A mid-flow message must match another topic at least this well to interrupt the flow.
OTHER_TOPIC_MIN_SCORE = 30.0


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
    "/privacy": "privacy",
    "/vergeet": "forget",
    "/profiel": "profile",
    "/profile": "profile",
    "/forget": "forget",
}
_FLOW_BUTTONS = frozenset({"f", "fa", "fl", "fx"})  # start, answer, control, other topic
# A whole message saying yes or no to the dialogue's offer of a person, or to /vergeet.
_YES = YES | YES_SHORT | OKAY | {"graag", "ja graag", "doe maar"}
_FLOW_BACK = frozenset(
    {"terug", "vorige", "vorige vraag", "ga terug", "back", "go back", "previous"}
)
_FLOW_STOP = frozenset(
    {"stop", "stoppen", "ik wil stoppen", "stop met de vragen", "quit", "cancel", "annuleren"}
)
_DONT_KNOW = frozenset(
    {
        "weet niet",
        "weet ik niet",
        "ik weet het niet",
        "geen idee",
        "weet ik nog niet",
        "dont know",
        "i dont know",
        "no idea",
        "not sure",
    }
)
_NO = NO | NO_SHORT | {"nee dank je", "no thanks", "laat maar"}


class Dialogue:
    """Decides replies for one knowledge set; stateless apart from what it is built with."""

    def __init__(
        self,
        knowledge: Knowledge,
        matcher: Matcher | None = None,
        flows: Mapping[str, Flow] | None = None,
        expected_answer: str = "",
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        """Use `matcher` when given (shared with other users of the same knowledge);
        `expected_answer` ("2 werkdagen") is told to people whose question goes to a person;
        `retention_days` is how long messages are kept, as /privacy tells."""
        self.expected_answer = expected_answer
        self.retention_days = retention_days
        self.knowledge = knowledge
        self.matcher = matcher or Matcher(knowledge)
        self.engine = FlowEngine(flows or {}, knowledge)

    def step(self, conv: Conversation, inbound: Inbound) -> Outcome:
        """Handle one inbound event."""
        if inbound.cut and inbound.button is None:
            # Not read at all: half a story gets a worse answer than asking for a short one.
            return self._remember(Outcome(conv, (Reply(say("too_long", conv.lang)),)), inbound)
        inbound = self._typed_choice(conv, inbound)
        text = inbound.text.strip()
        flow_button = (
            inbound.button is not None and inbound.button.partition(":")[0] in _FLOW_BUTTONS
        )
        # What the initiative's profile says: flows skip the questions it answers.
        known = inbound.profile.known() if inbound.profile is not None else {}
        if conv.flow is not None and not self.engine.knows(conv.flow):
            # The flows were reloaded under this conversation and its place in them is gone.
            changed, conv = conv.flow, replace(conv, flow=None)
            if conv.mode == "idle" and (flow_button or (text and not text.startswith("/"))):
                return self._remember(self._flow_changed(conv, changed, known), inbound)
        if inbound.button is not None and flow_button:
            outcome = self._flow_button(conv, inbound.button, known)
        elif inbound.button is not None:
            # Any other button leaves a flow in progress: the user went somewhere else; but
            # "no, carry on" to the offer of a person after a stuck flow resumes it.
            resuming = inbound.button == "h:no" and conv.mode.startswith("handoff")
            left = conv if resuming else self._leave_flow(conv)
            outcome = self._button(left, inbound.button, inbound.ticket) or self._stale(conv)
        elif not text:
            outcome = Outcome(conv, (Reply(say("text_only", conv.lang)),))
        elif text.startswith("/"):
            outcome = self._command(conv, text)
        elif conv.mode == "unclear" and conv.question.isdecimal():
            outcome = self._unclear(conv, text)
        elif conv.flow is not None and conv.mode == "idle":
            outcome = self._flow_text(conv, text, known)
        elif conv.mode == "idle" and conv.offered and _plain(text) in _FLOW_BACK:
            # "terug" under a list of buttons: back to the menu, not a question for a person.
            outcome = self._command(conv, "/menu")
        elif (
            conv.mode == "idle" and inbound.ticket is not None and self._is_followup(inbound.ticket)
        ):
            outcome = self._followup(conv, text, inbound.ticket)
        else:
            outcome = self._text(conv, text)
        return self._remember(outcome, inbound)

    @staticmethod
    def _typed_choice(conv: Conversation, inbound: Inbound) -> Inbound:
        """Typing an offered option's number or label is the same as pressing it."""
        typed = inbound.text.strip()
        if inbound.button is not None or not typed or not conv.offered:
            return inbound
        number = _option_number(typed, len(conv.offered))
        if number is not None:
            return replace(inbound, text="", button=conv.offered[number - 1].data)
        for button in conv.offered:
            if typed.casefold() == button.label.casefold():
                return replace(inbound, text="", button=button.data)
        return inbound

    # -- commands -------------------------------------------------------------------------

    def _command(self, conv: Conversation, text: str) -> Outcome:
        name, _, arg = text.partition(" ")
        command = _COMMANDS.get(name.split("@", 1)[0].lower())
        if conv.flow is not None and command in ("help", "lang", "privacy"):
            # Help or a language switch mid-flow: answer, then ask the same question again.
            outcome = self._command(replace(conv, flow=None), text)
            flow_conv = replace(outcome.conversation, flow=conv.flow)
            again = self._prompt_reply(self.engine.ask_again(conv.flow, flow_conv.lang))
            return Outcome(flow_conv, (*outcome.replies, again))
        conv = self._leave_flow(conv)
        idle = replace(conv, mode="idle", options=(), question="")
        if command == "start":
            return Outcome(idle, (Reply(say("welcome", conv.lang), self._menu_buttons(conv.lang)),))
        if command == "help":
            return Outcome(idle, (Reply(say("help", conv.lang)),))
        if command == "privacy":
            return Outcome(idle, (Reply(say("privacy", conv.lang, days=self.retention_days)),))
        if command == "forget":
            buttons = (
                Button(say("forget_yes", conv.lang), "v:yes"),
                Button(say("forget_no", conv.lang), "v:no"),
            )
            asking = replace(idle, mode="forget_confirm")
            return Outcome(asking, (Reply(say("forget_ask", conv.lang), buttons),))
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
        if command == "profile":
            flow = next((f for f in self.engine.flows.values() if f.profile), None)
            if flow is not None:
                return self._flow_outcome(idle, self.engine.start(flow.id, conv.lang))
        if command == "human":
            return self._ask_for_human(conv, conv.asked, offer="ask_question")
        return Outcome(conv, (Reply(say("unknown_command", conv.lang)),))

    def _language_of(self, conv: Conversation, text: str) -> Conversation:
        """The conversation in the language `text` is clearly written in (unless pinned)."""
        lang, sure = self.matcher.languages.guess(text, fallback=conv.lang)
        return replace(conv, lang=lang) if sure and not conv.lang_pinned else conv

    def _set_lang(self, conv: Conversation, lang: str) -> Outcome:
        conv = replace(conv, lang=lang, lang_pinned=True)
        return Outcome(conv, (Reply(say("lang_set", lang)),))

    def _menu_buttons(self, lang: str) -> tuple[Button, ...]:
        flows = self.engine.menu()
        if flows:
            buttons = [Button(f.menu.get(lang) or f.menu["nl"], f"f:{f.id}") for f in flows]
            buttons.append(Button(say("all_topics", lang), "k:all"))
        else:
            buttons = self._kind_buttons(lang)
        return (*buttons, Button(say("human_button", lang), "h:human"))

    def _kind_buttons(self, lang: str) -> list[Button]:
        kinds = [k for k in KIND_LABELS if any(e.kind == k for e in self.knowledge.entries)]
        return [Button(KIND_LABELS[k][lang], f"k:{k}") for k in kinds]

    # -- buttons --------------------------------------------------------------------------

    def _button(
        self, conv: Conversation, data: str, ticket: TicketInfo | None = None
    ) -> Outcome | None:
        """What a pressed button does; None when it means nothing now (old, or made up)."""
        kind, _, value = data.partition(":")
        lang = conv.lang
        entry = self._entry(value)
        if kind == "e" and entry is not None:
            return self._answer(replace(conv, mode="idle", options=()), entry)
        if kind == "k" and value == "all":
            return Outcome(conv, (Reply(say("menu_kind", lang), tuple(self._kind_buttons(lang))),))
        if kind == "k" and value in KIND_LABELS:
            entries = [e for e in self.knowledge.entries if e.kind == value]
            buttons = tuple(Button(e.text(e.title, lang), f"e:{e.id}") for e in entries)
            return Outcome(conv, (Reply(say("menu_kind", lang), buttons),))
        if kind == "lang" and value in LANGS:
            return self._set_lang(conv, value)
        if kind == "fb":
            helpful, _, entry_id = value.partition(":")
            if self._entry(entry_id) is not None and helpful in ("0", "1"):
                return self._feedback(conv, entry_id, helpful == "1")
        if kind == "h":
            return self._handoff_button(conv, value)
        if kind == "v":
            return self._forget_button(conv, value)
        if kind == "t" and conv.mode in ("followup_confirm", "clarify"):
            answer, _, number = value.partition(":")
            idle = replace(conv, mode="idle")
            # Only the chat's own latest ticket: the number in the data could be anyone's.
            if answer == "yes" and ticket is not None and number == str(ticket.number):
                reopen = ticket.status not in ("open", "claimed")
                event = FollowUp(ticket.number, conv.question, reopen=reopen)
                reply = Reply(say("followup_added", lang, ticket=number))
                return Outcome(replace(idle, question=""), (reply,), (event,))
            if answer == "no":
                return self._text(idle, conv.question)
        return None

    def _entry(self, entry_id: str) -> Entry | None:
        """The entry a button names, if it has an answer (an out-of-scope anchor has none)."""
        entry = self.knowledge.by_id.get(entry_id)
        return entry if entry is not None and not entry.is_anchor else None

    def _stale(self, conv: Conversation) -> Outcome:
        """A button that means nothing now: say so; in a flow, ask its question again."""
        lang = conv.lang
        if conv.flow is None or conv.mode != "idle":
            return Outcome(conv, (Reply(say("stale_button", lang)),))
        again = self._prompt_reply(self.engine.ask_again(conv.flow, lang))
        return Outcome(conv, (Reply(say("stale_button_flow", lang)), again))

    def _feedback(self, conv: Conversation, entry_id: str, helpful: bool) -> Outcome:
        event = FeedbackGiven(entry_id, helpful)
        if helpful:
            return Outcome(conv, (Reply(say("thanks_feedback", conv.lang)),), (event,))
        outcome = self._ask_for_human(conv, conv.question, offer="offer_after_feedback")
        return replace(outcome, events=(event,))

    def _handoff_button(self, conv: Conversation, value: str) -> Outcome | None:
        lang = conv.lang
        if value == "human":
            return self._ask_for_human(conv, conv.asked, offer="ask_question")
        if value == "ask" and conv.mode == "clarify":
            return self._ask_for_human(conv, _passed_on(conv), offer="ask_question")
        if value == "ask" and conv.mode == "redirected":  # still wants an officer: fine
            return self._ask_for_human(conv, _passed_on(conv), offer="ask_question")
        if value == "yes" and conv.mode == "handoff_confirm":
            return self._confirmed(conv)
        if value == "skip" and conv.mode == "handoff_context":
            return self._hand_off(conv, extra="")
        if value == "no" and conv.mode.startswith("handoff"):
            idle = replace(conv, mode="idle", question="", candidates=())
            if conv.flow is not None:  # declined after getting stuck in a flow: carry on
                fresh = replace(idle, flow=replace(conv.flow, failures=0))
                again = self._prompt_reply(self.engine.ask_again(conv.flow, lang))
                return Outcome(fresh, (again,))
            return Outcome(idle, (Reply(say("handoff_cancelled", lang)),))
        return None

    @staticmethod
    def _forget_button(conv: Conversation, value: str) -> Outcome:
        """Only a "yes" to a pending /vergeet deletes; the shell does it (ForgetRequested)."""
        lang = conv.lang
        if conv.mode != "forget_confirm":
            return Outcome(conv, (Reply(say("forget_nothing", lang)),))
        if value == "yes":
            fresh = Conversation(lang=lang, lang_pinned=conv.lang_pinned)
            return Outcome(fresh, (Reply(say("forgotten", lang)),), (ForgetRequested(),))
        idle = replace(conv, mode="idle")
        return Outcome(idle, (Reply(say("forget_cancelled", lang)),))

    # -- tickets --------------------------------------------------------------------------

    @staticmethod
    def _unclear(conv: Conversation, text: str) -> Outcome:
        """After "no, that did not help": what is still unclear goes onto that ticket."""
        ticket = int(conv.question)
        idle = replace(conv, mode="idle", question="")
        reply = Reply(say("followup_added", conv.lang, ticket=ticket))
        return Outcome(idle, (reply,), (FollowUp(ticket, text, reopen=True),))

    @staticmethod
    def _is_followup(ticket: TicketInfo) -> bool:
        return ticket.status in ("open", "claimed") or ticket.reopenable

    def _followup(self, conv: Conversation, text: str, ticket: TicketInfo) -> Outcome:
        """While a ticket is open (or just answered) a clear new question is answered as
        usual; what looks like more detail for the ticket is asked about first."""
        lang = conv.lang
        reading = self._read(conv, text)
        match = reading.match
        if match.action in ("answer", "flow", "redirect") and not self._small_talk(match):
            return self._understood(conv, text, reading)
        if (
            match.action == "clarify"
            and asks(text)
            and self.matcher.names_topic(text, match.intent)
        ):
            # A question naming a topic: new, though the bot is unsure which, so it gets the
            # usual choice of topics, with "add it to the ticket" as one more choice.
            outcome = self._understood(conv, text, reading)
            if outcome.conversation.mode == "clarify" and outcome.replies:
                *before, last = outcome.replies
                add = Button(say("followup_yes", lang), f"t:yes:{ticket.number}")
                last = replace(last, buttons=(*last.buttons, add))
                return replace(outcome, replies=(*before, last))
        buttons = (
            Button(say("followup_yes", lang), f"t:yes:{ticket.number}"),
            Button(say("followup_no", lang), "t:no"),
        )
        asking = replace(conv, mode="followup_confirm", question=text)
        return Outcome(asking, (Reply(say("followup_ask", lang, ticket=ticket.number), buttons),))

    # -- free text ------------------------------------------------------------------------

    def _text(self, conv: Conversation, text: str) -> Outcome:
        word = text.lower().strip(" .!")
        if conv.mode == "handoff_context":
            return self._hand_off(conv, extra=text)
        if conv.mode == "handoff_question":
            return self._confirmed(replace(self._language_of(conv, text), question=text))
        if conv.mode == "handoff_confirm" and word in _YES:
            return self._confirmed(conv)
        if conv.mode == "handoff_confirm" and word in _NO:
            return self._handoff_button(conv, "no") or self._stale(conv)
        if conv.mode == "forget_confirm" and word in _YES | _NO:
            return self._forget_button(conv, "yes" if word in _YES else "no")
        if conv.mode == "clarify":
            chosen = self._pick_option(conv, text)
            if chosen is not None:
                return self._answer(replace(conv, mode="idle", options=()), chosen)
        return self._understood(conv, text, self._read(conv, text))

    def _read(self, conv: Conversation, text: str) -> Reading:
        """The message read against the conversation: its previous question and topic."""
        return read(
            self.matcher,
            text,
            lang=conv.lang if conv.lang_pinned else None,
            previous_question=conv.last_question,
            previous_topic=conv.last_topic,
        )

    def _understood(self, conv: Conversation, text: str, reading: Reading) -> Outcome:
        match = reading.match
        if match.lang_sure and not conv.lang_pinned:
            conv = replace(conv, lang=match.lang)
        conv = replace(conv, mode="idle", options=(), question=text, candidates=match.candidates)
        if match.intent != "system-human":  # "ik wil een mens" is no question to pass on
            conv = _asked(conv, text, reading)
        if match.action in ("answer", "flow") and match.intent is not None:
            conv = replace(conv, last_topic=match.intent)
        outcome = self._route(conv, match)
        if reading.also is not None and reading.also in self.knowledge.by_id:
            outcome = self._offer_also(outcome, reading.also)
        return replace(outcome, match=match)

    def _offer_also(self, outcome: Outcome, entry_id: str) -> Outcome:
        """The second question of a message, offered as a button under the first answer."""
        lang = outcome.conversation.lang
        entry = self.knowledge.by_id[entry_id]
        title = entry.text(entry.title, lang)
        offer = Reply(say("also_asked", lang, title=title), (Button(title, f"e:{entry_id}"),))
        return replace(outcome, replies=(*outcome.replies, offer))

    def _pick_option(self, conv: Conversation, text: str) -> Entry | None:
        """A typed choice while clarifying: the option's number or (part of) its title."""
        entries = [self.knowledge.by_id[o] for o in conv.options if o in self.knowledge.by_id]
        number = _option_number(text, len(entries))
        if number is not None:
            return entries[number - 1]
        lowered = text.lower()
        found = [e for e in entries if lowered in e.text(e.title, conv.lang).lower()]
        return found[0] if len(found) == 1 else None

    def _route(self, conv: Conversation, match: Match) -> Outcome:
        lang = conv.lang
        anchor = self.knowledge.by_id.get(match.intent or "")
        if match.action == "redirect" and anchor is not None:
            close = [e for e in map(self._entry, match.alternatives) if e is not None]
            return self._redirect(conv, anchor, close[0] if close else None)
        if match.action == "handoff" or match.intent is None:
            return self._ask_for_human(conv, _passed_on(conv), offer="offer_handoff")
        if match.action == "clarify":
            options = tuple(a for a in match.alternatives if a in self.knowledge.by_id)
            buttons = tuple(
                Button(self.knowledge.by_id[o].text(self.knowledge.by_id[o].title, lang), f"e:{o}")
                for o in options
            )
            buttons += (Button(say("none_of_these", lang), "h:ask"),)
            return Outcome(
                replace(conv, mode="clarify", options=options),
                (Reply(say("clarify_one" if len(options) == 1 else "clarify", lang), buttons),),
            )
        return self._answer(conv, self.knowledge.by_id[match.intent])

    def _redirect(self, conv: Conversation, anchor: Entry, close: Entry | None) -> Outcome:
        """Someone else at the municipality handles this: say who; a close topic and an
        officer second."""
        lang = conv.lang
        lines = [anchor.text(anchor.answer, lang).strip()]
        if anchor.links:
            lines += ["", say("more_info", lang) + ":"]
            lines += [f"- {link.title}: {link.url}" for link in anchor.links]
        buttons: tuple[Button, ...] = (Button(say("redirect_officer", lang), "h:ask"),)
        if close is not None:
            title = close.text(close.title, lang)
            lines += ["", say("redirect_close", lang, title=title)]
            buttons = (Button(title, f"e:{close.id}"), *buttons)
        return Outcome(replace(conv, mode="redirected"), (Reply("\n".join(lines), buttons),))

    def _answer(self, conv: Conversation, entry: Entry) -> Outcome:
        lang = conv.lang
        if entry.id == "system-human":
            return self._ask_for_human(conv, conv.asked, offer="ask_question")
        text = entry.text(entry.answer, lang).strip()
        if entry.kind == "system":
            menu = entry.id in ("system-greeting", "system-help")
            return Outcome(conv, (Reply(text, self._menu_buttons(lang) if menu else ()),))
        lines = [entry.text(entry.title, lang).upper(), "", text]
        if entry.links:
            lines += ["", say("more_info", lang) + ":"]
            lines += [f"- {link.title}: {link.url}" for link in entry.links]
        department = self.knowledge.by_id.get(entry.department or "")
        if department is not None and department.id != entry.id:
            lines += ["", f"{say('department', lang)}: {department.text(department.title, lang)}"]
        buttons: tuple[Button, ...] = (
            Button(say("helped", lang), f"fb:1:{entry.id}"),
            Button(say("not_helped", lang), f"fb:0:{entry.id}"),
        )
        flow = self.engine.flows.get(entry.flow or "")
        if flow is not None:
            title = flow.title.get(lang) or flow.title["nl"]
            buttons = (Button(say("start_flow", lang, title=title), f"f:{flow.id}"), *buttons)
        return Outcome(conv, (Reply("\n".join(lines), buttons),))

    # -- handoff --------------------------------------------------------------------------

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
        # Quote the start only: the officer gets the whole question, the user knows it.
        quoted = conv.question if len(conv.question) <= QUOTE else conv.question[:QUOTE] + "…"
        text = say("forwarding", lang, question=quoted) + "\n\n" + say("ask_context", lang)
        return Outcome(replace(conv, mode="handoff_context"), (Reply(text, buttons),))

    def _hand_off(self, conv: Conversation, extra: str) -> Outcome:
        context: dict[str, Any] = {
            "extra": extra,
            "recent": [{"role": r, "text": t} for r, t in conv.history],
            "candidates": [{"intent": i, "score": s} for i, s in conv.candidates],
        }
        flow = conv.flow or conv.last_flow
        # An area the flow took from the profile is left to the desk, which says where the
        # area came from on the card ("uit het profiel", not "uit de vragenlijst").
        area = self.engine.area(flow, typed=True) if flow is not None else None
        if flow is not None and flow.answers:
            told = self.engine.summary(flow, conv.lang)
            context["flow"] = {
                "id": flow.flow,
                "answers": dict(flow.answers),
                "summary": [a.line for a in told],
                # The summary lines the profile gave, by position: the officer checks those.
                "from_profile": [i for i, a in enumerate(told) if a.from_profile],
            }
        conv = self._leave_flow(conv)
        event = HandoffRequested(conv.question, conv.lang, context, area=area)
        idle = replace(conv, mode="idle", question="", options=(), candidates=())
        text = say("handoff_done", conv.lang)
        if self.expected_answer:
            text += " " + say("expected_answer", conv.lang, when=self.expected_answer)
        return Outcome(idle, (Reply(text),), (event,))

    # -- flows ----------------------------------------------------------------------------

    def _leave_flow(self, conv: Conversation) -> Conversation:
        if conv.flow is None:
            return conv
        return replace(conv, flow=None, last_flow=conv.flow)

    @staticmethod
    def _prompt_reply(prompt: Prompt) -> Reply:
        return Reply(prompt.text, tuple(Button(label, data) for label, data in prompt.options))

    def _flow_button(self, conv: Conversation, data: str, known: Known) -> Outcome:
        kind, _, rest = data.partition(":")
        lang = conv.lang
        if kind == "f":
            if rest not in self.engine.flows:
                return self._stale(conv)
            conv = replace(self._leave_flow(conv), mode="idle", options=(), question="")
            return self._flow_outcome(conv, self.engine.start(rest, lang, profile=known))
        flow = conv.flow
        if flow is None:
            return Outcome(conv, (Reply(say("stale_button", lang)),))
        other = self._entry(rest)
        if kind == "fx" and other is not None:  # answer the other question, then resume
            answered = self._answer(conv, other)
            again = self._prompt_reply(self.engine.ask_again(flow, lang))
            return Outcome(conv, (*answered.replies, again))
        action, _, step_and_value = rest.partition(":")
        if kind == "fl" and action == "stop":
            return Outcome(self._leave_flow(conv), (Reply(say("flow_stopped", lang)),))
        if kind == "fl" and action == "human":
            return self._ask_for_human(conv, self._flow_question(flow), offer="flow_stuck")
        if kind == "fl" and action == "resume":
            return Outcome(conv, (self._prompt_reply(self.engine.ask_again(flow, lang)),))
        if kind == "fl" and action == "back" and step_and_value == flow.step:
            return self._flow_outcome(conv, self.engine.back(flow, lang))
        if kind == "fa":
            step, _, value = rest.partition(":")
            if step == flow.step:
                turn = self.engine.answer(flow, lang, value=value, profile=known)
                return self._flow_outcome(conv, turn)
        # A button of an earlier question: say so and ask the current one again.
        again = self._prompt_reply(self.engine.ask_again(flow, lang))
        return Outcome(conv, (Reply(say("stale_button_flow", lang)), again))

    def _flow_changed(self, conv: Conversation, old: FlowState, known: Known) -> Outcome:
        """The user's flow lost its step in a reload: start it again, or say it is gone."""
        lang = conv.lang
        if old.flow not in self.engine.flows:
            return Outcome(conv, (Reply(say("flow_gone", lang)),))
        started = self._flow_outcome(conv, self.engine.start(old.flow, lang, profile=known))
        return replace(started, replies=(Reply(say("flow_changed", lang)), *started.replies))

    def _flow_text(self, conv: Conversation, text: str, known: Known) -> Outcome:
        assert conv.flow is not None
        lang = conv.lang
        typed = _plain(text)
        # Typed words work as the buttons do: "terug", "stop", and "weet niet" (not a dead end).
        if typed in _FLOW_BACK:
            return self._flow_outcome(conv, self.engine.back(conv.flow, lang))
        if typed in _FLOW_STOP:
            return Outcome(self._leave_flow(conv), (Reply(say("flow_stopped", lang)),))
        if typed in _DONT_KNOW:
            again = self._prompt_reply(self.engine.ask_again(conv.flow, lang))
            human = Button(say("human_button", lang), "fl:human")
            helped = replace(again, buttons=(*again.buttons, human))
            return Outcome(conv, (Reply(say("flow_dont_know", lang)), helped))
        turn = self.engine.answer(conv.flow, lang, text=text, profile=known)
        if turn.rejected:
            match = self.matcher.match(text, conv.lang)
            if (
                match.action in ("answer", "flow", "clarify")
                and match.intent is not None
                and match.score >= OTHER_TOPIC_MIN_SCORE
                and not self.matcher.is_system(match.intent)
                # The entry that starts this very flow is no other topic: ask again instead.
                and self.knowledge.by_id[match.intent].flow != conv.flow.flow
            ):
                return replace(self._offer_other_topic(conv, match.intent), match=match)
        return self._flow_outcome(conv, turn)

    def _small_talk(self, match: Match) -> bool:
        """Greetings, thanks and the like: not a new question while a ticket is open."""
        return match.intent is None or self.matcher.is_system(match.intent)

    def _offer_other_topic(self, conv: Conversation, entry_id: str) -> Outcome:
        lang = conv.lang
        entry = self.knowledge.by_id[entry_id]
        buttons = (
            Button(say("answer_other", lang), f"fx:{entry_id}"),
            Button(say("resume_flow", lang), "fl:resume"),
            Button(say("stop_flow", lang), "fl:stop"),
        )
        text = say("other_topic", lang, title=entry.text(entry.title, lang))
        return Outcome(conv, (Reply(text, buttons),))

    def _flow_outcome(self, conv: Conversation, turn: FlowTurn) -> Outcome:
        replies = [self._prompt_reply(p) for p in turn.prompts]
        if turn.stuck and turn.state is not None:
            stuck = replace(conv, flow=turn.state)
            question = self._flow_question(turn.state)
            outcome = self._ask_for_human(stuck, question, offer="flow_stuck")
            return replace(outcome, replies=(*replies, *outcome.replies))
        if turn.state is not None:
            return Outcome(replace(conv, flow=turn.state), tuple(replies))
        done = replace(conv, flow=None, last_flow=turn.final)
        finished = self.engine.flows.get(turn.final.flow) if turn.final is not None else None
        if (
            finished is not None
            and finished.profile
            and turn.final is not None
            and not turn.handoff
        ):
            given = ProfileGiven(dict(turn.final.answers))
            return Outcome(done, tuple(replies), (given,))
        if turn.handoff and turn.final is not None:
            outcome = self._ask_for_human(
                done, self._flow_question(turn.final), offer="flow_handoff"
            )
            return replace(outcome, replies=(*replies, *outcome.replies))
        return Outcome(done, tuple(replies))

    def _flow_question(self, state: FlowState) -> str:
        flow = self.engine.flows.get(state.flow)
        title = (flow.title.get("nl") or "") if flow else state.flow
        lines = [a.line for a in self.engine.summary(state, "nl")]
        return f"[{title}] " + "; ".join(lines) if lines else f"[{title}]"

    # -- memory ---------------------------------------------------------------------------

    @staticmethod
    def _remember(outcome: Outcome, inbound: Inbound) -> Outcome:
        said = inbound.text.strip() if inbound.button is None else f"[{inbound.button}]"
        entries = [("user", said[:500])] + [("bot", r.text[:300]) for r in outcome.replies]
        history = (outcome.conversation.history + tuple(entries))[-HISTORY:]
        offered = next((r.buttons for r in reversed(outcome.replies) if r.buttons), ())
        conv = replace(outcome.conversation, history=history, offered=offered)
        return replace(outcome, conversation=conv)


def _plain(text: str) -> str:
    """Lower case, no accents or punctuation: "← Terug!" is "terug", "don't know" "dont know"."""
    return " ".join(tokens(text.replace("\u2019", "").replace("'", "")))


def _passed_on(conv: Conversation) -> str:
    """The question a person gets: a follow-up read on its own comes with the question it
    follows ("wat is een stichting? — en een coöperatie?")."""
    return conv.asked if conv.question and conv.question == conv.last_question else conv.question


def _asked(conv: Conversation, text: str, reading: Reading) -> Conversation:
    """`conv` after the question `text`: what a next follow-up is read against, and what a
    later /mens passes on (Conversation.asked)."""
    if reading.via == "context":  # "... en hoe lang?" stands for the whole question
        return replace(conv, last_question=f"{conv.last_question} {text}"[:500])
    if reading.via == "follow-up":
        # Read on its own, so the next follow-up is read against it alone; but "en een
        # coöperatie?" means nothing to an officer without the question it follows.
        return replace(conv, last_question=text[:500], followed=conv.asked[:500])
    return replace(conv, last_question=text[:500], followed="")


def _option_number(typed: str, count: int) -> int | None:
    """`typed` as an option number from 1 to `count` ("2", "٢"), or None ("²", 5,000 nines)."""
    if typed.isdecimal() and len(typed) <= 3 and 1 <= int(typed) <= count:
        return int(typed)
    return None
