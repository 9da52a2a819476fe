"""Rotterdam's areas (gebieden) and their neighbourhoods (wijken), from knowledge/areas.yaml.

`Areas.find(text)` names the area a sentence mentions: "we zitten in Katendrecht" -> Feijenoord.
Names match as whole words (after folding case, accents and hyphens), longest name first, so
"Feyenoord" is never "Noord" and "Hillegersberg-Noord" is Hillegersberg-Schiebroek. A typo is
forgiven only in a long word (7+ letters), at one edit, when no other name is as close.
"""

from __future__ import annotations

__all__ = ["AREAS_FILE", "Area", "Areas", "check_areas", "fold", "from_names", "load_areas"]

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz.distance import OSA

from loketbot.content.yamlfile import Located, SyntaxProblem, read_yaml
from loketbot.errors import KnowledgeError, Problem

AREAS_FILE = "areas.yaml"
_TYPO_MIN_LENGTH = 7


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Area(_Model):
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    wijken: tuple[str, ...] = ()


class _AreaSource(_Model):
    url: str = Field(pattern=r"^https?://\S+$")
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    checked: date
    supports: tuple[str, ...] = ()


class _File(_Model):
    areas: tuple[_Area, ...]
    ambiguous: tuple[str, ...] = ()
    sources: tuple[_AreaSource, ...] = ()


@dataclass(frozen=True)
class Area:
    """One gebied: its official name, other spellings, and the wijken in it."""

    name: str
    aliases: tuple[str, ...] = ()
    wijken: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces ("IJsselmonde" -> "ijsselmonde")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9']+", plain.replace("'", "")))


@dataclass(frozen=True)
class Areas:
    """Every area, and a lookup from each known spelling (folded) to its area's name."""

    areas: tuple[Area, ...]
    ambiguous: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for area in self.areas:
            for spelling in (area.name, *area.aliases, *area.wijken):
                lookup.setdefault(fold(spelling), area.name)
        object.__setattr__(self, "names", MappingProxyType(lookup))

    @property
    def area_names(self) -> tuple[str, ...]:
        """The official area names, in file order (the buttons of an area question)."""
        return tuple(a.name for a in self.areas)

    def find(self, text: str) -> str | None:
        """The area a text names (an area, a spelling or a wijk), or None when none or unclear.

        Several different areas named in one text is unclear too: None.
        """
        words = fold(text).split()
        if not words:
            return None
        longest = max((len(k.split()) for k in self.names), default=1)
        found: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(longest, len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + size])
                if phrase in self.names:
                    found.append(self.names[phrase])
                    i += size
                    break
            else:
                i += 1
        if not found:
            found = [a for a in (self._typo(w) for w in words) if a is not None]
        distinct = set(found)
        return found[0] if len(distinct) == 1 else None

    def _typo(self, word: str) -> str | None:
        """The area of the one single-word spelling within one edit of a long `word`; two
        swapped letters count as one edit ("charlios" is Charlois)."""
        if len(word) < _TYPO_MIN_LENGTH or word in self.ambiguous:
            return None
        close = {
            area
            for name, area in self.names.items()
            if " " not in name
            and len(name) >= _TYPO_MIN_LENGTH
            and OSA.distance(word, name, score_cutoff=1) <= 1
        }
        return close.pop() if len(close) == 1 else None


def check_areas(located: Located, problems: list[Problem]) -> Areas | None:
    """Validate a parsed areas.yaml; problems are appended as file:line."""
    try:
        parsed = _File.model_validate(located.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(located.problem(loc, f"areas.yaml: {error['msg'].lower()}"))
        return None
    owner: dict[str, str] = {}
    for index, area in enumerate(parsed.areas):
        for spelling in (area.name, *area.aliases, *area.wijken):
            key = fold(spelling)
            if key in owner and owner[key] != area.name:
                problems.append(
                    located.problem(
                        ("areas", index),
                        f"{spelling!r} is listed under both {owner[key]!r} and {area.name!r}: "
                        "keep it under one area",
                    )
                )
            owner.setdefault(key, area.name)
    return Areas(
        tuple(Area(a.name, tuple(a.aliases), tuple(a.wijken)) for a in parsed.areas),
        frozenset(fold(w) for w in parsed.ambiguous),
    )


def load_areas(path: Path | str) -> Areas:
    """Load one areas.yaml file; raise KnowledgeError with every problem."""
    problems: list[Problem] = []
    try:
        located = read_yaml(Path(path))
    except SyntaxProblem as exc:
        raise KnowledgeError([exc.problem]) from None
    areas = check_areas(located, problems)
    if areas is None or problems:
        raise KnowledgeError(problems)
    return areas


def from_names(names: Iterable[str]) -> Areas:
    """Areas with only names: the fallback when a knowledge folder has no areas.yaml."""
    return Areas(tuple(Area(n) for n in names))
