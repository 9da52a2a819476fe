"""Validate the held-out practice sets without showing the older sets' questions.

Checks every line parses, every `expect` is a topic id from topics.yaml or `handoff`,
no duplicate texts, and counts (only counts) texts that equal, case-insensitively,
a line of any other set in eval/ (dev, tuning and older practice sets) or of the other new set.

    python eval/check_heldout.py eval/practice-4.jsonl eval/practice-public-4.jsonl
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent


def topic_ids() -> set[str]:
    text = (HERE / "topics.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"^  ([a-z0-9-]+):", text, re.M))


def texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(paths: list[str]) -> int:
    ids = topic_ids() | {"handoff"}
    checked = {Path(name).resolve() for name in paths}
    older = [p for p in sorted(HERE.glob("*.jsonl")) if p.resolve() not in checked]
    old = {t.strip().casefold() for path in older for t in texts(path)}
    seen: set[str] = set()
    problems = 0
    for name in paths:
        bad_json = bad_label = bad_lang = dupes = collisions = 0
        lines = Path(name).read_text(encoding="utf-8").splitlines()
        for line in lines:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad_json += 1
                continue
            bad_label += row.get("expect") not in ids
            bad_lang += row.get("lang") not in ("nl", "en")
            key = row["text"].strip().casefold()
            dupes += key in seen
            seen.add(key)
            collisions += key in old
        print(f"{name}: {len(lines)} lines, bad json {bad_json}, unknown expect {bad_label}, "
              f"bad lang {bad_lang}, duplicate texts {dupes}, collisions with older sets {collisions}")
        problems += bad_json + bad_label + bad_lang + dupes + collisions
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
