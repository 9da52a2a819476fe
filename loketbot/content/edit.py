"""Edit the knowledge YAML files in place, keeping comments and layout, and only when still valid.

Every change is made on a temporary copy of the knowledge folder first and checked there with the
same validation as `loketbot kb check`; the real file is replaced only when the copy is clean.
"""

from __future__ import annotations

__all__ = [
    "KIND_FILES",
    "NewEntry",
    "add_entry",
    "add_examples",
    "find_entry_file",
    "mark_reviewed",
    "yaml_rt",
]

import io
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from loketbot.content.bundle import check_content
from loketbot.content.knowledge import KINDS, LANGS, SYNONYMS_FILE, check, normalise_example
from loketbot.content.yamlfile import SyntaxProblem, read_file
from loketbot.errors import Problem

# Which file holds the entries of each kind (README: "Each file holds entries of one kind").
KIND_FILES: dict[str, str] = {
    "legal_form": "legal_forms.yaml",
    "permit": "permits.yaml",
    "subsidy": "subsidies.yaml",
    "procurement": "procurement.yaml",
    "department": "departments.yaml",
    "topic": "topics.yaml",
    "system": "system.yaml",
    "out_of_scope": "out_of_scope.yaml",
}
assert set(KIND_FILES) == set(KINDS)

# One edit at a time: the web console runs edits in worker threads.
_LOCK = threading.Lock()


def yaml_rt() -> YAML:
    """A round-trip YAML instance set up like the shipped files (so an untouched file is equal)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@dataclass(frozen=True)
class NewEntry:
    """What an editor fills in to start an entry; `title_en` empty means Dutch only."""

    id: str
    kind: str
    title_nl: str
    answer_nl: str
    examples_nl: Sequence[str]
    title_en: str = ""
    answer_en: str = ""
    examples_en: Sequence[str] = ()
    department: str = ""
    reviewed: date = field(default_factory=date.today)


def find_entry_file(knowledge_dir: Path | str, entry_id: str) -> Path | None:
    """The knowledge file that defines `entry_id`, or None; SyntaxProblem for a broken file."""
    yaml = yaml_rt()
    for path in _entry_files(Path(knowledge_dir)):
        data = _load(yaml, path)
        if _find(data, entry_id) is not None:
            return path
    return None


def _load(yaml: YAML, path: Path) -> Any:
    """Round-trip load with the reader's limits (size, regular file, UTF-8), or SyntaxProblem.

    The files were checked when loaded, but may have been edited by hand since; a broken one
    must come back to the editor as a problem, not as a 500.
    """
    raw = read_file(path)
    try:
        return yaml.load(raw.decode("utf-8"))
    except Exception as exc:  # ruamel raises many kinds; any of them means "cannot edit"
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise SyntaxProblem(
            Problem(str(path), line, f"cannot read the file to edit it ({type(exc).__name__})")
        ) from None


def add_examples(
    knowledge_dir: Path | str,
    entry_id: str,
    lang: str,
    texts: Iterable[str],
    *,
    flows_dir: Path | str | None = None,
) -> list[Problem]:
    """Append `texts` to the entry's `lang` examples; [] when written, else the problems."""
    root = Path(knowledge_dir)
    if lang not in LANGS:
        return [Problem(str(root), 1, f"language must be one of {', '.join(LANGS)}")]
    with _LOCK:
        opened = _open_entry(root, entry_id)
        if isinstance(opened, Problem):
            return [opened]
        path, yaml, data, entry = opened
        examples = entry.get("examples")
        if not isinstance(examples, CommentedMap):
            examples = CommentedMap()
            entry["examples"] = examples
        current = examples.get(lang)
        if not isinstance(current, CommentedSeq):
            current = CommentedSeq()
            examples[lang] = current
        have = {normalise_example(str(text)) for text in current}
        added = 0
        for text in texts:
            text = " ".join(text.split())
            key = normalise_example(text)
            if not key or key in have:  # already there: adding it again would only be refused
                continue
            have.add(key)
            _append(current, text)
            added += 1
        if not added:
            return [
                Problem(str(path), 1, f"nothing to add: these examples are already in {entry_id!r}")
            ]
        return _write_checked(root, path, _dump(yaml, data), flows_dir)


