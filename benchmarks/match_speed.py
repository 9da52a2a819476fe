"""Cost of Matcher.match per question, as a ratio to bare rapidfuzz extractOne (same examples).

Run: .venv/bin/python benchmarks/match_speed.py [--knowledge DIR] [--questions FILE.jsonl]
Questions default to eval/dev.jsonl; each is matched once per round ; the matcher's
word caches are cleared every round, so each round is as costly as new questions.
Exit code 1 when the ratio is over the target (3x). benchmarks/match_kb.py measures the same
ratio, load time and latency on a generated 2,000-entry knowledge base.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from loketbot.content.knowledge import LANGS
from loketbot.understanding.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev.jsonl")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    matcher = Matcher.from_knowledge(args.knowledge)
    examples = [
        text
        for entry in matcher.knowledge.entries
        for lang in LANGS
        for text in entry.examples[lang]
    ]
    questions = [
        json.loads(line)["text"]
        for line in args.questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]

    def bare() -> None:
        for q in questions:
            process.extractOne(q, examples, scorer=fuzz.WRatio)

    def ours() -> None:
        matcher.analyzer.clear_caches()  # measure cold word lookups, as for new questions
        for q in questions:
            matcher.match(q)

    bare()
    ours()  # warm up both
    bare_times, our_times = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        ours()
        our_times.append(time.perf_counter() - start)
    per_bare = statistics.median(bare_times) / len(questions) * 1e3
    per_ours = statistics.median(our_times) / len(questions) * 1e3
    ratio = per_ours / per_bare
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cpus, {platform.platform()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"examples: {len(examples)}, questions: {len(questions)}, rounds: {args.rounds}")
    print(f"bare extractOne(WRatio): {per_bare:.3f} ms/question")
    print(f"Matcher.match:           {per_ours:.3f} ms/question")
    print(
        f"ratio: {ratio:.2f}x (target <= {RATIO_TARGET:g}x: "
        f"{'ok' if ratio <= RATIO_TARGET else 'MISSED'})"
    )
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
