"""The matcher's term index as NumPy arrays, and the TF-IDF cosine scores computed from it.

Built once per Matcher (matcher.py). For every term it holds, in CSR layout (one offsets
array per kind, one flat array per field): the examples using the term, and the entries
using it with the term's weight in the entry's vector. Scoring a question gathers the
postings of its terms and adds them up with `np.bincount`; on a 2,000-entry knowledge base
a common word reaches most of the 20,000 examples, which plain Python loops could not do
within the 20 ms a message may take (benchmarks/match_kb.py).

Sums run in the same order as the pure-Python scoring they replace (term by term, postings
in example or entry order), so scores are the same to the last bit and ties rank the same:
entries the question reaches first come first, as in the dict the Python version filled.
"""

from __future__ import annotations

__all__ = ["Scores", "TermIndex"]

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.intp]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Scores:
    """One question's scores against every entry, and which entries it reached first."""

    values: Floats  # per entry; meaningful only where reached
    first: Ints  # per entry: position of the first term reaching it; len(term_ids) if none
    cosine: Floats  # per example: cosine with the question
    term_ids: tuple[int, ...]  # the question's known terms, in question order

    def ranked(self, count: int, *, skip: Collection[int] = ()) -> list[tuple[int, float]]:
        """The `count` best (entry, score), leaving out `skip`; ties in the order reached."""
        reached = self.first < len(self.term_ids)
        if skip:
            reached[list(skip)] = False
        entries = np.flatnonzero(reached)
        values = self.values[entries]
        if 0 < count < entries.size:
            cut = np.partition(values, entries.size - count)[entries.size - count]
            keep = values >= cut  # the best `count`, and whatever ties with the last of them
            entries, values = entries[keep], values[keep]
        order = np.lexsort((entries, self.first[entries], -values))[:count]
        return [(int(e), float(v)) for e, v in zip(entries[order], values[order], strict=True)]


