"""Read a YAML file into plain data plus the line of every value, for file:line errors."""

from __future__ import annotations

__all__ = ["Located", "read_yaml"]

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


def read_yaml(path: Path, display: str | None = None) -> Located:
    """Parse `path` safely; raise a one-problem KnowledgeError-ready `Problem` on bad syntax."""
    name = display or str(path)
    text = path.read_text(encoding="utf-8")
    try:
        loader, node = _compose(_FAST_LOADER, text)
    except yaml.YAMLError:
        # Parse again in pure Python: its error messages are the ones we show editors.
        try:
            loader, node = _compose(yaml.SafeLoader, text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            raise SyntaxProblem(
                Problem(name, line, f"YAML syntax error: {exc.problem or exc}")
            ) from None
    lines: dict[Path_, int] = {}
    duplicates: list[Problem] = []
    data = _convert(loader, node, (), lines, duplicates, name) if node is not None else None
    if duplicates:
        raise SyntaxProblem(duplicates[0])
    return Located(name, data, lines)


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
            key = _scalar(loader, key_node)
            line = key_node.start_mark.line + 1
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
    return _scalar(loader, node)


def _scalar(loader: _Loader, node: yaml.Node) -> Any:
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value  # what the constructor returns for a string, without its overhead
    return loader.construct_object(node)
