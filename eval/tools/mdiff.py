"""What changed between two `pool.py --show` files: FIXED, BROKE, CHANGED lines.

.venv/bin/python eval/tools/mdiff.py before.tsv after.tsv
"""

import sys

GOOD = ("ok", "safe")


def rows(path: str) -> dict[str, list[str]]:
    with open(path, encoding="utf-8") as f:
        return {line.split("\t")[0]: line.rstrip("\n").split("\t") for line in f}


before, after = rows(sys.argv[1]), rows(sys.argv[2])
for key, new in after.items():
    old = before.get(key)
    if old is None or old[2:4] == new[2:4]:
        continue
    tag = (
        "FIXED"
        if old[3] not in GOOD and new[3] in GOOD
        else "BROKE"
        if old[3] in GOOD and new[3] not in GOOD
        else "CHANGED"
    )
    if tag == "CHANGED" and old[3] == new[3] == "ok":
        continue
    print(tag, key, old[1], old[2], "->", new[2], new[3], "|", new[4][:110])
