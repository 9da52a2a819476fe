"""Read a YAML file into plain data plus the line of every value, for file:line errors."""

from __future__ import annotations

__all__ = ["MAX_BYTES", "Located", "SyntaxProblem", "read_file", "read_yaml"]

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loketbot.errors import Problem

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """Parsed YAML data with the 1-based line of every node, keyed by its path."""

    file: str
    data: Any
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """Line of the deepest known node on `path` (1 when nothing is known)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1

    def problem(self, path: Path_, message: str) -> Problem:
        """A Problem located at `path` in this file."""
        return Problem(self.file, self.line(path), message)


if TYPE_CHECKING:
    _Loader = yaml.SafeLoader | yaml.CSafeLoader
# libyaml's parser when PyYAML was built with it: ten times faster on a large knowledge base.
_FAST_LOADER: type[_Loader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"

# Limits that keep one bad file (a mistake or a "billion laughs") from taking the process down.
# The shipped knowledge base is about 230 KB in nine files, nested 6 deep; a generated one of
# 2,000 entries is about 4 MB.
MAX_BYTES = 16 * 1024**2
MAX_DEPTH = 40
MAX_NODES = 5_000_000
# Explicit tags that mean what an editor would expect; anything else (!foo, !!python/...) is
# refused with a line number instead of reaching a constructor.
_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
)
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_file(path: Path, display: str | None = None) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; SyntaxProblem for anything else.

    Opened without blocking and checked before reading: a FIFO would hang the reader, a
    directory or device is no YAML file, and a huge file is refused before it is read.
    """
    name = display or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SyntaxProblem(Problem(name, 1, f"cannot read the file: {exc.strerror}")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SyntaxProblem(Problem(name, 1, "not a regular file: remove it or rename it"))
        if info.st_size > MAX_BYTES:
            raise SyntaxProblem(
                Problem(name, 1, f"file too large ({info.st_size} bytes; at most {MAX_BYTES})")
            )
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SyntaxProblem(Problem(name, 1, f"cannot read the file: {exc.strerror}")) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > MAX_BYTES:  # it grew while we looked
        raise SyntaxProblem(Problem(name, 1, f"file too large (at most {MAX_BYTES} bytes)"))
    return raw


def read_yaml(path: Path, display: str | None = None, *, raw: bytes | None = None) -> Located:
    """Parse `path` (or its bytes `raw`, already read) safely and within limits.

    Every problem, whatever its cause, is raised as a SyntaxProblem with the file and line:
    bad syntax, non-UTF-8 bytes, control characters, anchors and aliases, unknown tags, merge
    keys, nesting deeper than MAX_DEPTH, keys that are not plain values, unreadable values.
    """
    name = display or str(path)
    if raw is None:
        raw = read_file(path, name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SyntaxProblem(
            Problem(name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): save as UTF-8")
        ) from None
    try:
        loader, node = _compose(_FAST_LOADER, text)
    except yaml.YAMLError:
        # Parse again in pure Python: its error messages are the ones we show editors.
        try:
            loader, node = _compose(yaml.SafeLoader, text)
        except RecursionError:
            # The pure-Python composer recurses per level; libyaml stops at 1,000 levels.
            raise SyntaxProblem(Problem(name, 1, f"nested more than {MAX_DEPTH} levels")) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise SyntaxProblem(
                Problem(name, line, f"YAML syntax error: {exc.problem or exc}")
            ) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            raise SyntaxProblem(
                Problem(name, line, f"character U+{exc.character:04X} is not allowed: remove it")
                if isinstance(exc.character, int)
                else Problem(name, line, f"unreadable text: {exc.reason}")
            ) from None
        except yaml.YAMLError as exc:
            raise SyntaxProblem(Problem(name, 1, f"YAML error: {exc}")) from None
    if node is not None:
        _check_nodes(node, name)
    lines: dict[Path_, int] = {}
    duplicates: list[Problem] = []
    data = _convert(loader, node, (), lines, duplicates, name) if node is not None else None
    if duplicates:
        raise SyntaxProblem(duplicates[0])
    return Located(name, data, lines)


def _check_nodes(root: yaml.Node, name: str) -> None:
    """Walk the composed nodes (flat, no recursion) and refuse what may not be converted.

    Composing is cheap even for a "billion laughs": an alias is the same node object again.
    Converting would expand it, so a node met twice (an alias), too deep a nesting, a tag we
    do not know and a merge key are refused here first, each at its line.
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        line = node.start_mark.line + 1
        if id(node) in seen:
            raise SyntaxProblem(
                Problem(
                    name,
                    line,
                    "anchors and aliases (&name, *name) are not allowed: write the value out",
                )
            )
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise SyntaxProblem(Problem(name, line, f"more than {MAX_NODES} values in one file"))
        if node.tag not in _TAGS:
            if node.tag == _MERGE_TAG:
                raise SyntaxProblem(
                    Problem(name, line, "merge keys (<<) are not allowed: write the keys out")
                )
            raise SyntaxProblem(
                Problem(name, line, f"unknown tag {node.tag}: remove it, or quote the value")
            )
        if isinstance(node, yaml.CollectionNode):
            if depth > MAX_DEPTH:
                raise SyntaxProblem(Problem(name, line, f"nested more than {MAX_DEPTH} levels"))
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.append((key, depth + 1))
                    stack.append((value, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node.value)


def _compose(loader_class: type[_Loader], text: str) -> tuple[_Loader, yaml.Node | None]:
    loader = loader_class(text)
    try:
        return loader, loader.get_single_node()
    finally:
        loader.dispose()


class SyntaxProblem(Exception):
    """A YAML file could not be parsed; carries the located problem."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _convert(
    loader: _Loader,
    node: yaml.Node,
    path: Path_,
    lines: dict[Path_, int],
    duplicates: list[Problem],
    name: str,
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise SyntaxProblem(Problem(name, line, "a key must be a plain word or text"))
            key = _scalar(loader, key_node, name)
            if key in result:
                # PyYAML keeps the last value silently; an editor would lose the first.
                duplicates.append(Problem(name, line, f"duplicate key {key!r}: remove one of them"))
            result[key] = _convert(loader, value_node, (*path, str(key)), lines, duplicates, name)
            lines[(*path, str(key))] = line
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, i), lines, duplicates, name)
            for i, item in enumerate(node.value)
        ]
    return _scalar(loader, node, name)


def _scalar(loader: _Loader, node: yaml.Node, name: str) -> Any:
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value  # what the constructor returns for a string, without its overhead
    try:
        value = loader.construct_object(node)
        hash(value)  # a key must be hashable; a value of ours always is
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # e.g. a date that does not exist (2026-13-45): reported at its line, not a traceback
        message = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc)
        raise SyntaxProblem(
            Problem(name, node.start_mark.line + 1, f"cannot read this value: {message}")
        ) from None
    return value
