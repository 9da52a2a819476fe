"""The dialogue's reading of a message with two questions (reading.py), on a stub matcher
whose decisions per part are fixed, so the rule is tested apart from the knowledge."""

from __future__ import annotations

from typing import cast

import pytest

from loketbot.understanding.matcher import Action, Match, Matcher, Thresholds
from loketbot.understanding.reading import Reading, _story, _two_questions


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


class StoryStub:
    """Knows only the texts it is given; every other text is handed off."""

    thresholds = Thresholds()

    def __init__(self, topics: dict[str, str]) -> None:
        self.topics = topics

    def match(self, text: str, lang: str | None = None) -> Match:
        topic = self.topics.get(text)
        if topic is None:
            return Match(text, None, 5.0, "handoff", (), "nl", True)
        return Match(text, topic, 30.0, "answer", (), "nl", True, ((topic, 30.0),))


def test_a_story_question_pointing_back_is_read_with_the_sentence_before() -> None:
    """The last sentence, "wat komt daarbij kijken?", names nothing; "daarbij" is the one before."""
    story = (
        "Een fonds wil ons geld geven. Een stichting lijkt ons het beste. Wat komt daarbij kijken?"
    )
    stub = cast(
        Matcher,
        StoryStub(
            {"Een stichting lijkt ons het beste. Wat komt daarbij kijken?": "legal-form-stichting"}
        ),
    )
    whole = Match(story, "subsidy-funds", 20.0, "clarify", ("subsidy-funds",), "nl", True)
    reading = _story(stub, story, whole, None)
    assert reading is not None
    assert reading.match.alternatives[:2] == ("subsidy-funds", "legal-form-stichting"), reading
