"""Scripted conversations as data (tests/flows/*.yaml), run against the pure dialogue core."""

from __future__ import annotations

__all__ = ["CaseResult", "ends_of", "run_file", "run_folder"]

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loketbot.content.flowfile import Flow
from loketbot.content.yamlfile import SyntaxProblem, read_yaml
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Conversation, Inbound, Outcome


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
    conv = Conversation(lang=str(case.get("lang", "nl")))
    if case.get("lang"):
        conv = dialogue.step(conv, Inbound(text=f"/taal {case['lang']}")).conversation
    for number, step in enumerate(case["steps"], 1):
        where = f"step {number}"
        inbound = _inbound(step, conv)
        if isinstance(inbound, str):
            result.failures.append(f"{where}: {inbound}")
            break
        outcome = dialogue.step(conv, inbound)
        conv = outcome.conversation
        if conv.flow is None and conv.last_flow is not None and conv.last_flow.step:
            result.ends.add((conv.last_flow.flow, conv.last_flow.step))
        problem = _check(step, outcome)
        if problem:
            result.failures.append(f"{where} ({_said(step)}): {problem}")
            break
    return result


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