class TermIndex:
    """Postings of every known term; `score` turns a question's terms into Scores."""

    def __init__(
        self,
        idf: Mapping[str, float],
        unknown_idf: float,
        examples: Sequence[tuple[int, frozenset[str]]],
        entry_terms: Sequence[Counter[str]],
        example_weight: float,
        *,
        unknown_weight: float = 1.0,
    ) -> None:
        """`examples`: (entry index, terms), grouped by entry in entry order; `entry_terms`:
        per entry, how many of its phrasings use each term; `idf` covers every term."""
        self._idf = idf
        self._unknown_idf = unknown_idf * unknown_weight
        self._share = example_weight
        self._term_ids = {term: number for number, term in enumerate(idf)}
        term_ids = self._term_ids
        idf_array = self._idf_array = np.fromiter(idf.values(), np.float64, len(idf))
        # Python's `x ** 2`, as the norms were always computed (numpy squares as x * x).
        squares = np.fromiter((w**2 for w in idf.values()), np.float64, len(idf))

        ex_terms = _ints(term_ids[t] for _, terms in examples for t in terms)
        ex_lengths = _ints(len(terms) for _, terms in examples)
        ex_numbers = np.repeat(np.arange(len(examples), dtype=np.intp), ex_lengths)
        self._example_norms = np.sqrt(
            np.bincount(ex_numbers, weights=squares[ex_terms], minlength=len(examples))
        )
        self._example_ptr, order = _by_term(ex_terms, len(idf))
        self._example_postings = ex_numbers[order]
        entry_of_example = _ints(entry for entry, _ in examples)
        per_entry = np.bincount(entry_of_example, minlength=len(entry_terms))
        self._entry_examples = np.concatenate(([0], np.cumsum(per_entry))).astype(np.intp)
        self._has_examples = np.flatnonzero(per_entry)

        # Entry vectors: how typical a term is of the entry (share of its phrasings using it).
        en_terms = _ints(term_ids[t] for counts in entry_terms for t in counts)
        uses = np.fromiter((n for c in entry_terms for n in c.values()), np.float64)
        totals = np.array([max(c.values(), default=1) for c in entry_terms], np.float64)
        en_lengths = _ints(len(counts) for counts in entry_terms)
        en_numbers = np.repeat(np.arange(len(entry_terms), dtype=np.intp), en_lengths)
        weights = np.sqrt(uses / totals[en_numbers]) * idf_array[en_terms]
        squared = np.bincount(en_numbers, weights=weights * weights, minlength=len(entry_terms))
        norms = np.sqrt(squared)
        norms[norms == 0.0] = 1.0
        self._entry_norms = norms
        self._entry_ptr, order = _by_term(en_terms, len(idf))
        self._entry_postings, self._entry_weights = en_numbers[order], weights[order]

    def score(self, terms: Sequence[str]) -> Scores:
        """TF-IDF cosine of `terms` with every entry: `example_weight` x its closest example
        plus the rest x its whole vocabulary."""
        entries = len(self._entry_norms)
        weights = {t: self._idf.get(t, self._unknown_idf) for t in terms}
        query_norm = math.sqrt(sum(w * w for w in weights.values()))
        known = tuple(self._term_ids[t] for t in terms if t in self._term_ids)
        if not known or query_norm == 0.0:
            nothing = np.zeros(entries, np.intp)
            return Scores(np.zeros(entries), nothing, np.zeros(0), ())
        ids = np.array(known, np.intp)
        idf = self._idf_array[ids]

        ex_spans = _spans(self._example_ptr, ids)
        numbers = np.concatenate([self._example_postings[span] for span in ex_spans])
        squares = np.repeat(idf * idf, [span.stop - span.start for span in ex_spans])
        dots = np.bincount(numbers, weights=squares, minlength=len(self._example_norms))
        cosine = dots / (query_norm * self._example_norms)
        best = np.zeros(entries)
        if self._has_examples.size:
            starts_of = self._entry_examples[self._has_examples]
            best[self._has_examples] = np.maximum.reduceat(cosine, starts_of)

        spans = _spans(self._entry_ptr, ids)
        reached = np.concatenate([self._entry_postings[span] for span in spans])
        products = np.concatenate([self._entry_weights[span] for span in spans])
        query_weights = np.repeat(idf, [span.stop - span.start for span in spans])
        entry_dots = np.bincount(reached, weights=query_weights * products, minlength=entries)
        share = self._share
        values = share * best + (1 - share) * (entry_dots / (query_norm * self._entry_norms))
        first = np.full(entries, len(known), np.intp)
        for position in range(len(known) - 1, -1, -1):  # the earliest term writes last
            first[self._entry_postings[spans[position]]] = position
        return Scores(values, first, cosine, known)

    def closest_example(self, scores: Scores, entry: int) -> int | None:
        """The number of `entry`'s example closest to the question (the first reached of
        equals), or None when the question shares no term with any of them."""
        start, end = self._entry_examples[entry], self._entry_examples[entry + 1]
        cosine = scores.cosine[start:end]
        best = cosine.max() if cosine.size else 0.0
        if best <= 0.0:
            return None
        tied = start + np.flatnonzero(cosine == best)
        if tied.size == 1:
            return int(tied[0])
        for term in scores.term_ids:
            postings = self._example_postings[self._example_ptr[term] : self._example_ptr[term + 1]]
            low, high = np.searchsorted(postings, (start, end))  # the entry's, using the term
            hit = np.intersect1d(postings[low:high], tied)
            if hit.size:
                return int(hit[0])
        return int(tied[0])  # not reached: a positive cosine means a shared term


def _ints(values: Iterable[int]) -> Ints:
    return np.fromiter(values, np.intp)


def _spans(ptr: Ints, ids: Ints) -> list[slice]:
    """Where each term's postings are, for CSR offsets `ptr`."""
    starts, ends = ptr[ids].tolist(), ptr[ids + 1].tolist()
    return [slice(s, e) for s, e in zip(starts, ends, strict=True)]


def _by_term(terms: Ints, vocabulary: int) -> tuple[Ints, Ints]:
    """CSR offsets per term, and the order that groups pairs by term while keeping their
    order within a term (a stable sort): postings stay in example or entry order."""
    order = np.argsort(terms, kind="stable").astype(np.intp)
    counts = np.bincount(terms, minlength=vocabulary)
    return np.concatenate(([0], np.cumsum(counts))).astype(np.intp), order
