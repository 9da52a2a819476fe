"""Route a free-text question to a knowledge entry: answer, flow, clarify or handoff.

Pure and synchronous. Scoring, per entry: TF-IDF cosine between the question's terms
and (a) the entry's closest example and (b) the entry's whole vocabulary. The fuzzy
part happens on words (analysis.py): rapidfuzz maps a misspelt word onto the
knowledge's vocabulary. Out-of-scope anchors take part like entries; when one wins,
the question goes to a human. Thresholds and their measurements: docs/matching.md.
"""

from __future__ import annotations

__all__ = ["Match", "Matcher", "Thresholds"]

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Literal

from lingua import Language, LanguageDetectorBuilder
from stop_words import get_stop_words

from .analysis import Analyzer
from .knowledge import LANGS, Entry, Knowledge, load_knowledge

Action = Literal["answer", "flow", "clarify", "handoff"]


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


@dataclass(frozen=True)
class _Example:
    entry: int
    lang: str
    terms: frozenset[str]
    norm: float


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
        idf = self._idf = {t: math.log(1 + count / n) for t, n in df.items()}
        for term in self._stop_terms(key_words):
            if term in idf:
                idf[term] *= self.thresholds.stopword_weight
        self._unknown_idf = math.log(1 + count / 0.5)
        self._examples = [
            _Example(entry, lang, terms, math.sqrt(sum(idf[t] ** 2 for t in terms)))
            for entry, lang, terms in examples
        ]
        # The same, as plain lists: _score reads them for thousands of examples per question.
        self._example_entries = [ex.entry for ex in self._examples]
        self._example_norms = [ex.norm for ex in self._examples]
        self._postings: dict[str, list[int]] = defaultdict(list)
        for number, ex in enumerate(self._examples):
            for term in ex.terms:
                self._postings[term].append(number)
        # Entry vectors: how typical a term is of the entry (share of its phrasings using it).
        self._entry_weights: dict[str, list[tuple[int, float]]] = defaultdict(list)
        norms = []
        for index, counts in enumerate(entry_terms):
            total = max(counts.values(), default=1)
            squared = 0.0
            for term, n in counts.items():
                weight = math.sqrt(n / total) * idf[term]
                self._entry_weights[term].append((index, weight))
                squared += weight * weight
            norms.append(math.sqrt(squared) or 1.0)
        self._entry_norms = norms

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
        terms = list(dict.fromkeys(self.analyzer.terms(text)))
        scores, best_example = self._score(terms)
        if len(text.split()) > self.thresholds.small_talk_max_words:
            for index in self._small_talk:
                scores.pop(index, None)
        top = max(scores, key=scores.__getitem__) if scores else None
        closest = best_example.get(top) if top is not None else None
        detected, sure = self._language(text, None if closest is None else self._examples[closest])
        if lang in LANGS:
            detected, sure = lang, True
        return self._decide(text, scores, detected, sure)

    def _score(self, terms: Sequence[str]) -> tuple[dict[int, float], dict[int, int]]:
        """Score per entry index, and per entry the number of its closest example."""
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        query_norm = math.sqrt(sum(w * w for w in weights.values()))
        if not terms or query_norm == 0.0:
            return {}, {}
        # The loops below run over thousands of postings per question on a large knowledge
        # base: names are bound locally and nothing is looked up twice (benchmarks/match_kb.py).
        dots: dict[int, float] = defaultdict(float)
        for term in terms:
            idf = self._idf.get(term)
            if idf is None:
                continue
            square = idf * idf
            for number in self._postings.get(term, ()):
                dots[number] += square
        example_best: dict[int, float] = {}
        best_example: dict[int, int] = {}
        best_so_far = example_best.get
        entries, norms = self._example_entries, self._example_norms
        for number, dot in dots.items():
            entry = entries[number]
            cosine = dot / (query_norm * norms[number])
            if cosine > best_so_far(entry, 0.0):
                example_best[entry] = cosine
                best_example[entry] = number
        entry_dots: dict[int, float] = defaultdict(float)
        for term in terms:
            weight_of_term = weights[term]
            for index, weight in self._entry_weights.get(term, ()):
                entry_dots[index] += weight_of_term * weight
        share = self.thresholds.example_weight
        entry_norms = self._entry_norms
        scores = {
            index: share * best_so_far(index, 0.0)
            + (1 - share) * (dot / (query_norm * entry_norms[index]))
            for index, dot in entry_dots.items()
        }
        return scores, best_example

    def _language(self, text: str, closest: _Example | None) -> tuple[str, bool]:
        # The detector takes UTF-8 only: a lone surrogate (from JSON's "\ud800") would raise.
        sendable = text.encode("utf-8", "replace").decode("utf-8")
        values = self._detector.compute_language_confidence_values(sendable)
        top = values[0] if values else None
        guess = "en" if top is not None and top.language == Language.ENGLISH else "nl"
        confidence = top.value if top is not None else 0.0
        if confidence >= 0.9 and len(text.split()) >= 3:
            return guess, True
        if closest is not None:
            # Short messages ("hoi", "thanks") fool the detector; the phrasing they match does not.
            return closest.lang, confidence >= 0.9 or len(text.split()) >= 3
        return guess, False

    def _decide(self, text: str, scores: dict[int, float], lang: str, sure: bool) -> Match:
        t = self.thresholds
        # The top five only (the same as sorting all: nlargest keeps ties in order), in O(n).
        ranked = heapq.nlargest(max(5, t.max_alternatives), scores.items(), key=itemgetter(1))
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
