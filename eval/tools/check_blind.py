"""For the writer of a blind set: parse, labels, lang, duplicates, and collisions (exact, or a
fuzzy ratio of 92 for lines of five or more words) with every older set and every knowledge
example or keyword (as loketbot loads them). Prints only the new set's own line numbers and
counts, never another text, so a writer can run it without seeing what it compares against.
A line with a `source` (a public-page round) must also name a page no older set used, and no
site may give more than two lines. Sets that other writers are writing at the same time, in
folders beside the new set's own (/work/tmp/blind/rNN/, say), count as older sets too: two
rounds written in parallel once held the same sentence.

    .venv/bin/python eval/tools/check_blind.py NEW.jsonl
"""

import json
import re
import sys
from pathlib import Path

from rapidfuzz import fuzz, process

MAIN = Path(__file__).resolve().parent.parent.parent
SHARED = MAIN.parent / "shared"  # the project's shared folder, when it is beside the checkout
sys.path.insert(0, str(MAIN))
sys.path.insert(0, str(MAIN / "eval"))

from check_heldout import texts, topic_ids  # noqa: E402

from loketbot.content.knowledge import LANGS, load_knowledge  # noqa: E402


def norm(t):
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", t.casefold())).strip()


def page_key(url):
    return re.sub(r"^https?://(www\.)?", "", url.strip()).rstrip("/").casefold()


def site(url):
    return page_key(url).split("/", 1)[0]


def used_pages(paths):
    return {
        page_key(row["source"])
        for p in paths
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip() and (row := json.loads(line)).get("source")
    }


def main(path):
    new = Path(path).resolve()
    ids = topic_ids() | {"handoff"}
    older = list((MAIN / "eval").glob("*.jsonl")) + list((SHARED / "eval").glob("*.jsonl"))
    if new.parent.parent != MAIN:  # beside other rounds in progress, not inside the repo
        older += new.parent.parent.glob("*/*.jsonl")
    older = [p for p in older if p.resolve() != new]
    old = [t for p in older for t in texts(p)]
    knowledge = load_knowledge(MAIN / "knowledge")
    old += [
        phrase
        for entry in knowledge.entries
        for lang in LANGS
        for phrase in (*entry.examples[lang], *entry.keywords[lang])
    ]
    old_norm = list({norm(t) for t in old})
    old_set = set(old_norm)
    used = used_pages(older)
    sites = {}
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
        source = row.get("source")
        if source is not None:
            if not re.match(r"https?://", source):
                print(f"line {n}: source is not a web address")
                problems += 1
            elif page_key(source) in used:
                print(f"line {n}: page already used by an older set")
                problems += 1
            sites.setdefault(site(source), []).append(n)
            if len(sites[site(source)]) == 3:
                print(f"line {n}: third line from one site")
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
