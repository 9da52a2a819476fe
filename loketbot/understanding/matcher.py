"""Route a free-text question to a knowledge entry: answer, flow, clarify or handoff.

Pure and synchronous. Scoring, per entry: TF-IDF cosine between the question's terms
and (a) the entry's closest example and (b) the entry's whole vocabulary. The fuzzy
part happens on words (analysis.py): rapidfuzz maps a misspelt word onto the
knowledge's vocabulary. Out-of-scope anchors take part like entries; when one wins,
the question goes to a human. The index and the arithmetic, in NumPy: match_index.py.
Thresholds and their measurements: docs/matching.md.
"""

from __future__ import annotations

__all__ = ["Match", "Matcher", "Thresholds"]

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lingua import Language, LanguageDetectorBuilder
from stop_words import get_stop_words

from loketbot.content.knowledge import LANGS, Entry, Knowledge, load_knowledge
from loketbot.understanding.analysis import Analyzer
from loketbot.understanding.index import Scores, TermIndex

Action = Literal["answer", "flow", "clarify", "handoff"]
DETECT_CHARS = 2000  # characters the language detector sees (its cost grows with the text)


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds; values and the measurements behind them are in docs/matching.md."""

    handoff_below: float = 0.19
    clarify_within: float = 0.04
    example_weight: float = 0.3
    max_alternatives: int = 3
    # Function words ("what", "de", "hoe") still count, a little: a question made only of
    # them ("wat kun je?") must still find its entry.
    stopword_weight: float = 0.25
    # A greeting or thanks opening a longer message is politeness, not the question.
    small_talk_max_words: int = 6


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
        self.analyzer = Analyzer(texts, knowledge.synonyms)
        self._detector = LanguageDetectorBuilder.from_languages(
            Language.DUTCH, Language.ENGLISH
        ).build()
        self._small_talk = frozenset(
            i for i, e in enumerate(self._entries) if e.id in ("system-greeting", "system-thanks")
        )
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
            names = [text for lang in LANGS for text in entry.keywords[lang]]
            names += [entry.title[lang] for lang in entry.title]
            for text in names:
                phrase_terms = frozenset(self.analyzer.terms(text, correct=False))
                counts.update(phrase_terms)
                key_words |= phrase_terms
            entry_terms.append(counts)
        count = len(self._entries)
        df: Counter[str] = Counter()
        for counts in entry_terms:
            df.update(counts.keys())
        idf = {t: math.log(1 + count / n) for t, n in df.items()}
        for term in self._stop_terms(key_words):
            if term in idf:
                idf[term] *= self.thresholds.stopword_weight
        # The index adds up postings with NumPy: on a large knowledge base a common word
        # reaches most examples (match_index.py, benchmarks/match_kb.py).
        self._example_langs = tuple(lang for _, lang, _ in examples)
        self._index = TermIndex(
            idf,
            math.log(1 + count / 0.5),
            [(entry, terms) for entry, _, terms in examples],
            entry_terms,
            self.thresholds.example_weight,
        )

    def _stop_terms(self, key_words: set[str]) -> set[str]:
        """Stemmed stopwords, minus `key_words`: every word an editor put in a title or keywords."""
        stops = {
            term
            for lang in ("dutch", "english")
            for word in get_stop_words(lang)
            for term in self.analyzer.terms(word, correct=False)
        }
        return stops - key_words

    def match(self, text: str, lang: str | None = None) -> Match:
        """Decide what to do with `text`; `lang` forces the answer language."""
        t = self.thresholds
        terms = list(dict.fromkeys(self.analyzer.terms(text)))
        scores = self._score(terms)
        long = len(text.split()) > t.small_talk_max_words
        # The top five (for the log) or more; ties in the order the question reached them.
        ranked = scores.ranked(max(5, t.max_alternatives), skip=self._small_talk if long else ())
        closest = self._index.closest_example(scores, ranked[0][0]) if ranked else None
        closest_lang = None if closest is None else self._example_langs[closest]
        detected, sure = self._language(text, closest_lang)
        if lang in LANGS:
            detected, sure = lang, True
        return self._decide(text, ranked, detected, sure)

    def _score(self, terms: Sequence[str]) -> Scores:
        """Score of every entry, and per entry its examples' cosines (match_index.py)."""
        return self._index.score(terms)

    def _language(self, text: str, closest_lang: str | None) -> tuple[str, bool]:
        # The detector takes UTF-8 only: a lone surrogate (from JSON's "\ud800") would raise.
        # The first characters tell the language as well as all of them, at a bounded cost.
        sendable = text[:DETECT_CHARS].encode("utf-8", "replace").decode("utf-8")
        values = self._detector.compute_language_confidence_values(sendable)
        top = values[0] if values else None
        guess = "en" if top is not None and top.language == Language.ENGLISH else "nl"
        confidence = top.value if top is not None else 0.0
        if confidence >= 0.9 and len(text.split()) >= 3:
            return guess, True
        if closest_lang is not None:
            # Short messages ("hoi", "thanks") fool the detector; the phrasing they match does not.
            return closest_lang, confidence >= 0.9 or len(text.split()) >= 3
        return guess, False

    def _decide(
        self, text: str, ranked: Sequence[tuple[int, float]], lang: str, sure: bool
    ) -> Match:
        """`ranked`: the best (entry index, score) pairs, best first."""
        t = self.thresholds
        candidates = tuple((self._entries[i].id, round(s * 100, 1)) for i, s in ranked[:5])
        if not ranked or ranked[0][1] < t.handoff_below:
            top = round(ranked[0][1] * 100, 1) if ranked else 0.0
            return Match(text, None, top, "handoff", (), lang, sure, candidates)
        best_index, best_score = ranked[0]
        best = self._entries[best_index]
        score = round(best_score * 100, 1)
        if best.is_anchor:
            return Match(text, None, score, "handoff", (), lang, sure, candidates)
        close = [
            self._entries[i].id
            for i, s in ranked[: t.max_alternatives]
            if best_score - s <= t.clarify_within and not self._entries[i].is_anchor
        ]
        if len(close) > 1:
            return Match(text, best.id, score, "clarify", tuple(close), lang, sure, candidates)
        action: Action = "flow" if best.flow else "answer"
        return Match(text, best.id, score, action, (), lang, sure, candidates)
