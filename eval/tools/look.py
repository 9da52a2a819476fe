"""The one look at a fresh held-out set: aggregates only (top1, safe, wrong, out-of-scope
handled; by the matcher alone and through the dialogue's reading), and kinds of miss per
register as counts. It never prints a question.

    .venv/bin/python eval/tools/look.py SET.jsonl [SET.registers.tsv]

ROOT=<checkout> scores another checkout's code and knowledge (the session's starting commit).
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path

root = Path(os.environ.get("ROOT", Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(root))

from loketbot.understanding.matcher import Match, Matcher  # noqa: E402
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


matcher = Matcher.from_knowledge(root / "knowledge")
lines = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
rows = [json.loads(line) for line in lines if line.strip()]
registers: dict[int, str] = {}
if len(sys.argv) > 2:
    for line in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines():
        number, register = line.split("\t")
        registers[int(number)] = register.strip()
for mode in ("matcher", "dialogue"):
    n_in = n_out = top1 = safe = wrong = handled = 0
    kinds: Counter[str] = Counter()
    per: Counter[tuple[str, str]] = Counter()
    for number, row in enumerate(rows, 1):
        text, expect = row["text"], row["expect"]
        match = read(matcher, text).match if mode == "dialogue" else matcher.match(text)
        confident = match.action in ("answer", "flow")
        register = registers.get(number, "-")
        if expect == "handoff":
            n_out += 1
            ok = match.action in ("handoff", "redirect")
            handled += ok
            wrong += confident
            if not ok:
                kinds["oos " + ("answered" if confident else "asked back")] += 1
                per[(register, "oos")] += 1
            continue
        n_in += 1
        hit = match.intent == expect and match.action in ("answer", "flow", "clarify")
        is_safe = hit or (match.action == "clarify" and expect in match.alternatives)
        top1 += hit
        safe += is_safe
        wrong += (confident and match.intent != expect) or match.action == "redirect"
        if not is_safe:
            kinds["in " + kind_of_miss(match)] += 1
            per[(register, "in")] += 1
    out_rate = handled / n_out if n_out else 0.0
    print(
        f"{mode}: n={n_in}+{n_out} top1 {top1 / n_in:.3f} safe {safe / n_in:.3f} "
        f"wrong {wrong / (n_in + n_out):.3f} oos {out_rate:.3f}"
    )
    if mode == "dialogue":
        print("  kinds:", dict(kinds))
        for register in sorted({key[0] for key in per}):
            print(
                f"  {register}: in-scope not safe {per[(register, 'in')]}"
                f" / oos missed {per[(register, 'oos')]}"
            )
