"""Editors' mistakes are reported as file:line with a fix; the shipped knowledge is complete."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from loketbot.content.knowledge import check, load_knowledge
from loketbot.errors import KnowledgeError

from .conftest import EVAL, KNOWLEDGE, PERMITS

KbDir = Callable[..., Path]


def problems_of(folder: Path, flows: frozenset[str] | None = None) -> list[str]:
    knowledge, problems = check(folder, flows=flows)
    assert knowledge is None, "an invalid set must not load"
    return [str(p) for p in problems]


def line_of(folder: Path, file: str, needle: str) -> int:
    lines = (folder / file).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_valid_folder_loads(kb_dir: KbDir) -> None:
    knowledge, problems = check(kb_dir())
    assert problems == []
    assert knowledge is not None
    assert {e.id for e in knowledge.entries} == {"dept-liaison", "permit-event"}


def test_yaml_syntax_error_names_file_and_line(kb_dir: KbDir) -> None:
    folder = kb_dir(**{"permits.yaml": PERMITS.replace("kind: permit", "kind: [permit")})
    found = problems_of(folder)
    assert len(found) == 1
    assert re.match(r".*permits\.yaml:\d+: YAML syntax error", found[0])


def test_unknown_field(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("    kind: permit", "    kind: permit\n    colour: red")}
    )
    line = line_of(folder, "permits.yaml", "colour:")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: unknown field 'colour': remove it or check its spelling"
    ]


def test_missing_field(kb_dir: KbDir) -> None:
    folder = kb_dir(**{"permits.yaml": PERMITS.replace("    reviewed: 2026-11-23\n", "")})
    line = line_of(folder, "permits.yaml", "- id: permit-event")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: missing field 'reviewed': add it"
    ]


def test_duplicate_id_across_files(kb_dir: KbDir) -> None:
    copy = (
        PERMITS.replace("vergunning voor een festival", "iets heel anders")
        .replace("        - ", "        - x ")
        .replace(
            "[event permit, festival in the park, do we need a permit for an event]",
            "[a b c, d e f, g h i]",
        )
    )
    folder = kb_dir(**{"more.yaml": copy})
    found = problems_of(folder)
    first = line_of(folder, "more.yaml", "- id: permit-event")
    assert found == [
        f"{folder}/permits.yaml:{first}: duplicate id 'permit-event', first defined at "
        f"{folder}/more.yaml:{first}: ids must be unique across all files"
    ]


def test_unknown_department(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("department: dept-liaison", "department: dept-nowhere")}
    )
    line = line_of(folder, "permits.yaml", "dept-nowhere")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: unknown department 'dept-nowhere': use the id of an "
        "entry with kind: department (see departments.yaml)"
    ]


def test_unknown_flow(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("    reviewed:", "    flow: event-check\n    reviewed:")}
    )
    line = line_of(folder, "permits.yaml", "flow: event-check")
    assert problems_of(folder, flows=frozenset({"other-flow"})) == [
        f"{folder}/permits.yaml:{line}: unknown flow 'event-check': no flows/*.yaml has this id"
    ]


def test_groups_ask_too_is_only_for_out_of_scope_entries(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{
            "permits.yaml": PERMITS.replace(
                "    reviewed:", "    groups_ask_too: true\n    reviewed:"
            )
        }
    )
    line = line_of(folder, "permits.yaml", "groups_ask_too:")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: 'groups_ask_too' is for out_of_scope entries, not "
        "'permit': remove it here"
    ]


def test_empty_example_list(kb_dir: KbDir) -> None:
    text = re.sub(r"      en: \[event permit.*\]", "      en: []", PERMITS)
    folder = kb_dir(**{"permits.yaml": text})
    line = line_of(folder, "permits.yaml", "examples:")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: entry 'permit-event' has no en examples: add at least 3"
    ]


def test_same_example_under_two_entries(kb_dir: KbDir) -> None:
    # Case, accents and punctuation do not make an example different.
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("- melding klein evenement", "- Verbindingsofficier!")}
    )
    line = line_of(folder, "permits.yaml", "Verbindingsofficier!")
    first = line_of(folder, "departments.yaml", "verbindingsofficier,")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: example 'Verbindingsofficier!' is also under "
        f"'dept-liaison' at {folder}/departments.yaml:{first}: keep it in one entry only"
    ]


def test_missing_translation(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{
            "permits.yaml": PERMITS.replace(
                "answer: {nl: Vraag een vergunning aan., en: Apply for a permit.}",
                "answer: {nl: Vraag een vergunning aan.}",
            )
        }
    )
    line = line_of(folder, "permits.yaml", "answer:")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: entry 'permit-event' declares a en title but has no en "
        "answer: add the translation"
    ]


def test_unquoted_comma_in_flow_mapping_is_caught(kb_dir: KbDir) -> None:
    # A classic YAML trap: {nl: Kraam, container, terras} silently makes extra keys.
    folder = kb_dir(
        **{
            "permits.yaml": PERMITS.replace(
                "title: {nl: Evenementenvergunning, en: Event permit}",
                "title: {nl: Kraam, terras, en: Stall}",
            )
        }
    )
    line = line_of(folder, "permits.yaml", "title:")
    assert problems_of(folder) == [
        f"{folder}/permits.yaml:{line}: unknown field 'terras': remove it or check its spelling"
    ]


def test_invalid_set_is_refused_as_a_whole(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("department: dept-liaison", "department: nope")}
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    assert len(caught.value.problems) == 1


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loketbot.cli", *args], capture_output=True, text=True, check=False
    )


def test_kb_check_cli_reports_without_traceback(kb_dir: KbDir) -> None:
    folder = kb_dir(**{"permits.yaml": PERMITS.replace("kind: permit", "kind: [permit")})
    result = run_cli("kb", "check", "--knowledge", str(folder))
    assert result.returncode == 1
    assert "permits.yaml:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_kb_check_json(kb_dir: KbDir) -> None:
    folder = kb_dir(
        **{"permits.yaml": PERMITS.replace("department: dept-liaison", "department: nope")}
    )
    result = run_cli("kb", "check", "--knowledge", str(folder), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"][0]["file"].endswith("permits.yaml")
    assert report["problems"][0]["line"] == line_of(folder, "permits.yaml", "department: nope")


def test_shipped_knowledge_is_clean() -> None:
    result = run_cli("kb", "check", "--knowledge", str(KNOWLEDGE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_topic_has_an_entry_with_enough_examples() -> None:
    topics = yaml.safe_load((EVAL / "topics.yaml").read_text(encoding="utf-8"))
    wanted = {topic for group in topics.values() for topic in group}
    knowledge = load_knowledge(KNOWLEDGE)
    assert wanted <= set(knowledge.by_id), sorted(wanted - set(knowledge.by_id))
    for topic in wanted:
        entry = knowledge.by_id[topic]
        assert len(entry.examples["nl"]) >= 12, topic
        assert len(entry.examples["en"]) >= 4, topic
        assert set(entry.answer) == {"nl", "en"}, topic
        assert entry.reviewed is not None


def test_answers_are_short_and_end_with_a_next_step() -> None:
    knowledge = load_knowledge(KNOWLEDGE)
    for entry in knowledge.answerable():
        if entry.kind == "system":
            continue
        nl = entry.answer["nl"]
        assert len(nl.split()) <= 190, (entry.id, len(nl.split()))
        assert "Volgende stap" in nl, entry.id
        assert entry.links, entry.id
        assert "http" not in nl, f"{entry.id}: links belong in links:, not in the text"


def _flat(text: str) -> str:
    """Lower case, accents and punctuation gone, words single-spaced."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def copied_dev_questions(folders: list[Path]) -> list[str]:
    """file:line for every YAML line that contains a dev-set question of four words or more."""
    lines = (EVAL / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [_flat(json.loads(line)["text"]) for line in lines if line.strip()]
    questions = [q for q in questions if len(q.split()) >= 4]
    found = []
    for path in sorted(p for folder in folders for p in folder.rglob("*.y*ml")):
        for number, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            flat = _flat(row)
            found += [f"{path}:{number}: {q!r}" for q in questions if q in flat]
    return found


def test_no_dev_question_is_copied_into_knowledge() -> None:
    assert not copied_dev_questions([KNOWLEDGE, KNOWLEDGE.parent / "flows"])


def test_a_copied_dev_question_is_caught(tmp_path: Path) -> None:
    first = json.loads((EVAL / "dev.jsonl").read_text(encoding="utf-8").splitlines()[0])
    (tmp_path / "x.yaml").write_text(f"examples: [{first['text'].upper()!r}]\n", "utf-8")
    assert len(copied_dev_questions([tmp_path])) == 1


def test_content_check_reads_each_flow_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from loketbot.content import bundle, flowfile, knowledge, yamlfile

    reads: Counter[str] = Counter()
    real = yamlfile.read_yaml

    def counting(path: Path, display: str | None = None, **kw: Any) -> yamlfile.Located:
        if Path(path).parent.name == "flows":
            reads[Path(path).name] += 1
        return real(path, display, **kw)

    for module in (flowfile, knowledge):  # every reader of YAML files
        monkeypatch.setattr(module, "read_yaml", counting)
    flows_dir = KNOWLEDGE.parent / "flows"
    content, problems = bundle.check_content(KNOWLEDGE, flows_dir)
    assert content is not None and not problems
    assert set(reads) == {p.name for p in flows_dir.glob("*.yaml")}
    assert set(reads.values()) == {1}
