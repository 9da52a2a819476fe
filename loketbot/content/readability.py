"""Readability of Dutch answer texts: the Flesch-Douma reading ease, with a Dutch syllable count.

Flesch-Douma (W.H. Douma, 1960) is Flesch's reading ease refitted for Dutch:

    score = 206.84 - 0.77 * syllables per 100 words - 0.93 * words per sentence

Higher is easier. Douma's table: 60-70 "normaal", the level of lower secondary education, which
is where B1 sits; 45-60 "tamelijk moeilijk"; below 45 "moeilijk". `kb check` warns below
B1_MIN_SCORE (see the README's editor guide for why 60). textstat implements the same formula
(`set_lang("nl")`) but pulls in nltk and pyphen for it; the formula and a vowel-group syllable
count are a few lines, so they live here.
"""

from __future__ import annotations

__all__ = ["B1_MIN_SCORE", "Readability", "flesch_douma", "measure", "syllables"]

import re
import unicodedata
from dataclasses import dataclass

# Douma's "normaal" band (60-70) starts here; below it a text is "tamelijk moeilijk".
B1_MIN_SCORE = 60.0

_VOWELS = frozenset("aeiouyáéíóúàèìòùâêîôû")
_DIAERESIS = frozenset("äëïöü")  # a diaeresis starts a new syllable: co-ö-pe-ra-tie, re-ë-el
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# A sentence ends at . ! ? or : followed by a space, or at a line break (bullets, paragraphs).
_SENTENCE_END = re.compile(r"[.!?:;]+(?=\s|$)|\n+")
# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = re.compile(
    r"\b(?:bijv|bv|o\.a|d\.w\.z|t/m|art|nr|ca|enz|incl|excl|m\.b\.t)\.", re.IGNORECASE
)


@dataclass(frozen=True)
class Readability:
    """The counts behind a score, so an editor can see what to shorten."""

    words: int
    sentences: int
    syllables: int
    score: float

    @property
    def words_per_sentence(self) -> float:
        """Average sentence length in words."""
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def syllables_per_100_words(self) -> float:
        """Average word length, as syllables per hundred words."""
        return 100 * self.syllables / self.words if self.words else 0.0


def syllables(word: str) -> int:
    """Syllables of a Dutch word, counted as groups of vowels (ij, ie, oe, eeu count once)."""
    count = 0
    previous_vowel = False
    for char in word.lower():
        if char in _DIAERESIS:
            count += 1
            previous_vowel = True
        elif char in _VOWELS:
            if not previous_vowel:
                count += 1
            previous_vowel = True
        else:
            previous_vowel = False
    return max(count, 1)


def measure(text: str) -> Readability:
    """Count words, sentences and syllables of `text` and score it with Flesch-Douma."""
    text = unicodedata.normalize("NFC", _URL.sub(" ", text))
    text = _ABBREVIATIONS.sub(lambda m: m.group(0)[:-1], text)
    sentences = 0
    words = 0
    total = 0
    for piece in _SENTENCE_END.split(text):
        found = _WORD.findall(piece)
        if not found:
            continue
        sentences += 1
        words += len(found)
        total += sum(syllables(w) for w in found)
    if not words:
        return Readability(0, 0, 0, 100.0)
    score = 206.84 - 0.77 * (100 * total / words) - 0.93 * (words / sentences)
    return Readability(words, sentences, total, round(score, 1))


def flesch_douma(text: str) -> float:
    """The Flesch-Douma reading ease of `text` (higher is easier; B1 from about 60)."""
    return measure(text).score
