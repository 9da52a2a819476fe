"""Calibrate the matcher's bands by cross-validation over the knowledge's own examples.

Each example is held out once (5 folds: every fifth example of an entry), the matcher is built
on the rest, and the held-out example is matched: it should reach its entry (an out-of-scope
anchor's example should be redirected or handed off). The decision bands are then chosen on
these scores, which they were not fitted on, and checked once on eval/dev.jsonl.

Run: .venv/bin/python benchmarks/calibrate.py [--knowledge DIR] [--grid] [--index-grid]
Prints the chosen thresholds and a table; docs/matching.md keeps the table.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from loketbot.content.knowledge import LANGS, Knowledge, load_knowledge
from loketbot.understanding.evaluation import read_cases
from loketbot.understanding.matcher import Matcher, Ranking, Thresholds

ROOT = Path(__file__).resolve().parent.parent
FOLDS = 5
HANDOFF = "handoff"


@dataclass(frozen=True)
class Scored:
    """One held-out question, ranked by a matcher that did not see it."""

    expect: str
    ranking: Ranking
    text: str = ""  # some bands depend on the question's length


@dataclass(frozen=True)
class Result:
    """The metrics of one set of bands."""

    top1: float
    safe: float
    wrong: float
    out_of_scope: float
    clarify: float

    def row(self) -> str:
        return (
            f"{self.top1:.3f} | {self.safe:.3f} | {self.wrong:.3f} | {self.out_of_scope:.3f} "
            f"| {self.clarify:.3f}"
        )


def folds(knowledge: Knowledge) -> Iterable[tuple[Knowledge, list[tuple[str, str]]]]:
    """(knowledge without the fold's examples, [(held-out text, expected id)]) per fold."""
    for fold in range(FOLDS):
        entries, held = [], []
        for entry in knowledge.entries:
            kept = {}
            for lang in LANGS:
                examples = entry.examples[lang]
                kept[lang] = tuple(t for i, t in enumerate(examples) if i % FOLDS != fold)
                expect = HANDOFF if entry.is_anchor else entry.id
                held += [(t, expect) for i, t in enumerate(examples) if i % FOLDS == fold]
            entries.append(replace(entry, examples=MappingProxyType(kept)))
        yield replace(knowledge, entries=tuple(entries)), held


def score_folds(knowledge: Knowledge, thresholds: Thresholds) -> tuple[list[Scored], Matcher]:
    """Every example held out once and ranked; and the last fold's matcher (for decide)."""
    scored: list[Scored] = []
    matcher = None
    for partial, held in folds(knowledge):
        matcher = Matcher(partial, thresholds)
        for text, expect in held:
            scored.append(Scored(expect, matcher.rank(text), text))
    assert matcher is not None
    return scored, matcher


def measure(matcher: Matcher, scored: Sequence[Scored], bands: Thresholds) -> Result:
    """top1, safe, wrong, out-of-scope handled, and the share of in-scope asked to clarify."""
    ins = outs = top1 = safe = wrong = handled = clarify = 0
    for case in scored:
        match = matcher.decide(case.text, case.ranking, bands)
        confident = match.action in ("answer", "flow", "redirect")
        if case.expect == HANDOFF:
            outs += 1
            handled += match.action in ("handoff", "redirect")
            wrong += match.action in ("answer", "flow")
        else:
            ins += 1
            hit = match.intent == case.expect and match.action in ("answer", "flow")
            top1 += hit
            safe += hit or (match.action == "clarify" and case.expect in match.alternatives)
            wrong += confident and not hit
            clarify += match.action == "clarify"
    total = ins + outs
    return Result(top1 / ins, safe / ins, wrong / total, handled / max(outs, 1), clarify / ins)


ANCHOR_SHARES = (1.0, 0.9, 0.8, 0.7, 0.6)


def grid() -> Iterable[Thresholds]:
    for answer, margin, clarify, share, anchor in itertools.product(
        (0.19, 0.22, 0.25, 0.28, 0.31, 0.34),
        (0.0, 0.03, 0.06, 0.09, 0.12),
        (0.09, 0.12, 0.15, 0.17, 0.18, 0.21),
        (0.5, 0.7),
        ANCHOR_SHARES,
    ):
        if clarify <= answer:
            yield Thresholds(
                answer_above=answer,
                answer_margin=margin,
                clarify_above=clarify,
                offer_share=share,
                anchor_share=anchor,
            )


# What an outcome costs a person, relative to not being helped (handed to a person when the
# answer was there): a wrong confident answer can cost a permit or a subsidy; a question
# back costs one tap.
COST_WRONG = 5.0
COST_UNSAFE = 1.0
COST_CLARIFY = 0.25
COST_OUT_OF_SCOPE_MISSED = 1.0


def cost(result: Result) -> float:
    """The expected cost per question of a set of bands (lower is better)."""
    return (
        COST_WRONG * result.wrong
        + COST_UNSAFE * (1 - result.safe)
        + COST_CLARIFY * result.clarify
        + COST_OUT_OF_SCOPE_MISSED * (1 - result.out_of_scope)
    )


# Held-out examples are harder than real questions; past this share of questions asked back,
# the bot stops being a desk and becomes a quiz (the grid's cheapest corner asks back 45%).
MAX_CLARIFY = 0.33


def best(matcher: Matcher, scored: Sequence[Scored]) -> tuple[Thresholds, Result]:
    """The bands of the grid with the lowest cost on `scored`, asking back at most MAX_CLARIFY."""
    results = [(bands, measure(matcher, scored, bands)) for bands in grid()]
    allowed = [br for br in results if br[1].clarify <= MAX_CLARIFY] or results
    return min(allowed, key=lambda br: cost(br[1]))


def score_dev(matcher: Matcher, path: Path) -> list[Scored]:
    """The dev set's questions ranked by the matcher built on all the knowledge."""
    return [Scored(c.expect, matcher.rank(c.text), c.text) for c in read_cases(path)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--dev", type=Path, default=ROOT / "eval" / "dev.jsonl")
    parser.add_argument("--index-grid", action="store_true", help="also vary index weights")
    parser.add_argument(
        "--anchor-only",
        action="store_true",
        help="keep the shipped bands and show what each anchor share does to them",
    )
    args = parser.parse_args()
    knowledge = load_knowledge(args.knowledge)
    base = Thresholds()
    indexes = [base]
    if args.index_grid:
        indexes = [
            replace(base, unknown_weight=u, example_weight=e, stopword_weight=w)
            for u, e, w in itertools.product((0.5, 1.0), (0.3,), (0.25,))
        ]
    print(
        "unknown | example | stopword | answer | margin | clarify | share "
        "| anchor || top1 | safe | wrong | oos | clarify"
    )
    if args.anchor_only:
        scored, matcher = score_folds(knowledge, base)
        dev = score_dev(Matcher(knowledge, base), args.dev)
        for anchor in ANCHOR_SHARES:
            bands = replace(base, anchor_share=anchor)
            result = measure(matcher, scored, bands)
            print(
                f"anchor share {anchor} || CV {result.row()} | cost {cost(result):.3f} "
                f"|| dev {measure(matcher, dev, bands).row()}"
            )
        return 0
    chosen: tuple[Thresholds, Result] | None = None
    for index in indexes:
        scored, matcher = score_folds(knowledge, index)
        bands, result = best(matcher, scored)
        bands = replace(
            bands,
            unknown_weight=index.unknown_weight,
            example_weight=index.example_weight,
            stopword_weight=index.stopword_weight,
        )
        print(
            f"{bands.unknown_weight} | {bands.example_weight} | {bands.stopword_weight} | "
            f"{bands.answer_above} | {bands.answer_margin} | {bands.clarify_above} | "
            f"{bands.offer_share} | {bands.anchor_share} || {result.row()} "
            f"| cost {cost(result):.3f}",
            flush=True,
        )
        if chosen is None or cost(result) < cost(chosen[1]):
            chosen = (bands, result)
    assert chosen is not None
    bands = chosen[0]
    print(f"\nchosen by cross-validation: {bands}")
    matcher = Matcher(knowledge, bands)
    dev = score_dev(matcher, args.dev)
    print(
        f"dev set, checked once: top1 | safe | wrong | oos | clarify = "
        f"{measure(matcher, dev, bands).row()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
