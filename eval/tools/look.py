"""The one look at a fresh held-out set: aggregates only (top1, safe, wrong, out-of-scope
handled; by the matcher alone and through the dialogue's reading), and kinds of miss per
register as counts. It never prints a question.

    .venv/bin/python eval/tools/look.py SET.jsonl [SET.registers.tsv]

ROOT=<checkout> scores another checkout's code and knowledge (the session's starting commit).
TH_<FIELD>=<value> overrides a Thresholds field, as in pool.py (an experiment's setting).
"""

import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path

root = Path(os.environ.get("ROOT", Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(root))

from loketbot.content.knowledge import load_knowledge  # noqa: E402
from loketbot.understanding.evaluation import evaluate, judge, read_cases  # noqa: E402
from loketbot.understanding.matcher import Match, Matcher, Thresholds  # noqa: E402
from loketbot.understanding.reading import read  # noqa: E402


def kind_of_miss(match: Match) -> str:
    """What happened to an in-scope question that was not safe."""
    if match.action == "redirect":
        return "redirected"
    if match.action in ("answer", "flow"):
        return "other topic answered"
    if match.action == "handoff":
        return "handed off"
    return "asked back without it"


over = {k[3:].lower(): float(v) for k, v in os.environ.items() if k.startswith("TH_")}
matcher = Matcher(load_knowledge(root / "knowledge"), dataclasses.replace(Thresholds(), **over))
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
