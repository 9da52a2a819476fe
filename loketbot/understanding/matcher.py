"""Route a free-text question to a knowledge entry: answer, flow, clarify or handoff.

Pure and synchronous. Scoring, per entry: TF-IDF cosine between the question's terms
and (a) the entry's closest phrasing (an example, a keyword or the title) and (b) the
entry's whole vocabulary. The fuzzy part happens on words (analysis.py): rapidfuzz maps
a misspelt word onto the knowledge's vocabulary. Out-of-scope anchors take part like
entries; when one wins, someone else is named or a person helps (a request for a named
official always goes to a person: persons.py). The index and its NumPy arithmetic: index.py.
Thresholds and their measurements: docs/matching.md.
"""

from __future__ import annotations

__all__ = ["Match", "Matcher", "Ranking", "Thresholds"]

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from stop_words import get_stop_words

from loketbot.content.knowledge import LANGS, Entry, Knowledge, load_knowledge
from loketbot.understanding.analysis import Analyzer
from loketbot.understanding.index import Scores, TermIndex
from loketbot.understanding.language import LanguageGuesser
from loketbot.understanding.letters import without_letter_frame
from loketbot.understanding.persons import reaches_named_person, without_introduction

# Thanks or a greeting followed by "but" is politeness before what the message is about:
# "bedankt, maar ik snap het nog steeds niet" asks for help.
_CONTRAST = re.compile(r"\b(?:maar|echter|nog steeds|but|however|still)\b", re.IGNORECASE)

Action = Literal["answer", "flow", "clarify", "handoff", "redirect"]

# Words a group speaks in; "we" is English too.
_GROUP_VOICE = re.compile(r"\b(?:wij|we|ons|onze|our|us)\b", re.IGNORECASE)
# Words one person speaks of their own in ("mijn uitkering", "my GP"); not before the people
# around them ("mijn buren en ik willen ...", "mijn buurvrouw zegt ..."): that is a setting.
_OWN_VOICE = re.compile(
    r"\b(?:mijn|mn|m'n|my)\b(?!\s+(?:buurvrouw|buurman|buren|buurtgenoten|collega'?s?"
    r"|vrienden|vriendin|vriend|neighbou?rs?|colleagues?|friends?)\b)",
    re.IGNORECASE,
)


def _stopwords() -> list[str]:
    """Function words of both languages: they count for little (Thresholds.stopword_weight)."""
    return [
        w for lang in ("dutch", "english") for w in get_stop_words(lang)
    ] + _EXTRA_FUNCTION_WORDS


# Function words the lists lack, which Snowball would stem into a content word: "geleden"
# (ago) into "leed", the stem of "leden" (members); "gewoon" (just) into "woon" (to live);
# a letter's "Geachte" into "acht" (eight).
_EXTRA_FUNCTION_WORDS = ["geleden", "gewoon", "geachte"]


@dataclass(frozen=True)
class Thresholds:
    """Decision bands; values and the cross-validation behind them are in docs/matching.md.

    Answer when the top score is at least `answer_above` and leads the runner-up by
    `answer_margin`; otherwise, when it is at least `clarify_above`, ask which of the
    plausible topics is meant; below that, offer a person.
    """

    answer_above: float = 0.28
    answer_margin: float = 0.10
    clarify_above: float = 0.17
    # A long question shares fewer of its words with any one phrasing, so its cosine runs
    # lower: past this many words, the clarify floor is this share of clarify_above.
    long_question_words: int = 8
    long_question_floor: float = 0.9
    # Clarify offers the candidates scoring at least this share of the top one.
    offer_share: float = 0.5
    example_weight: float = 0.3
    max_alternatives: int = 3
    # Function words ("what", "de", "hoe") still count, a little: a question made only of
    # them ("wat kun je?") must still find its entry.
    stopword_weight: float = 0.25
    # A word the knowledge has never seen counts at this share of the rarest word's weight:
    # one unknown word ("basisprincipes") must not push a clear question below the line.
    unknown_weight: float = 0.5
    # When the bot is unsure, an out-of-scope anchor scoring at least this share of the top
    # topic wins: asking "did you mean the subsidy?" about a benefit not paid helps nobody.
    anchor_share: float = 0.9
    # A question in a group's voice ("wij", "ons") passes over the anchors when a topic
    # scores at least this share of the top (Entry.groups_ask_too keeps an anchor in place).
    group_topic_share: float = 0.9
    # A question about one's own ("mijn", "my") and not a group's is asked back only from
    # this score: weakly matched, it was a personal matter more often than an initiative's.
    own_voice_floor: float = 0.20
    # When the help entry tops a question that also names a topic scoring at least this share
    # of it ("stichting? ik snap het niet"), both are offered rather than help alone.
    help_named_share: float = 0.3
    # Below this score an anchor's answer is more often about something else than about the
    # question (a blocked bank card read as DigiD): offer a person instead of that answer.
    redirect_above: float = 0.22
    # A redirect also offers the best topic when it scores at least this share of the top.
    # It changes no decision, so no metric: chosen by reading the near-ties in docs/matching.md.
    redirect_offer_share: float = 0.75
    # A greeting or thanks opening a longer message is politeness, not the question; thanks
    # without a question mark that outscores every topic this many times over is the message.
    small_talk_max_words: int = 6
    small_talk_lead: float = 2.0


