"""The dev evaluation must not regress below floors a little under the targets."""

from __future__ import annotations

import json
import subprocess
import sys

from loketbot.understanding.evaluation import evaluate, read_cases
from loketbot.understanding.matcher import Matcher

from .conftest import EVAL, KNOWLEDGE

DEV = EVAL / "dev.jsonl"


def test_dev_set_floors(matcher: Matcher) -> None:
    report = evaluate(matcher, read_cases(DEV))
    assert report.in_scope >= 150 and report.out_of_scope >= 25
    assert report.top1 >= 0.88, report.as_dict()
    assert report.safe >= 0.92, report.as_dict()
    assert report.wrong <= 0.05, report.as_dict()
    assert report.handoff >= 0.83, report.as_dict()


def test_eval_cli_reports_the_four_metrics() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "loketbot.cli", "eval", str(DEV), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=KNOWLEDGE.parent,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"top1", "safe", "wrong", "handoff"} <= set(report)


def test_eval_cli_names_a_bad_line(tmp_path: object) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "bad.jsonl"
    bad.write_text('{"text": "a", "expect": "handoff"}\nnot json\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "loketbot.cli", "eval", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        cwd=KNOWLEDGE.parent,
    )
    assert result.returncode == 1
    assert f"{bad}:2:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_dialogues_reading_is_no_worse_than_the_matcher_alone(matcher: Matcher) -> None:
    """The bot reads a message for two questions or a story (reading.py); over the retired
    practice sets (a held-out set joins eval/ only after its one look) that reading must not
    lose what the matcher alone gets right. It did: a story's setting ("Onze stichting huurt
    ...") turned out-of-scope questions into questions back, a statement after a question was
    answered as a second question."""
    cases = [case for path in sorted(EVAL.glob("practice*.jsonl")) for case in read_cases(path)]
    alone = evaluate(matcher, cases)
    read = evaluate(matcher, cases, as_dialogue=True)
    assert len(cases) > 4000
    unsafe = (1 - read.safe) * read.in_scope - (1 - alone.safe) * alone.in_scope
    wrong = (read.wrong - alone.wrong) * (read.in_scope + read.out_of_scope)
    missed = (alone.handoff - read.handoff) * read.out_of_scope
    assert round(unsafe) <= 5 and round(wrong) <= 3 and round(missed) <= 2, (unsafe, wrong, missed)
    # A story already asked back keeps the whole message's first topic first: re-ranked by its
    # sentences, the first topic offered was the right one 64 times less often.
    assert round((alone.top1 - read.top1) * read.in_scope) <= 5, (alone.top1, read.top1)
