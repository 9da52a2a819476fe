"""The dialogue's reading of a message with two questions (reading.py), on a stub matcher
whose decisions per part are fixed, so the rule is tested apart from the knowledge."""

from __future__ import annotations

from typing import cast

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


def test_first_question_answered_and_second_offered_when_whole_points_at_the_first() -> None:
    reading = read_parts(
        {
            "eerste vraag?": ("answer", "permit-event"),
            "tweede vraag?": ("clarify", "subsidy-funds"),
        },
        WHOLE_UNSURE,
    )
    assert reading is not None
    assert reading.match.intent == "permit-event"
    assert reading.also == "subsidy-funds"


def test_a_sure_later_question_after_an_unsure_first_is_not_answered() -> None:
    # The whole points at the later part; its first question stays unanswered otherwise,
    # and a side remark would be answered as the question: the whole is asked back instead.
    reading = read_parts(
        {
            "eerste vraag?": ("clarify", "subsidy-funds"),
            "tweede vraag?": ("answer", "permit-event"),
        },
        WHOLE_UNSURE,
    )
    assert reading is None


def test_a_sure_whole_is_the_answer_and_a_part_s_other_topic_the_offer() -> None:
    whole = Match("a? b?", "permit-event", 40.0, "answer", (), "nl", True)
    reading = read_parts(
        {
            "eerste vraag?": ("clarify", "subsidy-funds"),
            "tweede vraag?": ("answer", "permit-event"),
        },
        whole,
    )
    assert reading is not None
    assert reading.match.intent == "permit-event"
    assert reading.also == "subsidy-funds"
