"""The one look at a fresh held-out set: aggregates only (top1, safe, wrong, out-of-scope
handled; by the matcher alone and through the dialogue's reading), and kinds of miss per
register as counts. It never prints a question.

    .venv/bin/python eval/tools/look.py SET.jsonl [SET.registers.tsv]

ROOT=<checkout> scores another checkout's code and knowledge (the session's starting commit).
TH_<FIELD>=<value> overrides a Thresholds field, as in pool.py (an experiment's setting).
"""

import sys
from collections import Counter
from pathlib import Path

import checkout

from loketbot.understanding.evaluation import evaluate, judge, read_cases
from loketbot.understanding.matcher import Match
from loketbot.understanding.reading import read


def kind_of_miss(match: Match) -> str:
    """What happened to an in-scope question that was not safe."""
    if match.action == "redirect":
        return "redirected"
    if match.action in ("answer", "flow"):
        return "other topic answered"
    if match.action == "handoff":
        return "handed off"
    return "asked back without it"


matcher = checkout.matcher()
cases = read_cases(Path(sys.argv[1]))
registers: list[str] = ["-"] * len(cases)
if len(sys.argv) > 2:
    for line in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines():
        number, register = line.split("\t")
        registers[int(number) - 1] = register.strip()
for mode in ("matcher", "dialogue"):
    report = evaluate(matcher, cases, as_dialogue=mode == "dialogue")
    print(
        f"{mode}: n={report.in_scope}+{report.out_of_scope} top1 {report.top1:.3f} "
        f"safe {report.safe:.3f} wrong {report.wrong:.3f} oos {report.handoff:.3f}"
    )
kinds: Counter[str] = Counter()
per: Counter[tuple[str, str]] = Counter()
for case, register in zip(cases, registers, strict=True):
    match = read(matcher, case.text).match
    verdict = judge(match, case.expect)
    if verdict.in_scope and not verdict.safe:
        kinds["in " + kind_of_miss(match)] += 1
        per[(register, "in")] += 1
    elif not verdict.in_scope and not verdict.handled:
        kinds["oos " + ("answered" if verdict.wrong else "asked back")] += 1
        per[(register, "oos")] += 1
print("  kinds:", dict(kinds))
for register in sorted({key[0] for key in per}):
    print(
        f"  {register}: in-scope not safe {per[(register, 'in')]}"
        f" / oos missed {per[(register, 'oos')]}"
    )
