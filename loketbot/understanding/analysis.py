"""Turn text into comparable terms: normalise, split compounds, fix typos, apply synonyms, stem."""

from __future__ import annotations

__all__ = ["Analyzer", "normalise", "tokens"]

import re
import unicodedata
from collections.abc import Iterable, Mapping
from itertools import islice

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel
from wordfreq import zipf_frequency

_WORD = re.compile(r"[a-z0-9]+")
_LETTER_RUN = re.compile(r"(?<![a-z0-9])[a-z](?: [a-z])+(?![a-z0-9])")
# Dutch spellings people use interchangeably; mapped before anything else looks at the words.
_SPELLING = (
    (re.compile(r"\bco[\s-]?op(eratie|eratieve|eraties)\b"), r"coop\1"),
    (re.compile(r"\bwijkco[\s-]?op\b"), "wijkcooperatie"),
    (re.compile(r"\bkv\s?k\b"), "kvk"),
    (re.compile(r"\bco op\b"), "coop"),
)
_CACHE_LIMIT = 50_000
# A correction that changes the first letter needs this fuzz.ratio (docs/matching.md).
_FIRST_LETTER_CUTOFF = 90.0
# A word that occurs at least once in a million words of Dutch or English text (wordfreq's
# small lists hold exactly those) is a real word the knowledge lacks, not a typo of one it
# has: "betekenen" (to mean) is no "berekenen" (to calculate), "studeren" no "sturen".
_COMMON_ZIPF = 3.0
# Verb prefixes that are also words ("ver", far): "vertrouwen" is no "ver" + "trouwen".
_PREFIXES = frozenset({"ver", "ont", "her"})
# A Dutch main clause puts a separable verb's particle last ("hoe vraag ik subsidie aan",
# "hoe schrijf ik een vereniging in"); the verb itself stands in the first few words.
_PARTICLES = frozenset(
    {"op", "aan", "in", "af", "uit", "mee", "terug", "toe", "weg", "bij", "na", "los", "samen"}
)
_VERB_POSITIONS = 4
_CLAUSE_END = re.compile(r"[,;:!?\n]+|\.(?=\s|$)")
# Two words are read as one compound only when it is this long: short joins ("dag" + "je")
# are more often two words.
_MIN_JOINED = 8
# Invisible characters that copied text carries inside words (soft hyphen, zero-width space
# and joiners, direction marks, BOM): without them "stich\u00adting" is "stichting".
_INVISIBLE = re.compile(
    r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    if text.isascii():
        # Nothing to strip or decompose: the common case, and the one a large knowledge base
        # spends its load time on.
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", _INVISIBLE.sub("", text).casefold())
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = " ".join(_WORD.findall(folded))
    # "u.a.", "k.v.k." and "b.v." arrive as runs of single letters: join them into one word.
    folded = _LETTER_RUN.sub(lambda m: m.group(0).replace(" ", ""), folded)
    if "co" in folded or "kv" in folded:  # every _SPELLING pattern has one of the two
        for pattern, replacement in _SPELLING:
            folded = pattern.sub(replacement, folded)
    return folded


# Bounds that keep the work per message small whatever arrives: splitting compounds and
# correcting typos cost more than linear time in a word's length (one 200,000-character
# "word" took 35 s), and no question needs more words than this to be understood. The longest
# Dutch words people type are around 40 letters.
MAX_WORD = 48
MAX_TOKENS = 400


def tokens(text: str) -> list[str]:
    """Normalised words of `text`: at most MAX_TOKENS, each cut at MAX_WORD characters."""
    return [word[:MAX_WORD] for word in normalise(text).split()[:MAX_TOKENS]]


# Snowball's Dutch stemmer drops "ge" as in a past participle ("gemaakt" -> "maak"), also
# where it is no participle: "gebied" (area) became the stem of "bieden" (offer), "gedicht"
# (poem) that of "dicht" (closed), "gezin" (family) that of "zin", "begeleiding" (support) that
# of "beleid" (policy). These keep it (the older Porter stemmer's stem).
_NOT_PARTICIPLES = ("gebied", "gedicht", "gezin", "begeleid")

STOPWORD_MARK = "_"  # no stem starts with it: tokens are letters and digits


class Analyzer:
    """Maps text to stemmed terms against a known vocabulary (built from the knowledge)."""

    def __init__(
        self,
        texts: Mapping[str, Iterable[str]],
        synonyms: Mapping[str, tuple[str, ...]],
        stopwords: Iterable[str] = (),
    ) -> None:
        """`texts`: phrasings per language code; `synonyms`: canonical word -> variants;
        `stopwords`: function words, kept apart from content words with the same stem."""
        # "men" (one, people) must not become the stem of "mens" (a person), nor "ben" (am)
        # that of "bende": a function word is its own term, marked so no stem can equal it.
        self._stopwords = frozenset(w for word in stopwords for w in tokens(word))
        self._stemmers = {
            "nl": snowballstemmer.stemmer("dutch"),
            "en": snowballstemmer.stemmer("english"),
        }
        self._keeps_ge = snowballstemmer.stemmer("dutch_porter")
        self._stem_cache: dict[str, str] = {}
        self._split_cache: dict[str, list[str] | None] = {}
        self._repair_cache: dict[str, tuple[str, ...]] = {}
        self._synonyms = self._synonym_table(synonyms)
        self._longest_variant = max((len(k) for k in self._synonyms), default=1)
        self._variant_starts = frozenset(k[0] for k in self._synonyms)
        vocab: dict[str, set[str]] = {}
        # The knowledge's own phrases are indexed right after: tokenised once, here.
        self._phrase_tokens: dict[str, list[str]] = {}
        for lang, phrases in texts.items():
            for phrase in phrases:
                words = self._phrase_tokens.setdefault(phrase, tokens(phrase))
                for word in words:
                    vocab.setdefault(word, set()).add(lang)
        for canonical, variants in synonyms.items():
            for phrase in (canonical, *variants):
                for word in phrase.split():
                    vocab.setdefault(word, set()).add("nl")
        self._english_only = frozenset(w for w, langs in vocab.items() if langs == {"en"})
        # The words of each language's phrases (not the synonyms): what language.py reads.
        self.words_by_lang: dict[str, set[str]] = {lang: set() for lang in texts}
        for lang, phrases in texts.items():
            for phrase in phrases:
                self.words_by_lang[lang].update(self._phrase_tokens[phrase])
        self._vocab = frozenset(vocab)
        dutch = self._stemmers["nl"]
        self._known_stems = frozenset(dutch.stemWord(w) for w in vocab)
        # An unknown word with a known stem is an inflection ("opgericht", "overleggen"), not a
        # typo to correct into another word ("opgelicht": defrauded; "overleden": deceased).
        self._vocab_stems = frozenset(self._stem(w) for w in vocab)
        # Long words only: short ones are too easily "corrected" into a different word.
        self._typo_choices = sorted(w for w in vocab if len(w) >= 4)

    @staticmethod
    def _synonym_table(
        synonyms: Mapping[str, tuple[str, ...]],
    ) -> dict[tuple[str, ...], tuple[str, ...]]:
        table: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in synonyms.items():
            target = tuple(canonical.split())
            for variant in variants:
                key = tuple(variant.split())
                if key and key != target:
                    table[key] = target
        return table

    def terms(self, text: str, *, correct: bool = True, parts: bool = True) -> list[str]:
        """Stemmed terms of `text`; with `correct`, unknown words are split or corrected first;
        with `parts`, a known compound's parts follow it."""
        words = self._phrase_tokens.get(text) or tokens(text)
        if _PARTICLES.intersection(words):
            words = self._separable_joined(text) or words
        if correct:
            words = self._repair(words)
        words, added = self._with_parts(words) if parts else (words, frozenset[int]())
        words = self._apply_synonyms(words, added)
        return [self._stem(w) for w in words if len(w) > 1 or w.isdigit()]

    def _separable_joined(self, text: str) -> list[str] | None:
        """Words with a separable verb joined again ("hoe hef ik mijn stichting op" ->
        "opheffen", to dissolve, not "heffen", to levy), where the knowledge knows the joined
        verb; None when nothing was joined."""
        joined_any = False
        words: list[str] = []
        for clause in _CLAUSE_END.split(text):
            clause_words = tokens(clause)
            if len(clause_words) >= 3 and clause_words[-1] in _PARTICLES:
                particle = clause_words[-1]
                for i, word in enumerate(clause_words[:_VERB_POSITIONS]):
                    if word in self._stopwords or word in _PARTICLES:
                        continue
                    verb = particle + word
                    if verb in self._vocab or self._stem(verb) in self._vocab_stems:
                        clause_words = [*clause_words[:i], verb, *clause_words[i + 1 : -1]]
                        joined_any = True
                        break
            words.extend(clause_words)
        return words[:MAX_TOKENS] if joined_any else None

    def knows(self, word: str) -> bool:
        """Whether a normalised word occurs in the knowledge's phrasings or synonyms."""
        return word in self._vocab

    def is_function_word(self, word: str) -> bool:
        """Whether a normalised word is one of the stopword lists' function words."""
        return word in self._stopwords

    def indexed(self) -> None:
        """The knowledge's phrases are indexed: drop their tokens, kept only for that."""
        self._phrase_tokens = {}

    def clear_caches(self) -> None:
        """Forget cached stems, splits and corrections (for benchmarks of cold questions)."""
        self._stem_cache.clear()
        self._split_cache.clear()
        self._repair_cache.clear()

    def _joined_compounds(self, words: list[str]) -> list[str]:
        """A compound written as two words ("zon panelen", "buurt huisje") joined again, with
        Dutch linking letters ("zonnepanelen"), where the knowledge knows the compound."""
        result: list[str] = []
        i = 0
        while i < len(words):
            joined = self._compound_of(words[i], words[i + 1]) if i + 1 < len(words) else None
            result.append(joined or words[i])
            i += 2 if joined else 1
        return result

    def _compound_of(self, left: str, right: str) -> str | None:
        # Two words the knowledge knows each are read as two: "de gemeente grond verkopen"
        # is no "gemeentegrond"; a known compound's parts match as its parts anyway.
        both_known = left in self._vocab and right in self._vocab
        if both_known or any(len(w) < 3 or self.is_function_word(w) for w in (left, right)):
            return None
        for link in ("", "s", "e", "en", left[-1] + "e"):
            whole = left + link + right
            if len(whole) >= _MIN_JOINED and whole in self._vocab:
                return whole
        return None

    def _repair(self, words: list[str]) -> list[str]:
        repaired: list[str] = []
        for word in self._joined_compounds(words):
            repaired.extend(self._repaired(word))
        return repaired

    def _repaired(self, word: str) -> tuple[str, ...]:
        """`word` as the knowledge writes it: itself when known or short, else the first
        repair that applies (a repeated unknown word pays for the search once)."""
        if word in self._vocab or len(word) < 5 or word.isdigit():
            return (word,)
        cached = self._repair_cache.get(word)
        if cached is None:
            cached = self._first_repair(word)
            if len(self._repair_cache) >= _CACHE_LIMIT:
                self._repair_cache.clear()
            self._repair_cache[word] = cached
        return cached

    def _first_repair(self, word: str) -> tuple[str, ...]:
        """The repairs in order of how sure each is: a compound of known words, a known stem,
        a d/t swap, then the typo corrector."""
        parts = self._split_compound(word)
        if parts:
            # A verb prefix before a known word is a real word the knowledge lacks
            # ("vertrouwen"), not a typo of one it has ("verbouwen"): left as it is.
            return (word,) if parts[0] in _PREFIXES else tuple(parts)
        stem = self._stem(word)
        if stem in self._vocab_stems:
            # A stem known only once Snowball strips "ge" from an uncommon word is more often
            # a letter missing ("gemente") than a participle of a known word.
            stripped_ge = word.startswith("ge") and not stem.startswith("ge")
            typo = stripped_ge and not _is_common_word(word)
            return ((self._letter_dropped(word) if typo else None) or word,)
        return (self._dt_swapped(word) or self._correct(word) or word,)

    def _dt_swapped(self, word: str) -> str | None:
        """A word ending in d or t that the knowledge has with the other letter: the
        commonest Dutch misspelling ("is hij verzekert" for "verzekerd")."""
        if len(word) < 5 or word[-1] not in "dt":
            return None
        other = word[:-1] + ("t" if word[-1] == "d" else "d")
        return other if other in self._vocab else None

    def _with_parts(self, words: list[str]) -> tuple[list[str], frozenset[int]]:
        """Known compounds keep their own term and add their parts: "opzoomerstraat" also
        matches "opzoomer" and "straat", in questions and examples alike. Also returns the
        positions of the added parts, which a synonym phrase reads past."""
        result: list[str] = []
        parts: set[int] = set()
        for word in words:
            result.append(word)
            if len(word) >= 8 and word in self._vocab:
                split = self._split_compound(word) or ()
                parts.update(range(len(result), len(result) + len(split)))
                result.extend(split)
        return result, frozenset(parts)

    def _split_compound(self, word: str) -> list[str] | None:
        """Split a Dutch compound into two known words ("buurtfeestvergunning"), if possible."""
        if word in self._split_cache:
            return self._split_cache[word]
        parts = self._best_split(word)
        if len(self._split_cache) >= _CACHE_LIMIT:
            self._split_cache.clear()
        self._split_cache[word] = parts
        return parts

    def _best_split(self, word: str) -> list[str] | None:
        best: tuple[int, list[str]] | None = None
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            if left not in self._vocab:
                continue
            for linked in (
                right,
                right[1:] if right[:1] == "s" else "",
                right[1:] if right[:1] == "e" else "",
            ):
                if len(linked) >= 3 and linked in self._vocab:
                    balance = min(len(left), len(linked))
                    if best is None or balance > best[0]:
                        best = (balance, [left, linked])
        return best[1] if best else None

    def _letter_dropped(self, word: str) -> str | None:
        """A known word this one lacks a letter of, or has one too many: its stem may be
        known by accident once "ge" is stripped ("gemente" stems to "men", as "mens" does)."""
        found = process.extractOne(word, self._typo_choices, scorer=Indel.distance, score_cutoff=1)
        return found[0] if found is not None else None

    def _correct(self, word: str) -> str | None:
        found = None
        if not _is_common_word(word):
            cutoff = 88.0 if len(word) < 7 else 84.0
            found = process.extractOne(
                word, self._typo_choices, scorer=fuzz.ratio, score_cutoff=cutoff
            )
        # A typo seldom changes the first letter; a real word the knowledge lacks often
        # differs from a known one there: "toelichting" is not "oplichting" (fraud).
        keeps_first = found is not None and found[0][0] == word[0]
        return found[0] if found and (keeps_first or found[1] >= _FIRST_LETTER_CUTOFF) else None

    def _apply_synonyms(self, words: list[str], added: frozenset[int]) -> list[str]:
        """`words` with every synonym variant replaced by its canonical form; `added`: the
        positions of compound parts _with_parts inserted."""
        if not self._synonyms:
            return words
        result: list[str] = []
        i = 0
        while i < len(words):
            if words[i] not in self._variant_starts:
                result.append(words[i])
                i += 1
                continue
            found = self._phrase_over_parts(words, added, i) if added and i not in added else None
            if found is None:
                found = self._phrase_at(words, i)
            if found is None:
                result.append(words[i])
                i += 1
            else:
                target, i = found
                result.extend(target)
        return result

    def _phrase_at(self, words: list[str], i: int) -> tuple[tuple[str, ...], int] | None:
        """The longest variant written by the words from `i` on: its canonical form and the
        position after it."""
        for size in range(min(self._longest_variant, len(words) - i), 0, -1):
            target = self._synonyms.get(tuple(words[i : i + size]))
            if target is not None:
                return target, i + size
        return None

    def _phrase_over_parts(
        self, words: list[str], added: frozenset[int], i: int
    ) -> tuple[tuple[str, ...], int] | None:
        """The longest variant written by the question's own words from `i` on, reading past
        the parts added after a compound inside it: "vrijwilligerswerk zoeken" matches
        although "vrijwilligers" and "werk" follow the compound. Only spans with such parts
        are tried; the others are _phrase_at's."""
        own_words = (j for j in range(i, len(words)) if j not in added)
        own = list(islice(own_words, self._longest_variant))
        for size in range(len(own), 1, -1):
            last = own[size - 1]
            if last - i + 1 == size:  # no added parts inside: _phrase_at reads it as it is
                continue
            target = self._synonyms.get(tuple(words[j] for j in own[:size]))
            if target is not None:
                # The last word's own parts stay, as after any variant that ends in a compound.
                return target, last + 1
        return None

    def _diminutive(self, word: str, stem: str) -> str:
        """Snowball cuts a stem's last 't' with the diminutive ("feestje" -> "fees", "plantjes"
        -> "plan"): keep the 't' when the knowledge knows that stem."""
        for suffix in ("tjes", "tje"):
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                whole = self._stemmers["nl"].stemWord(word[: 1 - len(suffix)])
                return whole if whole in self._known_stems else stem
        return stem

    def _stem(self, word: str) -> str:
        stem = self._stem_cache.get(word)
        if stem is None:
            lang = "en" if word in self._english_only else "nl"
            if word in self._stopwords:
                stem = STOPWORD_MARK + word
            elif lang == "nl":
                keeps_ge = word.startswith(_NOT_PARTICIPLES)
                stemmer = self._keeps_ge if keeps_ge else self._stemmers["nl"]
                stem = self._diminutive(word, stemmer.stemWord(word))
            else:
                stem = self._stemmers[lang].stemWord(word)
            if len(self._stem_cache) >= _CACHE_LIMIT:
                self._stem_cache.clear()
            self._stem_cache[word] = stem
        return stem


def _is_common_word(word: str) -> bool:
    """Whether `word` is an everyday Dutch or English word (wordfreq's small lists)."""
    return any(
        zipf_frequency(word, lang, wordlist="small") >= _COMMON_ZIPF for lang in ("nl", "en")
    )
