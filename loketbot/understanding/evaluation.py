"""Routing metrics over labelled questions, as defined in eval/README.md.

An out-of-scope question is handled when it is handed off or redirected (told who does it);
a redirect of an in-scope question counts as wrong, like a wrong answer: the person is sent
away from the help they came for.
"""

from __future__ import annotations

__all__ = ["Case", "Report", "Verdict", "evaluate", "judge", "read_cases"]

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loketbot.errors import LoketbotError
from loketbot.understanding.matcher import Match, Matcher
from loketbot.understanding.reading import read

HANDOFF = "handoff"


@dataclass(frozen=True)
class Case:
    """One labelled question: `expect` is a topic id or "handoff"."""

    text: str
    expect: str
    lang: str | None = None


@dataclass(frozen=True)
class Report:
    """Counts and rates of one evaluation run."""

    in_scope: int
    out_of_scope: int
    top1: float
    safe: float
    wrong: float
    handoff: float
    misses: tuple[dict[str, object], ...] = field(default=())
    # (expected, got) -> how often, for the pairs the matcher confuses; "handoff" for none.
    confusions: tuple[tuple[str, str, int], ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """JSON shape of `loketbot eval --json`."""
        return {
            "in_scope": self.in_scope,
            "out_of_scope": self.out_of_scope,
            "top1": round(self.top1, 4),
            "safe": round(self.safe, 4),
            "wrong": round(self.wrong, 4),
            "handoff": round(self.handoff, 4),
            "misses": list(self.misses),
            "confusions": [{"expect": e, "got": g, "count": n} for e, g, n in self.confusions],
        }


def read_cases(path: Path) -> list[Case]:
    """Read `{"text", "expect"[, "lang"]}` lines; raise LoketbotError naming the bad line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["text"]), str(row["expect"]), row.get("lang")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise LoketbotError(
                f"{path}:{number}: expected a JSON object with 'text' and 'expect' ({exc})"
            ) from None
    return cases


@dataclass(frozen=True)
class Verdict:
    """How one labelled question came out, by the definitions of eval/README.md."""

    in_scope: bool
    top1: bool  # in scope: the right topic answered or offered first
    safe: bool  # in scope: top1, or the right topic among the choices offered
    wrong: bool  # a confident answer to the wrong topic, or an in-scope question redirected
    handled: bool  # out of scope: handed off or redirected

    @property
    def ok(self) -> bool:
        """The question got what it should: its topic first, or a person or a redirect."""
        return self.top1 if self.in_scope else self.handled


def judge(match: Match, expect: str) -> Verdict:
    """The verdict on `match` for a question labelled `expect` (a topic id or "handoff")."""
    confident = match.action in ("answer", "flow")
    if expect == HANDOFF:
        handled = match.action in ("handoff", "redirect")
        return Verdict(False, False, False, confident, handled)
    # As eval/README.md defines top1: the top intent, whether answered or offered first.
    top1 = match.intent == expect and match.action in ("answer", "flow", "clarify")
    safe = top1 or (match.action == "clarify" and expect in match.alternatives)
    wrong = (confident and match.intent != expect) or match.action == "redirect"
    return Verdict(True, top1, safe, wrong, False)


def evaluate(matcher: Matcher, cases: Iterable[Case], *, as_dialogue: bool = False) -> Report:
    """Match every case (language detected, as for a user) and compute the four metrics.
    `as_dialogue`: read each as a conversation's first message, as the bot does (reading.py:
    two questions in one message, a long story), not by the matcher alone."""
    in_scope = out_scope = top1 = safe = wrong = handed = 0
    misses: list[dict[str, object]] = []
    confused: Counter[tuple[str, str]] = Counter()
    for case in cases:
        match: Match = read(matcher, case.text).match if as_dialogue else matcher.match(case.text)
        verdict = judge(match, case.expect)
        if verdict.in_scope:
            in_scope += 1
            top1 += verdict.top1
            safe += verdict.safe
        else:
            out_scope += 1
            handed += verdict.handled
        wrong += verdict.wrong
        if not verdict.ok:
            misses.append({**match.as_dict(), "expect": case.expect})
            got = HANDOFF if match.action == "handoff" else f"{match.action}:{match.intent}"
            confused[(case.expect, got)] += 1
    total = in_scope + out_scope
    return Report(
        in_scope=in_scope,
        out_of_scope=out_scope,
        top1=top1 / in_scope if in_scope else 0.0,
        safe=safe / in_scope if in_scope else 0.0,
        wrong=wrong / total if total else 0.0,
        handoff=handed / out_scope if out_scope else 0.0,
        misses=tuple(misses),
        confusions=tuple((e, g, n) for (e, g), n in confused.most_common()),
    )
