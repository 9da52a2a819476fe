"""Knowledge and flow files that cannot hurt (review F4, F5): every bad file is a file:line."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loketbot.cli import main
from loketbot.content.yamlfile import SyntaxProblem, read_yaml
from loketbot.service.reload import Reloader

from .conftest import ROOT


def laughs(levels: int = 10) -> str:
    """The classic "billion laughs": 9^10 strings from ten lines of aliases."""
    text = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    previous = "a"
    for i in range(1, levels):
        name = chr(97 + i)
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


BAD_FILES: dict[str, tuple[bytes, int, str]] = {
    # name: (content, expected line (0: any), a word of the message)
    "laughs": (laughs().encode(), 0, "aliases"),
    "tag": (b"entries: []\na: !foo bar\n", 2, "unknown tag"),
    "python-tag": (b"entries: []\na: !!python/name:os.system\n", 2, "unknown tag"),
    "merge": (b"base: {id: x}\nentries:\n  - <<: {id: y}\n", 3, "merge keys"),
    "merge-alias": (b"base: &b {id: x}\nentries:\n  - <<: *b\n", 3, "merge keys"),
    "nul": (b"entries: []\na: b\x00c\n", 2, "U+0000"),
    "control": (b"entries: []\n\na: b\x07c\n", 3, "U+0007"),
    "not-utf8": (b"entries: []\nx: \xff\xfe\n", 2, "UTF-8"),
    "recursive-list": (b"a: &a [*a]\n", 1, "aliases"),
    "recursive-map": (b"a: &a {b: *a}\n", 1, "aliases"),
    "deep-flow": (b"[" * 1500, 1, "nested"),
    "deep-flow-50k": (b"[" * 50_000, 1, "nested"),
    "deep-block": (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(3000)).encode() + b"  " * 3000 + b"x\n",
        1,
        "nested",
    ),
    "complex-key": (b"entries: []\n? [a, b]\n: c\n", 2, "key"),
    "bad-date": (b"entries: []\nreviewed: 2026-13-45\n", 2, "cannot read"),
}


@pytest.fixture
def kb(kb_dir: Callable[..., Path]) -> Path:
    return kb_dir()


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_yaml_is_a_file_line_problem(
    case: str, kb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, line, word = BAD_FILES[case]
    (kb / "zz.yaml").write_bytes(content)
    flows = tmp_path / "flows"
    flows.mkdir()
    started = time.monotonic()
    code = main(["kb", "check", "--knowledge", str(kb), "--flows", str(flows)])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    at = str(line) if line else "[0-9]+"
    assert re.search(rf"zz\.yaml:{at}: .*{re.escape(word)}", out), out
    assert elapsed < 10, f"{case}: {elapsed:.1f} s"


def test_a_fifo_or_a_folder_named_yaml_does_not_hang(
    kb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(kb / "fifo.yaml")
    (kb / "dir.yaml").mkdir()
    flows = tmp_path / "flows"
    flows.mkdir()
    os.mkfifo(flows / "flow.yaml")
    code = main(["kb", "check", "--knowledge", str(kb), "--flows", str(flows)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "fifo.yaml:1: not a regular file" in out
    assert "dir.yaml:1: not a regular file" in out
    assert "flow.yaml:1: not a regular file" in out


def test_a_huge_file_is_refused_before_reading(kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loketbot.content import yamlfile

    monkeypatch.setattr(yamlfile, "MAX_BYTES", 1000)
    path = kb / "big.yaml"
    path.write_text("entries: []\n" + "# padding\n" * 200)
    with pytest.raises(SyntaxProblem) as caught:
        read_yaml(path)
    assert caught.value.problem.line == 1 and "too large" in caught.value.problem.message


def test_a_reload_of_a_bad_file_keeps_the_running_set(kb: Path, tmp_path: Path) -> None:
    from loketbot.content.bundle import load_content

    flows = tmp_path / "flows"
    flows.mkdir()
    content = load_content(kb, flows)
    installed: list[object] = []
    reloader = Reloader(kb, flows, content, install=installed.append)
    for case in ("laughs", "nul", "not-utf8", "tag"):
        (kb / "zz.yaml").write_bytes(BAD_FILES[case][0])
        started = time.monotonic()
        problems = reloader.reload()
        assert time.monotonic() - started < 10
        assert problems and problems[0].file.endswith("zz.yaml"), case
        assert reloader.content is content and not installed
    assert reloader.last_problems == problems


def test_a_reader_bug_on_reload_is_a_problem_not_a_crash(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loketbot.content.bundle import load_content
    from loketbot.service import reload

    content = load_content(kb, tmp_path)

    def broken(*args: object) -> object:
        raise MemoryError

    monkeypatch.setattr(reload, "check_content", broken)
    reloader = Reloader(kb, tmp_path, content, install=lambda d: None)
    problems = reloader.reload()
    assert len(problems) == 1 and "MemoryError" in problems[0].message


def test_the_shipped_files_still_read() -> None:
    for path in sorted((ROOT / "knowledge").glob("*.yaml")) + sorted(
        (ROOT / "flows").glob("*.yaml")
    ):
        read_yaml(path)


# --- fuzzing: whatever the bytes, a Located or a SyntaxProblem, quickly -------------------------

YAML_BITS = st.sampled_from(
    [
        "a: ", "- ", "[", "]", "{", "}", ", ", ": ", "\n", "  ", "&x ", "*x", "!foo ", "!!str ",
        "<<: ", "? ", "'", '"', "|\n", ">\n", "#", "---\n", "...\n", "%YAML 1.1\n", "yes", "no",
        "~", "1e9", "2026-13-45", "0x1F", "\t", "\x00", "\x85", "\ufeff", "é", "=", "entries:",
    ]
)  # fmt: skip


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(st.binary(max_size=400), st.lists(YAML_BITS, max_size=60).map("".join)))
def test_fuzz_the_yaml_reader(tmp_path: Path, content: bytes | str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(
        content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    )
    started = time.monotonic()
    try:
        located = read_yaml(path)
    except SyntaxProblem as exc:
        assert exc.problem.file == str(path) and exc.problem.line >= 1
    else:
        # What it read is plain data a yaml.safe_dump can write again.
        yaml.safe_dump(located.data)
    assert time.monotonic() - started < 5


# --- F11: what the editor writes reads back as text ---------------------------------------------

YAML11_WORDS = ["no", "yes", "on", "off", "y", "null", "1.5", "0x1F", "2026-01-01"]


def test_the_editor_writes_yes_no_on_off_as_text(kb: Path) -> None:
    from loketbot.content.edit import NewEntry, add_entry, add_examples
    from loketbot.content.knowledge import load_knowledge

    assert add_examples(kb, "permit-event", "nl", YAML11_WORDS) == []
    entry = load_knowledge(kb).by_id["permit-event"]
    for word in YAML11_WORDS:
        assert word in entry.examples["nl"], word
    new = NewEntry(
        id="topic-ja",
        kind="topic",
        title_nl="yes",
        title_en="on",
        answer_nl="Ja.",
        answer_en="Yes.",
        examples_nl=[f"vraag nummer {i} over iets" for i in range(8)],
        examples_en=["question one", "question two", "question three"],
        department="dept-liaison",
    )
    assert add_entry(kb, new) == []
    added = load_knowledge(kb).by_id["topic-ja"]
    assert added.title == {"nl": "yes", "en": "on"}


def test_the_editor_reports_a_broken_file_instead_of_crashing(kb: Path) -> None:
    from loketbot.content.edit import add_examples

    (kb / "permits.yaml").write_bytes(b"entries: [\x00\n")
    problems = add_examples(kb, "permit-event", "nl", ["een vraag"])
    assert problems and problems[0].file.endswith("permits.yaml")
