"""The dialogue's reading of a message with two questions (reading.py), on a stub matcher
whose decisions per part are fixed, so the rule is tested apart from the knowledge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from loketbot.content.knowledge import load_knowledge
from loketbot.understanding.matcher import Action, Match, Matcher, Thresholds
from loketbot.understanding.reading import Reading, _story, _two_questions


class StubMatcher:
    def __init__(self, decisions: dict[str, tuple[Action, str | None]]) -> None:
        self.decisions = decisions

    def is_system(self, entry_id: str | None) -> bool:
        return False

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

    def __init__(self, topics: dict[str, str], anchors: frozenset[str] = frozenset()) -> None:
        self.topics = topics
        self.anchors = anchors

    def is_topic(self, entry_id: str | None) -> bool:
        return entry_id is not None and entry_id not in self.anchors

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


def test_a_story_offers_topics_not_anchors_whatever_their_ids() -> None:
    """An anchor is told by its kind, so one an editor named without "oos-" is never a topic
    button in a story's choice."""
    story = "Ik heb twee dingen. Waar vraag ik een paspoort aan? Moet ons feest een vergunning?"
    stub = cast(
        Matcher,
        StoryStub(
            {
                "Waar vraag ik een paspoort aan?": "paspoort",
                "Moet ons feest een vergunning?": "permit-event",
            },
            anchors=frozenset({"paspoort"}),
        ),
    )
    whole = Match(story, "permit-event", 20.0, "clarify", ("permit-event",), "nl", True)
    reading = _story(stub, story, whole, None)
    assert reading is None or "paspoort" not in reading.match.alternatives, reading


def test_entries_are_topics_by_kind_not_by_id(kb_dir: Callable[..., Path]) -> None:
    anchors = """\
entries:
  - id: paspoort
    kind: out_of_scope
    title: {nl: Paspoort, en: Passport}
    examples:
      nl: [paspoort aanvragen, id-kaart verlopen, rijbewijs verlengen, paspoort kwijt,
           nieuw paspoort, identiteitskaart, reisdocument, paspoort ophalen]
      en: [passport, id card, driving licence]
    reviewed: 2026-11-23
"""
    matcher = Matcher(load_knowledge(kb_dir(**{"out_of_scope.yaml": anchors})))
    assert matcher.is_topic("permit-event")
    assert not matcher.is_topic("paspoort")
    assert not matcher.is_topic("no-such-entry")