def _open_entry(root: Path, entry_id: str) -> tuple[Path, YAML, Any, CommentedMap] | Problem:
    """The file holding `entry_id`, its round-trip loader and document, and the entry's map;
    a Problem when there is none or the file cannot be read as YAML."""
    try:
        path = find_entry_file(root, entry_id)
        if path is None:
            return Problem(str(root), 1, f"no entry with id {entry_id!r}")
        yaml = yaml_rt()
        data = _load(yaml, path)
    except SyntaxProblem as exc:
        return exc.problem
    entry = _find(data, entry_id)
    assert entry is not None  # find_entry_file just found it
    return path, yaml, data, entry


def mark_reviewed(
    knowledge_dir: Path | str,
    entry_id: str,
    *,
    by: str,
    on: date,
    flows_dir: Path | str | None = None,
) -> list[Problem]:
    """Record that `by` checked the entry against its sources `on` that day: `reviewed:`,
    `reviewed_by:` and every source's `checked:`; [] when written, else the problems."""
    root = Path(knowledge_dir)
    with _LOCK:
        opened = _open_entry(root, entry_id)
        if isinstance(opened, Problem):
            return [opened]
        path, yaml, data, entry = opened
        sources = entry.get("sources")
        if not isinstance(sources, CommentedSeq) or not len(sources):
            message = f"{entry_id!r} has no sources: add the pages you checked it against first"
            return [Problem(str(path), 1, message)]
        # A fresh date object each time: ruamel writes one object used twice as an alias.
        entry["reviewed"] = date.fromordinal(on.toordinal())
        # A name reads back as text whatever it is ("Yes", "12"): quoted.
        _set_after(entry, "reviewed_by", DoubleQuotedScalarString(by), after="reviewed")
        for source in sources:
            if isinstance(source, CommentedMap):
                source["checked"] = date.fromordinal(on.toordinal())
        return _write_checked(root, path, _dump(yaml, data), flows_dir)


def _set_after(mapping: CommentedMap, key: str, value: Any, *, after: str) -> None:
    """Set `key`, placed right after `after` when it is new."""
    if key in mapping:
        mapping[key] = value
        return
    keys = list(mapping.keys())
    position = keys.index(after) + 1 if after in keys else len(keys)
    mapping.insert(position, key, value)


def add_entry(
    knowledge_dir: Path | str, new: NewEntry, *, flows_dir: Path | str | None = None
) -> list[Problem]:
    """Add `new` at the end of the file for its kind; [] when written, else the problems."""
    root = Path(knowledge_dir)
    if new.kind not in KIND_FILES:
        return [Problem(str(root), 1, f"kind must be one of: {', '.join(KINDS)}")]
    with _LOCK:
        path = root / KIND_FILES[new.kind]
        yaml = yaml_rt()
        try:
            data: Any = _load(yaml, path) if path.exists() else None
        except SyntaxProblem as exc:
            return [exc.problem]
        if data is None:
            data = CommentedMap()
        entries = data.get("entries") if isinstance(data, CommentedMap) else None
        if not isinstance(entries, CommentedSeq):
            if not isinstance(data, CommentedMap):
                return [Problem(str(path), 1, "expected a top-level 'entries:' list")]
            entries = CommentedSeq()
            data["entries"] = entries
        if len(entries):
            _blank_line_after(entries[-1])  # entries are separated by one empty line
        entries.append(_entry_map(new))
        return _write_checked(root, path, _dump(yaml, data), flows_dir)


def _entry_map(new: NewEntry) -> CommentedMap:
    title = CommentedMap(nl=_title(new.title_nl))
    answer = CommentedMap(nl=LiteralScalarString(_block(new.answer_nl)))
    examples = CommentedMap(nl=_seq(new.examples_nl))
    if new.title_en.strip():
        title["en"] = _title(new.title_en)
        if new.answer_en.strip():  # without it kb check asks for the translation
            answer["en"] = LiteralScalarString(_block(new.answer_en))
        examples["en"] = _seq(new.examples_en)
    elif any(text.strip() for text in new.examples_en):
        examples["en"] = _seq(new.examples_en)  # kb check will ask for the English title
    title.fa.set_flow_style()
    entry = CommentedMap()
    entry["id"] = new.id.strip()
    entry["kind"] = new.kind
    entry["title"] = title
    entry["examples"] = examples
    if new.kind != "out_of_scope":
        entry["answer"] = answer
    if new.department.strip():
        entry["department"] = new.department.strip()
    entry["reviewed"] = new.reviewed
    return entry


