"""Write eval/PRACTICE-<n>.md for a blind round after its one look, from two look.py outputs
(the session's code and its starting commit) and the writer's README.

    .venv/bin/python eval/tools/look.py SET.jsonl SET.tsv > head.txt
    ROOT=<start worktree> .venv/bin/python eval/tools/look.py SET.jsonl SET.tsv > start.txt
    .venv/bin/python eval/tools/page.py N --head head.txt --start start.txt --readme README.md \
        --code COMMIT --start-commit COMMIT --flagged F --rewrites R --session "the ... session"

Prints the page's summary line; the README row in eval/README.md is still written by hand.
"""

import argparse
import ast
import re
from pathlib import Path

EVAL = Path(__file__).resolve().parent.parent
# The targets for held-out questions, in the order look.py prints the figures; wrong
# is the one that must stay at or below its line.
TARGETS = (("top1", 0.92), ("safe", 0.97), ("wrong", 0.02), ("out-of-scope handled", 0.90))


def figures(text: str, mode: str) -> tuple[int, int, list[float]]:
    """In-scope and out-of-scope counts, and top1, safe, wrong, out-of-scope handled, from one
    look.py output."""
    found = re.search(rf"{mode}: n=(\d+)\+(\d+) top1 (\S+) safe (\S+) wrong (\S+) oos (\S+)", text)
    if found is None:
        raise SystemExit(f"no '{mode}:' line in the look output")
    in_scope, out = int(found[1]), int(found[2])
    return in_scope, out, [float(x) for x in found.groups()[2:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("number", type=int)
    parser.add_argument("--head", type=Path, required=True)
    parser.add_argument("--start", type=Path, required=True)
    parser.add_argument("--readme", type=Path, required=True)
    parser.add_argument("--code", required=True)
    parser.add_argument("--start-commit", required=True)
    parser.add_argument("--flagged", type=int, required=True)
    parser.add_argument("--rewrites", type=int, required=True)
    parser.add_argument("--session", required=True, help='e.g. "the first session of 2026-12-07"')
    args = parser.parse_args()
    head_text = args.head.read_text(encoding="utf-8")
    in_scope, out, head = figures(head_text, "dialogue")
    alone = figures(head_text, "matcher")[2]
    start = figures(args.start.read_text(encoding="utf-8"), "dialogue")[2]
    kinds_line = re.search(r"kinds: (\{.*\})", head_text)
    kinds: dict[str, int] = ast.literal_eval(kinds_line.group(1)) if kinds_line else {}
    registers = re.findall(r"  (\w+): in-scope not safe (\d+) / oos missed (\d+)", head_text)

    holds = [
        value <= line if name == "wrong" else value >= line
        for (name, line), value in zip(TARGETS, head, strict=True)
    ]
    met = [name for (name, _), ok in zip(TARGETS, holds, strict=True) if ok]
    missed = [name for (name, _), ok in zip(TARGETS, holds, strict=True) if not ok]
    oos = {k[4:]: v for k, v in kinds.items() if k.startswith("oos ")}
    inside = {k[3:]: v for k, v in kinds.items() if k.startswith("in ")}
    oos_text = (
        f"{sum(oos.values())} of {out} out-of-scope questions were not handed off or redirected"
        f" ({', '.join(f'{v} {k}' for k, v in oos.items())})."
        if oos
        else f"All {out} out-of-scope questions were handed off or redirected."
    )
    # Rates back to questions: top1 and safe count in-scope questions, wrong all of them.
    per = (in_scope, in_scope, in_scope + out, out)
    delta = [round((h - s) * n) for h, s, n in zip(head, start, per, strict=True)]
    summary = (
        f"Met: {', '.join(met) or 'none'}; missed: {', '.join(missed) or 'none'}. {oos_text} "
        f"Against the starting code: top1 {delta[0]:+d}, safe {delta[1]:+d} in-scope questions, "
        f"wrong {delta[2]:+d}, out-of-scope handled {delta[3]:+d}. Of {sum(inside.values())} "
        f"in-scope questions not safe: {', '.join(f'{v} {k}' for k, v in inside.items())}. "
        f"(The matcher alone: {' / '.join(f'{x:.3f}' for x in alone)}.)"
    )
    n = args.number
    row = " | ".join(f"{x:.3f}" for x in head)
    start_row = " | ".join(f"{x:.3f}" for x in start)
    per_register = ", ".join(f"{r} {a} / {b}" for r, a, b in registers) or "none"
    page = "\n".join(
        [
            f"# Blind round {n}: practice-{n}.jsonl",
            "",
            f"Written by a helper in {args.session}, blind (its README below says what it read"
            " and did not read), to the brief in [BRIEF.md](BRIEF.md), which names no"
            f" out-of-scope categories. Its collision check flagged {args.flagged} lines on the"
            " first run (exactly or within a fuzzy ratio of 92 of another set or a knowledge"
            f" phrasing), reworded by hand ({args.rewrites} rewrites) without the helper seeing"
            " any other set's text.",
            "",
            f"**Looked at once** at commit {args.code}, aggregates only (by the matcher alone"
            " and, in the same look, through the dialogue's reading); once on the session's"
            f" starting commit {args.start_commit}; then **retired to tuning** the same session.",
            "",
            "| set | top1 | safe | wrong | out-of-scope handled |",
            "|---|---|---|---|---|",
            f"| practice-{n}.jsonl ({in_scope} + {out}) on {args.code},"
            f" through the dialogue | {row} |",
            f"| the same, once, on the session's starting commit {args.start_commit},"
            f" through the dialogue | {start_row} |",
            "",
            summary,
            "",
            "Per register (in-scope not safe / out-of-scope missed):"
            f" {per_register}; the other registers none.",
            "",
            "---",
            "",
            args.readme.read_text(encoding="utf-8"),
        ]
    )
    (EVAL / f"PRACTICE-{n}.md").write_text(page, encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    main()
