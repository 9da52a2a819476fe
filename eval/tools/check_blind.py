"""For the writer of a blind set: parse, labels, lang, duplicates, and collisions (exact, or a
fuzzy ratio of 92 for lines of five or more words) with every older set and every knowledge
example or keyword. Prints only the new set's own line numbers and counts, never another text,
so a writer can run it without seeing what it compares against.

    .venv/bin/python eval/tools/check_blind.py NEW.jsonl
"""

import json
import re
import sys
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

MAIN = Path(__file__).resolve().parent.parent.parent
SHARED = MAIN.parent / "shared"  # the project's shared folder, when it is beside the checkout


def norm(t):
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", t.casefold())).strip()


def strings(node, out, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            strings(v, out, k if k in ("examples", "keywords") else key)
    elif isinstance(node, list):
        for v in node:
            strings(v, out, key)
    elif isinstance(node, str) and key:
        out.append(node)


def main(path):
    new = Path(path).resolve()
    ids = set(re.findall(r"^  ([a-z0-9-]+):", (MAIN / "eval/topics.yaml").read_text(), re.M)) | {
        "handoff"
    }
    old = []
    for p in list((MAIN / "eval").glob("*.jsonl")) + list((SHARED / "eval").glob("*.jsonl")):
        if p.resolve() == new:
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                old.append(json.loads(line)["text"])
    for p in list((MAIN / "knowledge").glob("*.yaml")) + list((MAIN / "flows").glob("*.yaml")):
        strings(yaml.safe_load(p.read_text(encoding="utf-8")), old)
    old_norm = list({norm(t) for t in old})
    old_set = set(old_norm)
    seen = {}
    problems = 0
    for n, line in enumerate(new.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            print(f"line {n}: bad json")
            problems += 1
            continue
        if row.get("expect") not in ids:
            print(f"line {n}: unknown expect")
            problems += 1
        if row.get("lang") not in ("nl", "en"):
            print(f"line {n}: bad lang")
            problems += 1
        k = norm(row.get("text", ""))
        if k in seen:
            print(f"line {n}: duplicate of line {seen[k]}")
            problems += 1
        seen.setdefault(k, n)
        if k in old_set:
            print(f"line {n}: exact collision with an older set or knowledge phrasing")
            problems += 1
        elif len(k.split()) >= 5:
            hit = process.extractOne(k, old_norm, scorer=fuzz.ratio, score_cutoff=92)
            if hit:
                print(f"line {n}: near collision (ratio {hit[1]:.0f})")
                problems += 1
    print(f"{problems} problems in {n} lines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