@dataclass(frozen=True)
class Match:
    """The matcher's decision for one question."""

    text: str
    intent: str | None
    score: float
    action: Action
    alternatives: tuple[str, ...]
    lang: str
    lang_sure: bool
    candidates: tuple[tuple[str, float], ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of `loketbot match`."""
        return {
            "text": self.text,
            "intent": self.intent,
            "score": self.score,
            "action": self.action,
            "alternatives": list(self.alternatives),
            "lang": self.lang,
        }


@dataclass(frozen=True)
class Ranking:
    """What `rank` read in a question: all `decide` needs besides the text itself."""

    ranked: tuple[tuple[int, float], ...]  # (entry index, score), best first
    lang: str
    sure: bool  # whether the language is sure
    # The question as rank read it: without a letter's frame or the writer's introduction.
    asked: str = ""


class Matcher:
    """Matches questions against one Knowledge set; build a new one to reload."""

    def __init__(self, knowledge: Knowledge, thresholds: Thresholds | None = None) -> None:
        """Index every example and keyword of `knowledge`."""
        self.knowledge = knowledge
        self.thresholds = thresholds or Thresholds()
        self._entries: tuple[Entry, ...] = knowledge.entries
        texts: dict[str, list[str]] = {lang: [] for lang in LANGS}
        for entry in self._entries:
            for lang in LANGS:
                texts[lang].extend(entry.examples[lang])
                texts[lang].extend(entry.keywords[lang])
                if lang in entry.title:
                    texts[lang].append(entry.title[lang])
        self.analyzer = Analyzer(texts, knowledge.synonyms, _stopwords())
        self.languages = LanguageGuesser(self.analyzer.words_by_lang)
        self._by_id = {e.id: i for i, e in enumerate(self._entries)}
        self._help = self._by_id.get("system-help")
        self._greeting = self._by_id.get("system-greeting")
        self._small_talk = frozenset(
            self._by_id[i] for i in ("system-greeting", "system-thanks") if i in self._by_id
        )
        self._named_by: list[frozenset[str]] = []  # per entry: terms of its title and keywords
        # Topics whose Dutch title is one word ("Stichting"): a question with that word names
        # the topic as plainly as it would at a counter (_titled_elsewhere).
        self._one_word_title: dict[int, str] = {}
        self._index_examples()
        self.analyzer.indexed()

    @classmethod
    def from_knowledge(cls, knowledge_dir: Path | str) -> Matcher:
        """Load and validate `knowledge_dir`, then index it."""
        return cls(load_knowledge(knowledge_dir))

    def _index_examples(self) -> None:
        examples: list[tuple[int, str, frozenset[str]]] = []
        entry_terms: list[Counter[str]] = []
        key_words: set[str] = set()  # terms of titles and keywords
        for index, entry in enumerate(self._entries):
            counts: Counter[str] = Counter()
            for lang in LANGS:
                for text in entry.examples[lang]:
                    phrase_terms = frozenset(self.analyzer.terms(text, correct=False))
                    counts.update(phrase_terms)
                    if phrase_terms:
                        examples.append((index, lang, phrase_terms))
            names = [(lang, text) for lang in LANGS for text in entry.keywords[lang]]
            names += [(lang, entry.title[lang]) for lang in entry.title]
            named: set[str] = set()
            for lang, text in names:
                term_list = self.analyzer.terms(text, correct=False)
                phrase_terms = frozenset(term_list)
                one_word = entry.is_topic and len(term_list) == 1
                if one_word and lang == "nl" and text == entry.title.get("nl"):
                    self._one_word_title[index] = term_list[0]
                counts.update(phrase_terms)
                named |= phrase_terms
                # A keyword is a phrasing too, and often the only one with its word
                # ("subsidieproces"): in the entry's vector alone it weighs next to nothing.
                if phrase_terms:
                    examples.append((index, lang, phrase_terms))
            key_words |= named
            entry_terms.append(counts)
            self._named_by.append(frozenset(named))
        count = len(self._entries)
        df: Counter[str] = Counter()
        for counts in entry_terms:
            df.update(counts.keys())
        idf = {t: math.log(1 + count / n) for t, n in df.items()}
        for term in self._stop_terms(key_words):
            if term in idf:
                idf[term] *= self.thresholds.stopword_weight
        # The index adds up postings with NumPy: on a large knowledge base a common word
        # reaches most examples (index.py, benchmarks/match_kb.py).
        self._example_langs = tuple(lang for _, lang, _ in examples)
        self._index = TermIndex(
            idf,
            math.log(1 + count / 0.5),
            [(entry, terms) for entry, _, terms in examples],
            entry_terms,
            self.thresholds.example_weight,
            unknown_weight=self.thresholds.unknown_weight,
        )

    def _stop_terms(self, key_words: set[str]) -> set[str]:
        """Stemmed stopwords, minus `key_words`: every word an editor put in a title or keywords."""
        stops = {term for word in _stopwords() for term in self.analyzer.terms(word, correct=False)}
        return stops - key_words

    def match(self, text: str, lang: str | None = None) -> Match:
        """Decide what to do with `text`; `lang` forces the answer language."""
        ranking = self.rank(text)
        if lang in LANGS:
            ranking = replace(ranking, lang=lang, sure=True)
        return self.decide(text, ranking)

    def names_topic(self, text: str, entry_id: str | None) -> bool:
        """Whether `text` itself names the entry: a word of its title or keywords."""
        index = self._by_id.get(entry_id or "")
        if index is None:
            return False
        return not self._named_by[index].isdisjoint(self.analyzer.terms(text))

    def is_topic(self, entry_id: str | None) -> bool:
        """Whether `entry_id` is a topic of the knowledge (by its kind, not its id's prefix)."""
        entry = self.knowledge.by_id.get(entry_id or "")
        return entry is not None and entry.is_topic

    def is_system(self, entry_id: str | None) -> bool:
        """Whether `entry_id` is one of the bot's own entries (greeting, help, a person)."""
        entry = self.knowledge.by_id.get(entry_id or "")
        return entry is not None and entry.is_system

    def rank(self, text: str) -> Ranking:
        """The best (entry index, score) pairs for `text`, best first, and its language
        (with whether that is sure)."""
        t = self.thresholds
        # The writer's own name ("u spreekt met mevrouw El Amrani") is no word of the question.
        # Nor is a letter's salutation, closing or signature ("Hoogachtend, J. de Wit").
        text = without_introduction(without_letter_frame(text))
        # Numbers name no topic ("1", "¾", a house number): they are not matched on.
        terms = [term for term in dict.fromkeys(self.analyzer.terms(text)) if not term.isdigit()]
        scores = self._score(terms)
        long = len(text.split()) > t.small_talk_max_words
        # The top five (for the log) or more; ties in the order the question reached them.
        count = max(5, t.max_alternatives)
        ranked = scores.ranked(count, skip=self._small_talk if long else ())
        asks = "?" in text or _CONTRAST.search(text) is not None
        if long and not asks and self._small_talk_leads(scores, ranked, t):
            # A greeting opens a question ("hoi, wat is een stichting"), so small talk is left
            # out of a longer message; unless it asks nothing and small talk is all it says:
            # thanks at length ("top bedankt, hier kan ik wat mee"), a greeting that announces
            # the question still to come ("hallo, goede morgen, ik heb een vraag").
            everything = scores.ranked(count)
            if everything[0][0] in self._small_talk:
                ranked = everything
        closest = self._index.closest_example(scores, ranked[0][0]) if ranked else None
        closest_lang = None if closest is None else self._example_langs[closest]
        detected, sure = self._language(text, closest_lang)
        return Ranking(tuple(ranked), detected, sure, text)

    def _small_talk_leads(
        self, scores: Scores, topical: Sequence[tuple[int, float]], t: Thresholds
    ) -> bool:
        """Whether thanks, or a greeting where no topic is plausible, outscores the best entry
        of `topical` that is no system entry small_talk_lead times over: "hoi, wij willen een
        stichting beginnen" asks without a question mark, and its greeting must not take the
        stichting's place; "Dank u wel. Ik snap het nu." is thanks, though help says "snap"."""
        best = next((s for i, s in topical if not self._entries[i].is_system), 0.0)
        return any(
            scores.first[entry] < len(scores.term_ids)  # reached
            and scores.values[entry] >= t.small_talk_lead * best
            and (entry != self._greeting or best < t.clarify_above)
            for entry in self._small_talk
        )

    def _score(self, terms: Sequence[str]) -> Scores:
        """Score of every entry, and per entry its examples' cosines (index.py)."""
        return self._index.score(terms)

    def _language(self, text: str, closest_lang: str | None) -> tuple[str, bool]:
        # Unsure: the language of the phrasing it matches ("hoi" is Dutch), else Dutch.
        return self.languages.guess(text, fallback=closest_lang or "nl")

    def decide(self, text: str, ranking: Ranking, thresholds: Thresholds | None = None) -> Match:
        """The action for a question's `ranking` (from `rank`), by the bands of `thresholds`."""
        t = thresholds or self.thresholds
        ranked: Sequence[tuple[int, float]] = ranking.ranked
        lang, sure = ranking.lang, ranking.sure
        candidates = tuple((self._entries[i].id, round(s * 100, 1)) for i, s in ranked[:5])
        floor = min(t.clarify_above, t.answer_above)
        if len(text.split()) > t.long_question_words:
            floor *= t.long_question_floor
        if _OWN_VOICE.search(text) and not _GROUP_VOICE.search(text):
            floor = max(floor, t.own_voice_floor)
        if not ranked or ranked[0][1] < floor or self._names_person(text):
            top = round(ranked[0][1] * 100, 1) if ranked else 0.0
            return Match(text, None, top, "handoff", (), lang, sure, candidates)
        ranked = self._heard_as_group(text, ranked, t)
        best_index, best_score = ranked[0]
        best = self._entries[best_index]
        score = round(best_score * 100, 1)
        if best.is_anchor:
            close = self._close(ranked, t)
            weak = best_score < t.redirect_above
            return self._anchor(text, best, weak, score, lang, sure, candidates, close)
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        named = self._named_beside_help(text, ranked, t) if best_index == self._help else None
        if best_score >= t.answer_above and best_score - runner_up >= t.answer_margin:
            # A guided flow is a detour when the question names another topic outright ("wat
            # houdt de rechtsvorm stichting in" is no choice between forms): offer both.
            if named is None and best.flow:
                named = self._titled_elsewhere(ranking.asked, ranked, best_index)
            if named is not None:
                offer = (best.id, named)
                return Match(text, best.id, score, "clarify", offer, lang, sure, candidates)
            action: Action = "flow" if best.flow else "answer"
            return Match(text, best.id, score, action, (), lang, sure, candidates)
        anchor = next(((i, s) for i, s in ranked if self._entries[i].is_anchor), None)
        if anchor is not None and anchor[1] >= best_score * t.anchor_share:
            winner = self._entries[anchor[0]]
            close = self._close(ranked, t)
            weak = anchor[1] < t.redirect_above
            return self._anchor(text, winner, weak, score, lang, sure, candidates, close)
        topics = [i for i, _ in ranked if not self._entries[i].is_anchor]
        plausible = [i for i, s in ranked if s >= best_score * t.offer_share and i in topics]
        # Always a choice of two or more (the runner-up at least): one option is no question.
        offered = tuple(
            self._entries[i].id
            for i in (plausible + topics[len(plausible) : 2])[: t.max_alternatives]
        )
        for also in (named, self._titled_elsewhere(ranking.asked, ranked, best_index)):
            if also is not None and also not in offered:
                offered = (offered[0], also, *offered[1:])[: t.max_alternatives]
        if len(offered) < 2:
            # No second topic to ask about. A greeting is greeted back ("goeie morgen
            # meneer"); a topic over the answer line missed only its lead on an anchor that
            # did not win ("vuilniszakken opruimactie"): nothing else is plausible, answer.
            if best_index in self._small_talk or best_score >= t.answer_above:
                action = "flow" if best.flow else "answer"
                return Match(text, best.id, score, action, (), lang, sure, candidates)
            short = len(text.split()) <= t.small_talk_max_words
            if short and len(ranked) == 1 and best.is_topic:
                # The only entry a few keywords reach at all ("vergaderplek gezocht"): asked
                # about on its own, beside the way to a person. A longer message that reaches
                # one entry only was more often about something else (a dog tax, school lots).
                return Match(text, best.id, score, "clarify", offered, lang, sure, candidates)
            return Match(text, None, score, "handoff", (), lang, sure, candidates)
        return Match(text, best.id, score, "clarify", offered, lang, sure, candidates)

    def _heard_as_group(
        self, text: str, ranked: Sequence[tuple[int, float]], t: Thresholds
    ) -> Sequence[tuple[int, float]]:
        """Without the anchors, when a group asks ("ons clubhuis") and a topic scores close to
        the top: one person's own home or care is not what a group's question is about."""
        if not _GROUP_VOICE.search(text):
            return ranked
        anchor = next((self._entries[i] for i, _ in ranked if self._entries[i].is_anchor), None)
        topics = [(i, s) for i, s in ranked if not self._entries[i].is_anchor]
        if anchor is None or anchor.groups_ask_too or not topics:
            return ranked
        return topics if topics[0][1] >= ranked[0][1] * t.group_topic_share else ranked

    def _named_beside_help(
        self, text: str, ranked: Sequence[tuple[int, float]], t: Thresholds
    ) -> str | None:
        """A topic the question names, close enough behind the help entry to offer beside it:
        "wat is een stichting? ik snap het niet" is about the stichting as much as the bot."""
        terms = frozenset(self.analyzer.terms(text))  # once, not per candidate
        for index, value in ranked[1:]:
            entry = self._entries[index]
            if (
                entry.is_anchor
                or entry.kind == "system"
                or value < t.help_named_share * ranked[0][1]
            ):
                continue
            if not self._named_by[index].isdisjoint(terms):
                return entry.id
        return None

    def _titled_elsewhere(
        self, asked: str, ranked: Sequence[tuple[int, float]], best_index: int
    ) -> str | None:
        """The one topic among the candidates that `asked` (Ranking.asked) names by its
        one-word title, in a word of its own ("stichting", not the "coop" of "wijkcoop"),
        when another leads."""
        candidates = {i for i, _ in ranked} & self._one_word_title.keys()
        if best_index in self._one_word_title or not candidates:
            return None  # the words are read again, without parts, only when this can matter
        words = frozenset(self.analyzer.terms(asked, parts=False))
        named = [i for i, word in self._one_word_title.items() if word in words]
        if len(named) != 1 or named[0] not in candidates:
            return None
        return self._entries[named[0]].id

    def _names_person(self, text: str) -> bool:
        analyzer = self.analyzer
        return reaches_named_person(text, analyzer.knows, analyzer.is_function_word)

    def _close(self, ranked: Sequence[tuple[int, float]], t: Thresholds) -> tuple[str, ...]:
        """The best topic, when it scores close to the top: offered beside a redirect."""
        top = ranked[0][1]
        for index, value in ranked:
            entry = self._entries[index]
            if entry.is_topic:
                return (entry.id,) if value >= top * t.redirect_offer_share else ()
        return ()

    @staticmethod
    def _anchor(
        text: str,
        anchor: Entry,
        weak: bool,
        score: float,
        lang: str,
        sure: bool,
        candidates: tuple[tuple[str, float], ...],
        close: tuple[str, ...] = (),
    ) -> Match:
        # Someone else at the municipality handles it (the anchor says who), or, for an
        # anchor without an answer, only a person can help; so can they for a weak anchor,
        # whose answer is more often about something else (Thresholds.redirect_above). A topic
        # close behind is offered too: "penningmeester schulden stichting" may be about the
        # board, not one's debts.
        if anchor.answer and not weak:
            return Match(text, anchor.id, score, "redirect", close, lang, sure, candidates)
        return Match(text, None, score, "handoff", (), lang, sure, candidates)
