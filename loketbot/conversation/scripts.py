"""Scripted conversations as data (tests/flows/, tests/conversations/), run against the core.

A case is a list of steps: `user:` (typed) or `tap:` (a button label, typed as its number);
after each, expectations on what the bot did: `expect`/`expect_not` (text in the reply),
`buttons`, `handoff`, `intent`/`action` (how the message was understood), `followup` (added
to the ticket), `lang` (the conversation's language after the step). The runner plays the
desk's part for tickets: a handoff opens one; `officer: answered|closed|claimed` before a
step changes its status, as an officer would. It plays the store's part for the initiative's
profile too: a case may start with one (`profile: {area: Charlois, legal_form: stichting}`,
the profile flow's answer names), and a finished /profiel replaces it, as the desk saves it.
"""

from __future__ import annotations

__all__ = ["CaseResult", "ends_of", "run_file", "run_folder"]

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loketbot.content.flowfile import PROFILE_FIELDS, Flow
from loketbot.content.yamlfile import SyntaxProblem, read_yaml
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import (
    Conversation,
    FollowUp,
    HandoffRequested,
    Inbound,
    Outcome,
    Profile,
    ProfileGiven,
    TicketInfo,
)


@dataclass
class CaseResult:
    """One scripted conversation: its failures (empty when it passed) and the flow ends reached."""

    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    ends: set[tuple[str, str]] = field(default_factory=set)

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


def ends_of(flows: Mapping[str, Flow]) -> set[tuple[str, str]]:
    """Every (flow, step) where a flow can end: its results and handoffs."""
    return {
        (flow.id, step.id)
        for flow in flows.values()
        for step in flow.steps.values()
        if step.kind in ("result", "handoff")
    }


def run_folder(folder: Path, dialogue: Dialogue) -> list[CaseResult]:
    """Run every tests file in `folder`."""
    results: list[CaseResult] = []
    for path in sorted(folder.glob("*.yaml")):
        results.extend(run_file(path, dialogue))
    return results


def run_file(path: Path, dialogue: Dialogue) -> list[CaseResult]:
    """Run the cases of one file; a malformed file is one failed case naming the line."""
    try:
        located = read_yaml(path)
    except SyntaxProblem as exc:
        return [CaseResult(str(path), "?", [str(exc.problem)])]
    cases = located.data.get("cases") if isinstance(located.data, dict) else None
    if not isinstance(cases, list):
        return [CaseResult(str(path), "?", [f"{path}:1: expected a top-level 'cases:' list"])]
    results = []
    for index, case in enumerate(cases):
        line = located.line(("cases", index))
        results.append(_run_case(path, line, case, dialogue))
    return results


def _run_case(path: Path, line: int, case: Any, dialogue: Dialogue) -> CaseResult:
    name = str(case.get("name", f"line {line}")) if isinstance(case, dict) else f"line {line}"
    result = CaseResult(f"{path}:{line}", name)
    if not isinstance(case, dict) or not isinstance(case.get("steps"), list):
        result.failures.append("a case needs name: and a steps: list")
        return result
    profile = _profile(case.get("profile"))
    if isinstance(profile, str):
        result.failures.append(profile)
        return result
    conv = Conversation(lang=str(case.get("lang", "nl")))
    if case.get("lang"):
        conv = dialogue.step(conv, Inbound(text=f"/taal {case['lang']}")).conversation
    ticket: TicketInfo | None = None
    for number, step in enumerate(case["steps"], 1):
        where = f"step {number}"
        inbound = _inbound(step, conv)
        if isinstance(inbound, str):
            result.failures.append(f"{where}: {inbound}")
            break
        if ticket is not None and isinstance(step, dict) and step.get("officer"):
            status = str(step["officer"])
            ticket = TicketInfo(ticket.number, status, reopenable=status == "answered")
        outcome = dialogue.step(conv, replace(inbound, ticket=ticket, profile=profile))
        conv = outcome.conversation
        for event in outcome.events:
            if isinstance(event, ProfileGiven):
                profile = Profile.from_answers(event.answers)
        if any(isinstance(e, HandoffRequested) for e in outcome.events):
            ticket = TicketInfo((ticket.number if ticket else 0) + 1, "open")
        if conv.flow is None and conv.last_flow is not None and conv.last_flow.step:
            result.ends.add((conv.last_flow.flow, conv.last_flow.step))
        problem = _check(step, outcome) or _check_reading(step, outcome)
        if problem:
            result.failures.append(f"{where} ({_said(step)}): {problem}")
            break
    return result


