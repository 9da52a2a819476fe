"""Sources as data, kb check warnings and --strict, and the Dutch readability measure."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from loketbot.content.knowledge import Source, check, load_knowledge
from loketbot.content.readability import B1_MIN_SCORE, measure, syllables
from loketbot.content.sources import content_warnings, is_home_page

from .conftest import KNOWLEDGE, PERMITS, ROOT

KbDir = Callable[..., Path]

SOURCE = """
    sources:
      - url: https://www.rotterdam.nl/0-evenement-melden
        title: "0-evenement melden"
        publisher: Gemeente Rotterdam
        checked: {checked}
        supports: ["melding: buiten, max 250 bezoekers"]
"""


def with_source(text: str, checked: str = "2026-12-01") -> str:
    """PERMITS with a sources: list after its reviewed: line."""
    head, _, tail = text.partition("    reviewed: 2026-11-23\n")
    return head + "    reviewed: 2026-11-23" + SOURCE.format(checked=checked) + tail


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loketbot.cli", *args], capture_output=True, text=True, check=False
    )


def test_sources_load_as_frozen_data(kb_dir: KbDir) -> None:
    knowledge, problems = check(kb_dir(**{"permits.yaml": with_source(PERMITS)}))
    assert problems == [] and knowledge is not None
    entry = knowledge.by_id["permit-event"]
    assert entry.sources == (
        Source(
            "https://www.rotterdam.nl/0-evenement-melden",
            "0-evenement melden",
            "Gemeente Rotterdam",
            date(2026, 12, 1),
            ("melding: buiten, max 250 bezoekers",),
        ),
    )


def test_a_source_needs_an_http_url(kb_dir: KbDir) -> None:
    bad = with_source(PERMITS).replace(
        "url: https://www.rotterdam.nl/0-", "url: www.rotterdam.nl/0-"
    )
    _, problems = check(kb_dir(**{"permits.yaml": bad}))
    assert any("url must start with https://" in str(p) for p in problems)


def test_warnings_name_file_and_line(kb_dir: KbDir) -> None:
    folder = kb_dir(**{"permits.yaml": with_source(PERMITS, checked="2024-01-02")})
    knowledge, _ = check(folder)
    assert knowledge is not None
    warnings = [str(w) for w in content_warnings(knowledge.entries, {}, today=date(2026, 12, 4))]
    assert any("permits.yaml" in w and "last checked on 2024-01-02" in w for w in warnings)
    assert any("departments.yaml" in w and "has no sources" in w for w in warnings)


def test_home_pages() -> None:
    assert is_home_page("https://www.rotterdam.nl/")
    assert is_home_page("https://www.kvk.nl")
    assert not is_home_page("https://www.rotterdam.nl/0-evenement-melden")


def test_strict_turns_warnings_into_errors(kb_dir: KbDir) -> None:
    folder = kb_dir()
    loose = run_cli("kb", "check", "--knowledge", str(folder), "--flows", str(folder / "none"))
    assert loose.returncode == 0, loose.stdout
    assert "warning: entry 'permit-event' has no sources" in loose.stdout
    strict = run_cli(
        "kb", "check", "--knowledge", str(folder), "--flows", str(folder / "none"), "--strict"
    )
    assert strict.returncode == 1
    assert "permits.yaml:" in strict.stdout and "warning:" not in strict.stdout
    as_json = run_cli(
        "kb", "check", "--knowledge", str(folder), "--flows", str(folder / "none"), "--json"
    )
    report = json.loads(as_json.stdout)
    assert report["ok"] is True and report["warnings"]


def test_shipped_knowledge_is_clean_even_strict() -> None:
    result = run_cli(
        "kb", "check", "--knowledge", str(KNOWLEDGE), "--flows", str(ROOT / "flows"), "--strict"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_shipped_answer_entry_has_a_specific_source() -> None:
    knowledge = load_knowledge(KNOWLEDGE)
    for entry in knowledge.answerable():
        if entry.kind == "system":
            continue
        assert entry.sources, entry.id
        assert all(not is_home_page(s.url) for s in entry.sources), entry.id


def test_dutch_syllables() -> None:
    assert syllables("coöperatie") == 5
    assert syllables("straat") == 1
    assert syllables("ideeën") == 3
    assert syllables("vrijwilligersvergoeding") == 7


def test_flesch_douma_orders_easy_before_hard() -> None:
    easy = measure("Je belt de gemeente. Je vraagt naar de wijk. Dat is alles.")
    hard = measure(
        "Rechtsbevoegdheidsvraagstukken betreffende aansprakelijkheidsverzekeringen van "
        "vrijwilligersorganisaties vereisen institutionele afstemming."
    )
    assert easy.score >= B1_MIN_SCORE > hard.score
    assert easy.sentences == 3 and easy.words == 12
