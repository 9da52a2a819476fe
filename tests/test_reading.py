"""The dialogue's reading of a message with two questions (reading.py), on a stub matcher
whose decisions per part are fixed, so the rule is tested apart from the knowledge."""

from __future__ import annotations

from typing import cast

import pytest

from loketbot.understanding.matcher import Action, Match, Matcher
from loketbot.understanding.reading import Reading, _two_questions


class StubMatcher:
    def __init__(self, decisions: dict[str, tuple[Action, str | None]]) -> None:
        self.decisions = decisions

    def match(self, text: str, lang: str | None = None) -> Match:
        action, intent = self.decisions[text]
        return Match(text, intent, 30.0, action, (), "nl", True)


WHOLE_UNSURE = Match("a? b?", "permit-event", 25.0, "clarify", ("permit-event",), "nl", True)


def read_parts(decisions: dict[str, tuple[Action, str | None]], whole: Match) -> Reading | None:
    stub = cast(Matcher, StubMatcher(decisions))
    return _two_questions(stub, list(decisions), whole, None)


WHOLE_SURE = Match("a? b?", "permit-event", 40.0, "answer", (), "nl", True)
FIRST_SURE = {
    "eerste vraag?": ("answer", "permit-event"),
    "tweede vraag?": ("clarify", "subsidy-funds"),
}
LATER_SURE = {
    "eerste vraag?": ("clarify", "subsidy-funds"),
    "tweede vraag?": ("answer", "permit-event"),
}


@pytest.mark.parametrize(
    ("decisions", "whole", "answered"),
    [
        # Unsure of the whole, which points at the first question: answered, the second offered.
        (FIRST_SURE, WHOLE_UNSURE, ("permit-event", "subsidy-funds")),
        # The whole points at a later part it is sure of, after an unsure first: that part may
        # be a side remark, and the first question would go unanswered. Asked back instead.
        (LATER_SURE, WHOLE_UNSURE, None),
        # Sure of the whole: that is the answer, a part's other topic the offer.
        (LATER_SURE, WHOLE_SURE, ("permit-event", "subsidy-funds")),
    ],
)
def test_two_questions_answer_the_first_and_offer_the_second(
    decisions: dict[str, tuple[Action, str | None]],
    whole: Match,
    answered: tuple[str, str] | None,
) -> None:
    reading = read_parts(decisions, whole)
    got = None if reading is None else (reading.match.intent, reading.also)
    assert got == answered