def _profile(raw: Any) -> Profile | str | None:
    """A case's `profile:` (the profile flow's answer names), or a message saying what is wrong."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or any(k not in PROFILE_FIELDS for k in raw):
        return f"profile: is a mapping with some of {', '.join(PROFILE_FIELDS)}"
    return Profile.from_answers(raw)


def _said(step: Mapping[str, Any]) -> str:
    return f"tap {step['tap']!r}" if "tap" in step else f"user {step.get('user')!r}"


def _inbound(step: Any, conv: Conversation) -> Inbound | str:
    if not isinstance(step, dict):
        return "a step is a mapping with user: or tap:"
    if "tap" in step:
        label = str(step["tap"]).casefold()
        offered = conv.offered
        chosen = [b for b in offered if b.label.casefold() == label] or [
            b for b in offered if b.label.casefold().startswith(label)
        ]
        if not chosen:
            labels = ", ".join(repr(b.label) for b in offered) or "none"
            return f"button {step['tap']!r} is not offered (offered: {labels})"
        # Tap by typing the option's number, as in `loketbot chat`: the core resolves it.
        return Inbound(text=str(offered.index(chosen[0]) + 1))
    if "user" in step:
        return Inbound(text=str(step["user"]))
    return "a step needs user: (typed text) or tap: (a button label)"


def _check(step: Mapping[str, Any], outcome: Outcome) -> str | None:
    text = "\n".join(r.text for r in outcome.replies)
    folded = text.casefold()
    for wanted in step.get("expect", ()):
        if str(wanted).casefold() not in folded:
            return f"expected {wanted!r} in the reply:\n{text}"
    for unwanted in step.get("expect_not", ()):
        if str(unwanted).casefold() in folded:
            return f"did not expect {unwanted!r} in the reply:\n{text}"
    labels = [b.label.casefold() for r in outcome.replies for b in r.buttons]
    for button in step.get("buttons", ()):
        if str(button).casefold() not in labels:
            return f"expected a button {button!r}; offered: {labels}"
    if "handoff" in step:
        handed = any(type(e).__name__ == "HandoffRequested" for e in outcome.events)
        if handed != bool(step["handoff"]):
            return f"expected handoff={step['handoff']}, got {handed}"
    return None


def _check_reading(step: Mapping[str, Any], outcome: Outcome) -> str | None:
    """How the message was understood, and what happened to the ticket and the language."""
    match = outcome.match
    for key in ("intent", "action"):
        if key in step:
            got = getattr(match, key) if match is not None else None
            if got != step[key]:
                return f"expected {key} {step[key]!r}, got {got!r} ({match})"
    if "alternatives" in step:
        got_alternatives = list(match.alternatives) if match is not None else []
        missing = [a for a in step["alternatives"] if a not in got_alternatives]
        if missing:
            return f"expected {missing} among the offered topics {got_alternatives}"
    if "followup" in step:
        added = any(isinstance(e, FollowUp) for e in outcome.events)
        if added != bool(step["followup"]):
            return f"expected followup={step['followup']}, got {added}"
    if "lang" in step and outcome.conversation.lang != step["lang"]:
        return f"expected the conversation in {step['lang']!r}, got {outcome.conversation.lang!r}"
    if "ticket_lang" in step:
        langs = [e.lang for e in outcome.events if isinstance(e, HandoffRequested)]
        if langs != [step["ticket_lang"]]:
            return f"expected a ticket in {step['ticket_lang']!r}, got {langs}"
    return None