def _title(text: str) -> str:
    """Titles with YAML punctuation get double quotes, as the README asks editors to write them."""
    text = " ".join(text.split())
    return DoubleQuotedScalarString(text) if any(c in text for c in _SPECIAL) else _text(text)


_SPECIAL = frozenset(",:{}[]#&*!|>'\"%@`")
_RESOLVER = pyyaml.resolver.Resolver()


def _text(text: str) -> str:
    """`text`, double-quoted when the reader would not read it back as text.

    ruamel writes YAML 1.2, where yes/no/on/off are text and left plain; the reader (PyYAML)
    follows YAML 1.1 and reads them as true/false. The same goes for ~, null, numbers and
    dates: quoted, "no" stays the word an initiator typed.
    """
    implicit = _RESOLVER.resolve(pyyaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return text if implicit == "tag:yaml.org,2002:str" else DoubleQuotedScalarString(text)


def _block(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().replace("\r\n", "\n").split("\n")]
    return "\n".join(lines) + "\n"


def _seq(texts: Iterable[str]) -> CommentedSeq:
    seq = CommentedSeq()
    for text in texts:
        text = " ".join(text.split())
        if text:
            seq.append(_text(text))
    return seq


def _append(seq: CommentedSeq, text: str) -> None:
    """Append, moving a comment (an empty line) after the old last item to after the new one."""
    last = len(seq) - 1
    comment = seq.ca.items.pop(last, None) if last >= 0 else None
    seq.append(_text(text))
    if comment is not None:
        seq.ca.items[len(seq) - 1] = comment


def _blank_line_after(node: Any) -> None:
    """Put an empty line after `node` (a map or list), on its deepest last scalar."""
    while True:
        if isinstance(node, CommentedMap) and len(node):
            key = list(node.keys())[-1]
            child = node[key]
            if isinstance(child, CommentedMap | CommentedSeq) and len(child) and not _flow(child):
                node = child
                continue
            if key not in node.ca.items:
                node.ca.items[key] = [None, None, _newline(), None]
            return
        if isinstance(node, CommentedSeq) and len(node):
            index = len(node) - 1
            child = node[index]
            if isinstance(child, CommentedMap | CommentedSeq) and len(child) and not _flow(child):
                node = child
                continue
            if index not in node.ca.items:
                node.ca.items[index] = [_newline(), None]
            return
        return


def _flow(node: CommentedMap | CommentedSeq) -> bool:
    return bool(node.fa.flow_style())


def _newline() -> CommentToken:
    return CommentToken("\n\n", CommentMark(0), None)


def _find(data: Any, entry_id: str) -> CommentedMap | None:
    if not isinstance(data, CommentedMap) or not isinstance(data.get("entries"), CommentedSeq):
        return None
    for entry in data["entries"]:
        if isinstance(entry, CommentedMap) and entry.get("id") == entry_id:
            return entry
    return None


def _entry_files(root: Path) -> list[Path]:
    paths = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml"))
    return [p for p in paths if p.name != SYNONYMS_FILE]


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _write_checked(
    root: Path, path: Path, text: str, flows_dir: Path | str | None
) -> list[Problem]:
    """Check `text` as `path` inside a copy of `root`; replace the real file only when clean."""
    with tempfile.TemporaryDirectory(prefix="loketbot-kb-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy)
        (copy / path.name).write_text(text, encoding="utf-8")
        problems = _check(copy, flows_dir)
        if problems:
            return [_relocate(p, str(copy), str(root)) for p in problems]
    _replace(path, text)
    return []


def _check(knowledge_dir: Path, flows_dir: Path | str | None) -> list[Problem]:
    if flows_dir is None:
        return check(knowledge_dir)[1]
    return check_content(knowledge_dir, flows_dir)[1]


def _relocate(problem: Problem, copy: str, real: str) -> Problem:
    """Name the real file in a problem found in the temporary copy."""
    return Problem(
        problem.file.replace(copy, real), problem.line, problem.message.replace(copy, real)
    )


def _replace(path: Path, text: str) -> None:
    """Write atomically: a reader (or a crash) never sees half a file."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(name, path.stat().st_mode & 0o777)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
