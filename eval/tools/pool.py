"""Every eval set through the dialogue's reading, as one tuning pool (retired sets only: never
point it at a held-out set). Prints top1 / unsafe / wrong / out-of-scope missed as counts.

    .venv/bin/python eval/tools/pool.py [SET.jsonl ...] [--show FILE]

--show FILE writes one line per question (set:line, expect, action:intent, ok|safe|WRONG|miss,
text) for eval/tools/mdiff.py. ROOT=<checkout> scores another checkout's code and knowledge on
this checkout's sets (a `git worktree` of the starting commit, say). TH_<NAME>=<value>
overrides a Thresholds field (TH_CLARIFY_ABOVE=0.18).
"""

import json
import sys
from pathlib import Path

import checkout

from loketbot.understanding.evaluation import judge
from loketbot.understanding.reading import read

HERE = Path(__file__).resolve().parent.parent  # eval/
matcher = checkout.matcher()
args = sys.argv[1:]
show_path = None
if "--show" in args:
    at = args.index("--show")
    show_path = Path(args[at + 1])
    del args[at : at + 2]
files = [Path(a) for a in args] or sorted(HERE.glob("*.jsonl"))
n_in = n_out = top1 = unsafe = wrong = missed = 0
shown: list[str] = []
for path in files:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        match = read(matcher, row["text"]).match
        expect = row["expect"]
        verdict = judge(match, expect)
        n_in += verdict.in_scope
        n_out += not verdict.in_scope
        top1 += verdict.top1
        unsafe += verdict.in_scope and not verdict.safe
        wrong += verdict.wrong
        missed += not verdict.in_scope and not verdict.handled
        status = (
            "ok" if verdict.ok else "safe" if verdict.safe else "WRONG" if verdict.wrong else "miss"
        )
        got = f"{match.action}:{match.intent}"
        shown.append(f"{path.name}:{number}\t{expect}\t{got}\t{status}\t{row['text']}\n")
if show_path:
    show_path.write_text("".join(shown), encoding="utf-8")
print(
    f"{n_in + n_out} questions ({n_in} in / {n_out} out): top1 {top1}, unsafe {unsafe}, "
    f"wrong {wrong}, out-of-scope missed {missed}"
)
