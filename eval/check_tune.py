"""Check the tuning set eval/tune-public.jsonl against the held-out sets without showing them.

Validates JSON, `expect` labels (topic ids from topics.yaml or `handoff`), `lang`, `source`, and
duplicate texts inside the tuning set. Then compares every text (case-insensitive,
whitespace-normalised) with the held-out sets (eval/dev.jsonl, eval/practice*.jsonl,
../shared/eval/*.jsonl) and prints ONLY the number of collisions and the line numbers in the
tuning file; the held-out texts are never printed.

    python eval/check_tune.py eval/tune-public.jsonl
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
HELD_OUT = sorted(HERE.glob("practice*.jsonl")) + [HERE / "dev.jsonl"] + sorted(
    (HERE.parent.parent / "shared" / "eval").glob("*.jsonl")
)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def topic_ids() -> set[str]:
    text = (HERE / "topics.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"^  ([a-z0-9-]+):", text, re.M))


def held_out_keys() -> set[str]:
    keys: set[str] = set()
    for path in HELD_OUT:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                keys.add(norm(json.loads(line)["text"]))
    return keys


def main(path: str) -> int:
    ids = topic_ids() | {"handoff"}
    old = held_out_keys()
    seen: set[str] = set()
    bad = dupes = 0
    hits: list[int] = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        ok = (row.get("expect") in ids and row.get("lang") in ("nl", "en")
              and isinstance(row.get("text"), str) and row["text"].strip()
              and str(row.get("source", "")).startswith("http")
              and set(row) == {"text", "expect", "lang", "source"})
        bad += not ok
        key = norm(row.get("text", ""))
        dupes += key in seen
        seen.add(key)
        if key in old:
            hits.append(n)
    print(f"{path}: {len(lines)} lines, invalid rows {bad}, duplicate texts {dupes}, "
          f"held-out files compared {sum(p.exists() for p in HELD_OUT)}")
    print(f"collisions with held-out sets: {len(hits)}; lines: {hits}")
    return 1 if (bad or dupes or hits) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(HERE / "tune-public.jsonl")))
