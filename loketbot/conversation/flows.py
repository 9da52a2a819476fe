"""The flow engine: walk a validated flow, ask, check answers, branch, render results. Pure."""

from __future__ import annotations

__all__ = ["Answered", "FlowEngine", "FlowState", "FlowTurn", "Known"]

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, utils

from loketbot.content.areas import Areas, from_names
from loketbot.content.flowfile import AREAS, Flow, Scalar, Step
from loketbot.content.knowledge import Knowledge
from loketbot.conversation.texts import say
from loketbot.understanding.answers import AGREEING, NO, NO_SHORT, YES, YES_SHORT

MAX_FAILURES = 3
# The first word of a typed answer to a yes/no question ("ja, de hele straat", "nee hoor").
_YES = YES | YES_SHORT | AGREEING | {"zeker", "jawel", "yep", "yeah", "jup"}
_NO = NO | NO_SHORT | {"neen", "niet", "geen", "nah", "neuh"}
_WORDS = re.compile(r"[^\W_]+")
# A typed choice must beat the next option by this much: "met 3 buren" shares only "met"
# with "Alleen, met een idee" and is asked again rather than taken for it.
CHOICE_MIN = 90.0
CHOICE_MARGIN = 10.0
_NUMBER = re.compile(r"-?\d[\d.]*")
# The initiative's profile as flows read it: field (`from_profile:`) -> its values.
Known = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class FlowState:
    """Where a conversation is in a flow; stored in the conversation state."""

    flow: str
    step: str
    answers: tuple[tuple[str, Scalar], ...] = ()
    trail: tuple[str, ...] = ()  # questions answered, newest last: what "back" returns to
    failures: int = 0
    # Answers (by `save` name) the profile gave rather than the person: an officer checks them.
    profiled: tuple[str, ...] = ()

    def values(self) -> dict[str, Scalar]:
        """The answers as a dict."""
        return dict(self.answers)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "flow": self.flow,
            "step": self.step,
            "answers": [list(a) for a in self.answers],
            "trail": list(self.trail),
            "failures": self.failures,
            "profiled": list(self.profiled),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowState:
        """Rebuild from `to_json` output."""
        return cls(
            flow=str(data["flow"]),
            step=str(data["step"]),
            answers=tuple((str(k), v) for k, v in data.get("answers", ())),
            trail=tuple(str(s) for s in data.get("trail", ())),
            failures=int(data.get("failures", 0)),
            # States saved before this field took nothing from the profile.
            profiled=tuple(str(k) for k in data.get("profiled", ())),
        )


@dataclass(frozen=True)
class Answered:
    """One flow answer as a liaison officer reads it, and whether the profile gave it."""

    line: str  # "question answer"
    from_profile: bool = False


@dataclass(frozen=True)
class Prompt:
    """A message from the flow with the options it offers as (label, button data)."""

    text: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FlowTurn:
    """What the engine did: messages, the new state (None when the flow ended), and whether
    the flow asks for a liaison officer (`handoff`) or gave up on an answer (`stuck`)."""

    prompts: tuple[Prompt, ...]
    state: FlowState | None
    final: FlowState | None = None  # where the flow ended, with every answer
    handoff: bool = False
    stuck: bool = False
    rejected: bool = False


