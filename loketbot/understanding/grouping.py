"""Group similar questions (rapidfuzz): what the bot keeps failing at, biggest group first."""

from __future__ import annotations

__all__ = ["Group", "group_questions"]

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from loketbot.content.knowledge import normalise_example


@dataclass(frozen=True)
class Group:
    """Similar questions: `count` includes repeats; `texts` are distinct, most asked first."""

    texts: tuple[str, ...]
    count: int
    intent: str | None  # the entry the matcher most often guessed, if any


def group_questions(
    questions: Sequence[tuple[str, str | None]], *, threshold: float = 75.0
) -> list[Group]:
    """Greedy clustering of (text, guessed intent) pairs by token-set similarity."""
    counts: Counter[str] = Counter()
    first_text: dict[str, str] = {}
    intents: dict[str, Counter[str]] = {}
    for text, intent in questions:
        key = normalise_example(text)
        if not key:
            continue
        counts[key] += 1
        first_text.setdefault(key, " ".join(text.split()))
        if intent:
            intents.setdefault(key, Counter())[intent] += 1
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    neighbours: dict[str, list[str]] = {}
    for key in keys:
        found = process.extract(
            key, keys, scorer=fuzz.token_set_ratio, score_cutoff=threshold, limit=None
        )
        neighbours[key] = [choice for choice, _score, _index in found]
    # Seeds with the most (weighted) neighbours first: the biggest groups form first.
    seeds = sorted(keys, key=lambda k: (-sum(counts[n] for n in neighbours[k]), k))
    taken: set[str] = set()
    groups: list[Group] = []
    for seed in seeds:
        if seed in taken:
            continue
        members = [n for n in neighbours[seed] if n not in taken]
        taken.update(members)
        members.sort(key=lambda k: (-counts[k], k))
        guessed: Counter[str] = Counter()
        for member in members:
            guessed.update(intents.get(member, Counter()))
        groups.append(
            Group(
                texts=tuple(first_text[m] for m in members),
                count=sum(counts[m] for m in members),
                intent=guessed.most_common(1)[0][0] if guessed else None,
            )
        )
    groups.sort(key=lambda g: (-g.count, g.texts[0]))
    return groups
