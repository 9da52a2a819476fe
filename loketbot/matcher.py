"""Route a free-text question to a knowledge entry: answer, flow, clarify or handoff.

Pure and synchronous. Scoring, per entry: TF-IDF cosine between the question's terms
and (a) the entry's closest example and (b) the entry's whole vocabulary. The fuzzy
part happens on words (analysis.py): rapidfuzz maps a misspelt word onto the
knowledge's vocabulary. Out-of-scope anchors take part like entries; when one wins,
the question goes to a human. Thresholds and their measurements: docs/matching.md.
"""

from __future__ import annotations

__all__ = ["Match", "Matcher", "Thresholds"]

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lingua import Language, LanguageDetectorBuilder
from stop_words import get_stop_words

from .analysis import Analyzer, normalise
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
    text: str


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
        examples: list[_Example] = []
        entry_terms: list[dict[str, int]] = [defaultdict(int) for _ in self._entries]
        for index, entry in enumerate(self._entries):
            phrases = [(lang, text, True) for lang in LANGS for text in entry.examples[lang]] + [
                (lang, text, False) for lang in LANGS for text in entry.keywords[lang]
            ]
            phrases += [(lang, entry.title[lang], False) for lang in entry.title]
            for lang, text, is_example in phrases:
                phrase_terms = frozenset(self.analyzer.terms(text, correct=False))
                for term in phrase_terms:
                    entry_terms[index][term] += 1
                if is_example and phrase_terms:
                    examples.append(_Example(index, lang, phrase_terms, 0.0, normalise(text)))
        count = len(self._entries)
        df: dict[str, int] = defaultdict(int)
        for counts in entry_terms:
            for term in counts:
                df[term] += 1
        self._idf = {t: math.log(1 + count / n) for t, n in df.items()}
        for term in self._stop_terms():
            if term in self._idf:
                self._idf[term] *= self.thresholds.stopword_weight
        self._unknown_idf = math.log(1 + count / 0.5)
        self._examples = [
            _Example(
                ex.entry,
                ex.lang,
                ex.terms,
                math.sqrt(sum(self._idf[t] ** 2 for t in ex.terms)),
                ex.text,
            )
            for ex in examples
        ]
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
                weight = math.sqrt(n / total) * self._idf[term]
                self._entry_weights[term].append((index, weight))
                squared += weight * weight
            norms.append(math.sqrt(squared) or 1.0)
        self._entry_norms = norms

    def _stop_terms(self) -> set[str]:
        """Stemmed stopwords, minus every word an editor put in a title or keywords."""
        key_words = {
            word
            for entry in self._entries
            for lang in LANGS
            for phrase in (*entry.keywords[lang], entry.title.get(lang, ""))
            for word in self.analyzer.terms(phrase, correct=False)
        }
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
        detected, sure = self._language(text, best_example.get(top) if top is not None else None)
        if lang in LANGS:
            detected, sure = lang, True
        return self._decide(text, scores, detected, sure)

    def _score(self, terms: Sequence[str]) -> tuple[dict[int, float], dict[int, _Example]]:
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        query_norm = math.sqrt(sum(w * w for w in weights.values()))
        if not terms or query_norm == 0.0:
            return {}, {}
        dots: dict[int, float] = defaultdict(float)
        for term in terms:
            idf = self._idf.get(term)
            if idf is None:
                continue
            for number in self._postings.get(term, ()):
                dots[number] += idf * idf
        example_best: dict[int, float] = {}
        best_example: dict[int, _Example] = {}
        for number, dot in dots.items():
            ex = self._examples[number]
            cosine = dot / (query_norm * ex.norm)
            if cosine > example_best.get(ex.entry, 0.0):
                example_best[ex.entry] = cosine
                best_example[ex.entry] = ex
        entry_dots: dict[int, float] = defaultdict(float)
        for term in terms:
            for index, weight in self._entry_weights.get(term, ()):
                entry_dots[index] += weights[term] * weight
        t = self.thresholds
        scores: dict[int, float] = {}
        for index, dot in entry_dots.items():
            entry_cos = dot / (query_norm * self._entry_norms[index])
            example_cos = example_best.get(index, 0.0)
            scores[index] = t.example_weight * example_cos + (1 - t.example_weight) * entry_cos
        return scores, best_example

    def _language(self, text: str, closest: _Example | None) -> tuple[str, bool]:
        values = self._detector.compute_language_confidence_values(text)
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
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
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