class FlowEngine:
    """Runs the flows of one flow set against one knowledge set."""

    def __init__(self, flows: Mapping[str, Flow], knowledge: Knowledge) -> None:
        """`flows` by id, validated; `knowledge` for the titles of linked entries."""
        self.flows = flows
        self.knowledge = knowledge
        # knowledge/areas.yaml when present; otherwise only the area names themselves.
        self.areas = knowledge.areas or from_names(AREAS)

    def menu(self) -> list[Flow]:
        """Flows that appear in /menu, in menu order."""
        return sorted((f for f in self.flows.values() if f.menu), key=lambda f: f.menu_order)

    def start(self, flow_id: str, lang: str, *, profile: Known | None = None) -> FlowTurn:
        """Begin `flow_id` at its start step; questions `profile` answers are skipped."""
        flow = self.flows[flow_id]
        intro = (Prompt(_t(flow.intro, lang)),) if flow.intro else ()
        turn = self._advance(FlowState(flow.id, flow.start), flow.start, lang, profile)
        return replace(turn, prompts=intro + turn.prompts)

    def knows(self, state: FlowState) -> bool:
        """Whether `state` fits these flows: a reload may have removed its flow or steps."""
        flow = self.flows.get(state.flow)
        if flow is None:
            return False
        asked = (state.step, *state.trail)
        return all(s in flow.steps and flow.steps[s].kind == "ask" for s in asked)

    def ask_again(self, state: FlowState, lang: str) -> Prompt:
        """The current question, as asked the first time."""
        return self._question(self.flows[state.flow], state, lang)

    def back(self, state: FlowState, lang: str) -> FlowTurn:
        """Return to the previous question, forgetting its answer."""
        if not state.trail:
            return FlowTurn((self.ask_again(state, lang),), state)
        flow = self.flows[state.flow]
        previous = state.trail[-1]
        forget = flow.steps[previous].save
        answers = tuple((k, v) for k, v in state.answers if k != forget)
        profiled = tuple(k for k in state.profiled if k != forget)
        back = FlowState(state.flow, previous, answers, state.trail[:-1], profiled=profiled)
        return FlowTurn((self._question(flow, back, lang),), back)

    def answer(
        self,
        state: FlowState,
        lang: str,
        *,
        text: str = "",
        value: str | None = None,
        profile: Known | None = None,
    ) -> FlowTurn:
        """Take a typed `text` or a pressed option `value` for the current question; later
        questions `profile` answers are skipped."""
        flow = self.flows[state.flow]
        step = flow.steps[state.step]
        parsed = value if value is not None else _parse(step, text, self.areas)
        if parsed is None or (value is not None and not _valid_value(step, value, self.areas)):
            failures = state.failures + 1
            failed = replace(state, failures=failures)
            if failures >= MAX_FAILURES:
                return FlowTurn((), failed, stuck=True, rejected=True)
            hint = (
                _t(step.hint, lang)
                if step.hint
                else say(f"hint_{step.type}", lang, **_limits(step))
            )
            return FlowTurn(
                (Prompt(hint), self._question(flow, failed, lang)), failed, rejected=True
            )
        answered = FlowState(
            state.flow,
            state.step,
            (*((k, v) for k, v in state.answers if k != step.save), (step.save, parsed)),
            (*state.trail, state.step),
            profiled=tuple(k for k in state.profiled if k != step.save),  # typed now
        )
        target = _target(step, parsed)
        if target is None:  # the checker forbids this; keep the user safe all the same
            return FlowTurn((Prompt(say("flow_broken", lang)),), None, answered)
        return self._advance(answered, target, lang, profile)

    def _advance(
        self, state: FlowState, step_id: str, lang: str, profile: Known | None = None
    ) -> FlowTurn:
        flow = self.flows[state.flow]
        prompts: list[Prompt] = []
        answers = state.values()
        profiled = set(state.profiled)
        used = _Used(lang)  # what the profile answered: told once, before the next message

        def at(where: str) -> FlowState:
            """The state at step `where`, with the answers and profile marks so far."""
            marked = tuple(k for k in answers if k in profiled)
            done = tuple(answers.items())
            return replace(state, step=where, answers=done, failures=0, profiled=marked)

        for _ in range(len(flow.steps) + 1):  # a say/branch cycle must not spin forever
            step = flow.steps[step_id]
            answers.update(step.sets)
            profiled.difference_update(step.sets)  # the flow's own value, not the profile's
            current = at(step_id)
            taken = self._from_profile(step, profile or {}, lang)
            if step.kind == "ask" and taken is not None:
                value, shown = taken
                answers[step.save] = value
                profiled.add(step.save)
                used.add(len(prompts), step.from_profile or "", shown)
                step_id = _target(step, value) or ""
                if step_id not in flow.steps:  # the checker forbids this
                    prompts.append(Prompt(say("flow_broken", lang)))
                    return FlowTurn(used.told(prompts), None, current)
                continue
            if step.kind == "ask":
                prompts.append(self._question(flow, current, lang))
                return FlowTurn(used.told(prompts), current)
            if step.kind == "say":
                prompts.append(Prompt(self._render(flow, step.text, answers, lang)))
                step_id = step.next or ""
            elif step.kind == "branch":
                step_id = next(target for cond, target in step.rules if cond.holds(answers))
            elif step.kind == "result":
                prompts.append(self._result(flow, step, answers, lang))
                return FlowTurn(used.told(prompts), None, current)
            else:  # handoff
                prompts.append(Prompt(self._render(flow, step.text, answers, lang)))
                return FlowTurn(used.told(prompts), None, current, handoff=True)
        return FlowTurn((Prompt(say("flow_broken", lang)),), None, at(step_id))

    def _from_profile(self, step: Step, profile: Known, lang: str) -> tuple[Scalar, str] | None:
        """The answer `profile` gives the question `step`, and how to show what the profile
        says; None: ask the question (no such field, or a value that fits no answer)."""
        if step.from_profile is None or step.kind != "ask":
            return None
        for value in profile.get(step.from_profile, ()):
            answer = self._fitting(step, step.profile_values.get(value, value))
            if answer is not None:
                return answer, self._profile_label(step.from_profile, value, lang)
        return None

    def _fitting(self, step: Step, value: Scalar) -> Scalar | None:
        """`value` as an answer of `step`, or None when the question has no such answer."""
        text = str(value).strip()
        if step.type == "area":
            return text if text in self.areas.area_names else self.areas.find(text)
        if step.type == "yesno":
            return text if text in ("yes", "no") else None
        if step.type == "choice":
            folded = text.casefold()
            return next((o.value for o in step.options if o.value.casefold() == folded), None)
        if step.type == "text":
            return text[:1000] or None
        return None

    def _profile_label(self, field: str, value: str, lang: str) -> str:
        """A profile value as the profile flow's button names it ("stichting"), else as is."""
        for flow in self.flows.values():
            if not flow.profile:
                continue
            for step in flow.steps.values():
                if step.kind == "ask" and step.save == field:
                    for option in step.options:
                        if option.value == value:
                            return _lower_first(_t(option.label, lang))
        return value

    def _question(self, flow: Flow, state: FlowState, lang: str) -> Prompt:
        step = flow.steps[state.step]
        text = self._render(flow, step.text, state.values(), lang)
        if step.type == "yesno":
            options = [(say("yes", lang), "yes"), (say("no", lang), "no")]
        elif step.type == "area":
            options = [(area, area) for area in self.areas.area_names]
        else:
            options = [(_t(o.label, lang), o.value) for o in step.options]
        buttons = [(label, f"fa:{step.id}:{value}") for label, value in options]
        if state.trail:
            buttons.append((say("back", lang), f"fl:back:{step.id}"))
        buttons.append((say("stop_flow", lang), "fl:stop"))
        return Prompt(text, tuple(buttons))

    def _result(self, flow: Flow, step: Step, answers: dict[str, Scalar], lang: str) -> Prompt:
        lines = [self._render(flow, step.text, answers, lang)]
        reasons = [
            self._render(flow, r.text, answers, lang) for r in step.reasons if r.when.holds(answers)
        ]
        if reasons:
            lines += ["", say("because", lang)] + [f"- {r}" for r in reasons]
        # Best first: items whose condition says more about these answers come first.
        matching = [e for e in step.entries if e.when.holds(answers)]
        matching.sort(key=lambda e: -len(e.when.tests))
        buttons: list[tuple[str, str]] = []
        if matching:
            lines += ["", say("read_more", lang)]
        for item in matching:
            entry = self.knowledge.by_id.get(item.entry_id or "")
            if entry is None:
                continue
            title = entry.text(entry.title, lang)
            why = f": {self._render(flow, item.text, answers, lang)}" if item.text else ""
            lines.append(f"- {title}{why}")
            buttons.append((title, f"e:{entry.id}"))
        buttons.append((say("human_button", lang), "h:human"))
        return Prompt("\n".join(lines), tuple(buttons))

    def _render(
        self, flow: Flow, text: Mapping[str, str], answers: dict[str, Scalar], lang: str
    ) -> str:
        labels = {key: self._label(flow, key, value, lang) for key, value in answers.items()}
        try:
            return _t(text, lang).format_map(labels).strip()
        except (KeyError, ValueError, IndexError):
            return _t(text, lang).strip()  # the checker guarantees answers; never crash on a user

    def _label(self, flow: Flow, key: str, value: Scalar, lang: str) -> str:
        for step in flow.steps.values():
            if step.save == key and step.kind == "ask":
                if step.type == "yesno":
                    return say("yes" if value == "yes" else "no", lang).lower()
                for option in step.options:
                    if option.value == value:
                        return _lower_first(_t(option.label, lang))
        return str(value)

    def area(self, state: FlowState, *, typed: bool = False) -> str | None:
        """The initiative's area, from the answer the flow declares as `area_from`; with
        `typed`, only when the person gave it, not the profile."""
        flow = self.flows.get(state.flow)
        if flow is None or flow.area_from is None:
            return None
        if typed and flow.area_from in state.profiled:
            return None
        value = dict(state.answers).get(flow.area_from)
        return str(value) if value not in (None, "") else None

    def summary(self, state: FlowState, lang: str) -> list[Answered]:
        """The answers as "question answer" lines for a liaison officer, in question order,
        each marked when the profile gave it."""
        answers = state.values()
        profiled = set(state.profiled)
        flow = self.flows.get(state.flow)
        if flow is None:
            return [Answered(f"{k}: {v}", k in profiled) for k, v in answers.items()]
        lines = []
        for step in flow.steps.values():
            if step.kind == "ask" and step.save in answers:
                answer = self._label(flow, step.save, answers[step.save], lang)
                lines.append(Answered(f"{_t(step.text, lang)} {answer}", step.save in profiled))
        return lines


