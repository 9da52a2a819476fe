"""Reading a message the way a person at a counter would: a short follow-up against the
topic just answered, two questions in one message, a long story with the question inside.

Pure: the matcher does the scoring; this module decides which text to give it.
"""

from __future__ import annotations

__all__ = ["Reading", "asks", "read"]

import re
from dataclasses import dataclass, replace

from loketbot.understanding.analysis import tokens
from loketbot.understanding.answers import AGREEING, NO, OKAY, YES
from loketbot.understanding.letters import without_letter_frame
from loketbot.understanding.matcher import Match, Matcher

# "en hoe lang duurt dat?", "and what does it cost?", "en voor een vereniging?"
_OPENERS = frozenset({"en", "and", "maar", "but", "ook", "also", "of", "or", "dus", "so"})
_POINTERS = frozenset(
    {
        "dat",
        "dit",
        "die",
        "deze",
        "daar",
        "daarvoor",
        "daarvan",
        "ervoor",
        "daarbij",
        "daarmee",
        "daarover",
        "erbij",
        "ermee",
        "erover",
        "that",
        "it",
        "this",
        "those",
        "there",
        "them",
    }
)
# Words a question starts with; "ja, ..." and "nee, ..." answer one instead.
# fmt: off
_ASKING = frozenset({
    "wat", "hoe", "waar", "wie", "wanneer", "welke", "welk", "waarom", "mag", "mogen", "moet",
    "moeten", "kan", "kun", "kunnen", "heb", "hebben", "is", "zijn", "wordt", "worden", "krijg",
    "krijgen", "what", "how", "where", "who", "when", "which", "why", "can", "could", "may", "do",
    "does", "are", "should", "must", "need", "will", "would",
})
# fmt: on
_ANSWERING = YES | NO | AGREEING | OKAY | {"okay", "sure"}
FOLLOW_UP_MAX_WORDS = 8
STORY_MIN_WORDS = 20
_QUESTION_END = re.compile(r"(?<=\?)\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CONFIDENT = ("answer", "flow")
_INDIRECT = re.compile(
    r"\b(?:weten|vraag (?:me|mij|ons) af|vragen (?:ons|we|wij) af|benieuwd|wonder(?:ing)?|"
    r"want to know|would like to know)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """What a message asks: the match to act on, and a second question's topic to offer."""

    match: Match
    also: str | None = None
    # message | follow-up (a short follow-up read on its own) | context | parts | story
    via: str = "message"


def read(
    matcher: Matcher,
    text: str,
    *,
    lang: str | None = None,
    previous_question: str = "",
    previous_topic: str | None = None,
) -> Reading:
    """Match `text` in the light of the conversation's previous question and topic."""
    own = matcher.match(text, lang)
    words = tokens(text)
    following = bool(previous_question) and _follows_up(words)
    if following:
        # "en een coöperatie?" after a stichting names its own topic: read alone, even unsure.
        named = own.action in (*_CONFIDENT, "clarify") and matcher.names_topic(text, own.intent)
        if not named or own.intent == previous_topic:
            combined = matcher.match(f"{previous_question} {text}", lang)
            if combined.action in (*_CONFIDENT, "clarify"):
                return Reading(_as(combined, own), via="context")
    # A letter's salutation and signature are no questions or sentences of the story.
    body = without_letter_frame(text)
    # Only parts that ask count: "wij verkopen soep" after a question tells the setting, and
    # read as a second question it was answered with the wrong topic.
    parts = [
        p for p in _QUESTION_END.split(body.strip()) if len(tokens(p)) >= 3 and _is_question(p)
    ]
    if len(parts) >= 2:
        reading = _two_questions(matcher, parts, own, lang)
        if reading is not None:
            return reading
    if own.action == "handoff" and len(words) >= STORY_MIN_WORDS:
        # A long message that opens with a clear question ("What exactly is a stichting? My
        # friends and I ..."): the rest is its setting; the question is asked back about.
        lead = _lead_question(matcher, body, own, lang)
        if lead is not None:
            return lead
    if own.action in ("handoff", "clarify") and len(words) >= STORY_MIN_WORDS:
        # Unsure about the story as a whole: its sentences, each on its own, say more.
        return _story(matcher, body, own, lang) or Reading(own)
    return Reading(own, via="follow-up" if following else "message")


def asks(text: str) -> bool:
    """Whether `text` reads as a question of its own, not as an answer to one."""
    words = tokens(text)
    # "en overmorgen?" continues the last question; "ja, ..." answers one.
    if len(words) < 3 or words[0] in _ANSWERING or words[0] in _OPENERS:
        return False
    return text.rstrip().endswith("?") or words[0] in _ASKING


def _is_question(part: str) -> bool:
    """Whether one sentence or part of a message asks something: "en kunnen we ...?", or
    indirectly, "ook willen we weten of ..."."""
    words = tokens(part)
    if words and words[0] in _OPENERS:
        words = words[1:]
    asking = bool(words) and words[0] in _ASKING
    return part.rstrip().endswith("?") or asking or bool(_INDIRECT.search(part))


def _follows_up(words: list[str]) -> bool:
    if not words or len(words) > FOLLOW_UP_MAX_WORDS:
        return False
    return words[0] in _OPENERS or any(w in _POINTERS for w in words)


def _as(match: Match, original: Match) -> Match:
    """`match` for the text the person typed (and in the language it was typed in)."""
    return replace(match, text=original.text, lang=original.lang, lang_sure=original.lang_sure)


def _two_questions(
    matcher: Matcher, parts: list[str], whole: Match, lang: str | None
) -> Reading | None:
    """The first question answered, the next one (understood at least well enough to ask
    about) offered; None when the parts do not reach two topics."""
    matches = [
        m
        for m in (matcher.match(p, lang) for p in parts[:3])
        if m.intent is not None and not matcher.is_system(m.intent)
    ]
    first = next((m for m in matches if m.action in _CONFIDENT), None)
    if first is None:
        return None
    if whole.action in _CONFIDENT and whole.intent is not None:
        # Sure of the message as a whole: that is the answer, a part's other topic the offer.
        first = whole
    elif first.intent != whole.intent or first is not matches[0]:
        # Unsure of the whole, a part is answered only where the whole points first, and
        # only the first question: a part the whole ranks lower, or a later part it is sure
        # of after an unsure first ("..., like a small pot from the wijkraad?"), is more
        # often a side remark than the question.
        return None
    other = next(
        (
            m.intent
            for m in matches
            if m.action in (*_CONFIDENT, "clarify") and m.intent != first.intent
        ),
        None,
    )
    if other is None:
        return None
    return Reading(_as(first, whole), also=other, via="parts")


def _topic_candidates(matcher: Matcher, match: Match) -> list[tuple[str, float]]:
    """The match's ranked candidates that are topics, not system entries or anchors."""
    return [(t, score) for t, score in match.candidates if matcher.is_topic(t)]


def _lead_question(matcher: Matcher, text: str, whole: Match, lang: str | None) -> Reading | None:
    """The topics of a long message's first sentence, when it asks and the matcher is sure of
    it on its own: offered to choose from, with its runner-up."""
    lead = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    if len(tokens(lead)) < 3 or not _is_question(lead):
        return None
    first = matcher.match(lead, lang)
    if first.action not in _CONFIDENT or matcher.is_system(first.intent):
        return None
    topics = [t for t, _ in _topic_candidates(matcher, first)][:2]
    if len(topics) < 2:
        return None
    clarify = replace(whole, intent=topics[0], action="clarify", alternatives=tuple(topics))
    return Reading(clarify, via="story")


def _story(matcher: Matcher, text: str, whole: Match, lang: str | None) -> Reading | None:
    """Each sentence of a long message on its own: the topic each reaches best, to ask which
    of them is meant (a story often holds several questions)."""
    floor = matcher.thresholds.clarify_above * 100
    found: dict[str, float] = {}
    sentences = _SENTENCE_END.split(text)
    for number, sentence in enumerate(sentences):
        # The sentences that ask: a story's setting ("Onze stichting huurt een ruimte ...")
        # names topics the question itself (about the landlord) is not about.
        words = tokens(sentence)
        if len(words) < 3 or not _is_question(sentence):
            continue
        if number and _follows_up(words):
            sentence = f"{sentences[number - 1]} {sentence}"
        match = matcher.match(sentence, lang)
        if match.action in ("handoff", "redirect"):
            continue
        best = next(iter(_topic_candidates(matcher, match)), None)
        if best is not None and best[1] >= floor:
            found[best[0]] = max(found.get(best[0], 0.0), best[1])
    by_sentence = sorted(found, key=lambda t: -found[t])
    if whole.action == "clarify" and whole.intent is not None:
        # Asked back already: the whole's first topic stays first (re-ranked by sentences,
        # the first topic offered was right less often); its sentences' topics come next.
        head = whole.intent
        ranked = [head, *(t for t in by_sentence if t != head)]
        ranked += [t for t in whole.alternatives if t not in ranked]
    else:
        # The whole message's own candidates fill up a choice of at least two.
        ranked = by_sentence + [t for t in whole.alternatives if t not in found]
    ranked = ranked[: matcher.thresholds.max_alternatives]
    if len(ranked) < 2 or not found:
        return None
    clarify = replace(
        whole,
        intent=ranked[0],
        score=found.get(ranked[0], whole.score),
        action="clarify",
        alternatives=tuple(ranked),
    )
    return Reading(clarify, via="story")
