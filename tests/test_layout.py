"""The package layout is the architecture: imports only go one way, checked over the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "loketbot"

# What each room may import of loketbot, besides itself. The foundation (errors, config, the
# profile's fields) is open to all; the entry points (cli, server) and the kept public path
# (matcher) may import anything, and nothing inside a room may import them.
FOUNDATION = {"errors", "config", "profile"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "profile": set(),
    "content": FOUNDATION,
    "store": FOUNDATION,
    "understanding": FOUNDATION | {"content"},
    "conversation": FOUNDATION | {"content", "understanding"},
    "service": FOUNDATION | {"content", "understanding", "conversation", "store"},
    "channels": FOUNDATION | {"content", "understanding", "conversation", "store", "service"},
    "web": FOUNDATION | {"content", "understanding", "conversation", "store", "service"},
}
ENTRY_POINTS = {"cli", "server", "matcher", "__init__"}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_rooms(path: Path) -> list[tuple[int, str]]:
    """(line, room) for every loketbot module the file imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = [PACKAGE.name, *path.relative_to(PACKAGE).parent.parts]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                # `from . import x`: x is a module of that package
                names = [f"{module}.{a.name}" for a in node.names] if not node.module else [module]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == PACKAGE.name and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_one_way(path: Path) -> None:
    room = _room(path)
    if room in ENTRY_POINTS:
        return
    assert room in ALLOWED, f"{path}: a new room; add it to ALLOWED with what it may import"
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {room} imports {other}"
        for line, other in _imported_rooms(path)
        if other != room and other not in ALLOWED[room]
    ]
    assert not wrong, "imports against the layout:\n" + "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The rule is not vacuous: an upward import in a room is reported."""
    module = PACKAGE / "store" / "_probe_upward.py"
    module.write_text("from loketbot.service.desk import Desk\nfrom ..web import app\n")
    try:
        rooms = [room for _, room in _imported_rooms(module)]
    finally:
        module.unlink()
    assert rooms == ["service", "web"]


def test_every_room_says_what_it_owns() -> None:
    for room in ALLOWED.keys() - FOUNDATION:
        init = PACKAGE / room / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"{init}: say what it owns and may import"