def _t(text: Mapping[str, str], lang: str) -> str:
    return text.get(lang) or text.get("nl", "")


def _lower_first(label: str) -> str:
    """Buttons start with a capital; inside a sentence the label does not."""
    return label[:1].lower() + label[1:]


def _target(step: Step, value: Scalar) -> str | None:
    """Where a question goes after `value`: its option's own next, else the step's."""
    return next((o.next for o in step.options if o.value == value and o.next), step.next)


class _Used:
    """The answers a flow took from the profile in one go, told in one line."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.at: int | None = None  # where the line goes: before the first message after it
        self.facts: list[str] = []

    def add(self, at: int, field: str, shown: str) -> None:
        """Note that `field` was taken from the profile as `shown`."""
        if self.at is None:
            self.at = at
        self.facts.append(f"{say(f'profile_field_{field}', self.lang)} {shown}")

    def told(self, prompts: list[Prompt]) -> tuple[Prompt, ...]:
        """`prompts` with the line about the profile in its place (when anything was taken)."""
        if self.at is None:
            return tuple(prompts)
        facts = self.facts[0]
        if len(self.facts) > 1:
            facts = f"{', '.join(self.facts[:-1])} {say('profile_and', self.lang)} {self.facts[-1]}"
        line = Prompt(say("profile_used", self.lang, facts=facts))
        return (*prompts[: self.at], line, *prompts[self.at :])


def _limits(step: Step) -> dict[str, object]:
    return {"min": step.minimum if step.minimum is not None else 0, "max": step.maximum or "…"}


def _valid_value(step: Step, value: str, areas: Areas) -> bool:
    if step.type == "yesno":
        return value in ("yes", "no")
    if step.type == "area":
        return value in areas.area_names
    return any(o.value == value for o in step.options)


def _parse(step: Step, text: str, areas: Areas) -> Scalar | None:
    """A typed answer in the form the step stores, or None when it does not fit."""
    typed = text.strip()
    word = typed.lower().strip(" .!?")
    if not typed:
        return None
    if step.type == "yesno":
        # "ja, de hele straat gaat dicht", "ja bier", "nee hoor": the first word decides.
        first = next(iter(_WORDS.findall(word)), "")
        return "yes" if first in _YES else "no" if first in _NO else None
    if step.type == "number":
        found = _NUMBER.search(typed.replace(" ", ""))
        if found is None:
            return None
        try:
            number = int(float(found.group(0).replace(".", "")))
        except (ValueError, OverflowError):  # "9" * 400 is inf as a float
            return None
        if step.minimum is not None and number < step.minimum:
            return None
        if step.maximum is not None and number > step.maximum:
            return None
        return number
    if step.type == "area":
        return areas.find(typed)
    if step.type == "choice":
        by_label = {v: o.value for o in step.options for v in (o.value, *o.label.values())}
        longest = max(len(label.split()) for label in by_label)
        if len(typed.split()) > longest + 1:
            return None  # a sentence, not a choice: let the dialogue see whether it is a question
        return _choice(typed, by_label)
    return typed[:1000]


def _choice(typed: str, by_label: Mapping[str, str]) -> str | None:
    """The option a typed text names: the start of a label, or a clear best fuzzy match
    (the runner-up option at least CHOICE_MARGIN behind), else None (ask again)."""
    folded = utils.default_process(typed)
    starts = {v for label, v in by_label.items() if utils.default_process(label).startswith(folded)}
    if len(folded) >= 3 and len(starts) == 1:
        return starts.pop()
    best: dict[str, float] = {}
    for label, value in by_label.items():
        score = max(
            fuzz.ratio(folded, utils.default_process(label)),
            fuzz.token_set_ratio(folded, utils.default_process(label)),
        )
        best[value] = max(best.get(value, 0.0), score)
    ranked = sorted(best.values(), reverse=True)
    top = ranked[0] if ranked else 0.0
    runner_up = ranked[1] if len(ranked) > 1 else 0.0
    if top < CHOICE_MIN or top - runner_up < CHOICE_MARGIN:
        return None
    return next(v for v, score in best.items() if score == top)
