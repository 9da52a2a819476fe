"""Load knowledge/*.yaml into frozen, validated entries; every problem is reported as file:line."""

from __future__ import annotations

__all__ = [
    "KINDS",
    "LANGS",
    "Entry",
    "Knowledge",
    "Link",
    "Source",
    "check",
    "load_knowledge",
    "unknown_field",
]

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loketbot.content.areas import AREAS_FILE, Areas, check_areas
from loketbot.content.yamlfile import Located, SyntaxProblem, read_file, read_yaml
from loketbot.errors import KnowledgeError, Problem

LANGS: tuple[str, ...] = ("nl", "en")
Kind = Literal[
    "legal_form",
    "permit",
    "subsidy",
    "procurement",
    "department",
    "topic",
    "system",
    "out_of_scope",
]
KINDS: tuple[str, ...] = get_args(Kind)
SYNONYMS_FILE = "synonyms.yaml"
MIN_EXAMPLES = {"nl": 8, "en": 3}
# Kinds that are no answer of their own: anchors that tell the matcher "send this to a human".
ANCHOR_KINDS = frozenset({"out_of_scope"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class _Text(_Model):
    nl: str = Field(min_length=1)
    en: str | None = Field(default=None, min_length=1)


class _Phrases(_Model):
    nl: tuple[str, ...] = ()
    en: tuple[str, ...] = ()


class _Link(_Model):
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class _Source(_Model):
    """Where a claim comes from: the specific page, who publishes it, when an editor checked it."""

    url: str = Field(pattern=r"^https?://\S+$")
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    checked: date
    supports: tuple[str, ...] = ()


class _Entry(_Model):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    kind: Kind
    title: _Text
    keywords: _Phrases = _Phrases()
    examples: _Phrases
    answer: _Text | None = None
    links: tuple[_Link, ...] = ()
    department: str | None = None
    flow: str | None = None
    reviewed: date
    reviewed_by: str | None = Field(default=None, min_length=1, max_length=100)
    sources: tuple[_Source, ...] = ()
    groups_ask_too: bool = False


class _File(_Model):
    entries: tuple[_Entry, ...]


@dataclass(frozen=True)
class Link:
    """A link to an official source."""

    title: str
    url: str


@dataclass(frozen=True)
class Source:
    """A public page that backs claims of an answer; `checked` is when an editor last read it."""

    url: str
    title: str
    publisher: str
    checked: date
    supports: tuple[str, ...] = ()


def to_source(raw: _Source) -> Source:
    """The frozen Source for a validated `sources:` item (flows reuse it)."""
    return Source(raw.url, raw.title, raw.publisher, raw.checked, tuple(raw.supports))


@dataclass(frozen=True)
class Entry:
    """One validated knowledge entry; texts are keyed by language code."""

    id: str
    kind: str
    title: Mapping[str, str]
    examples: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, tuple[str, ...]]
    answer: Mapping[str, str]
    links: tuple[Link, ...]
    department: str | None
    flow: str | None
    reviewed: date
    source: str
    sources: tuple[Source, ...] = ()
    reviewed_by: str | None = None  # who checked it against its sources on `reviewed`
    # An out-of-scope matter a group asks about as often as one person ("onze VvE", the status
    # of our application): the anchor keeps its place when a question says "wij" or "ons".
    groups_ask_too: bool = False

    @property
    def is_anchor(self) -> bool:
        """True for out-of-scope anchors: matching one means "hand this to a human"."""
        return self.kind in ANCHOR_KINDS

    @property
    def is_system(self) -> bool:
        """True for the bot's own entries: greetings, thanks, help, asking for a person."""
        return self.kind == "system"

    @property
    def is_topic(self) -> bool:
        """True for entries that answer an initiative's question: not an anchor or system."""
        return not self.is_anchor and not self.is_system

    def text(self, field_: Mapping[str, str], lang: str) -> str:
        """The text in `lang`, falling back to Dutch."""
        return field_.get(lang) or field_["nl"]


@dataclass(frozen=True)
class Knowledge:
    """The whole validated knowledge set: swapped as one object on reload."""

    entries: tuple[Entry, ...]
    synonyms: Mapping[str, tuple[str, ...]]
    version: str
    areas: Areas | None = None  # knowledge/areas.yaml, when the folder has one
    by_id: Mapping[str, Entry] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({e.id: e for e in self.entries}))

    def answerable(self) -> tuple[Entry, ...]:
        """Entries that answer something (not out-of-scope anchors)."""
        return tuple(e for e in self.entries if not e.is_anchor)


def normalise_example(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used to spot repeated examples."""
    if text.isascii():  # nothing to decompose: the common case
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", folded))


def load_knowledge(knowledge_dir: Path | str, *, flows: Iterable[str] | None = None) -> Knowledge:
    """Load and validate every file in `knowledge_dir`; raise KnowledgeError listing all problems.

    `flows` are the known flow ids; when None, `flow:` references are not checked.
    """
    knowledge, problems = check(knowledge_dir, flows=flows)
    if problems or knowledge is None:
        raise KnowledgeError(problems)
    return knowledge


def check(
    knowledge_dir: Path | str, *, flows: Iterable[str] | None = None
) -> tuple[Knowledge | None, list[Problem]]:
    """Validate `knowledge_dir`: the Knowledge (None when unusable) and every problem found."""
    root = Path(knowledge_dir)
    if not root.is_dir():
        return None, [Problem(str(root), 1, "knowledge folder not found: pass --knowledge DIR")]
    problems: list[Problem] = []
    entries: list[tuple[Entry, Located, tuple[str | int, ...]]] = []
    synonyms: dict[str, tuple[str, ...]] = {}
    areas: Areas | None = None
    digest = hashlib.sha256()
    paths = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml"))
    if not paths:
        problems.append(Problem(str(root), 1, "no *.yaml files: the knowledge base is empty"))
    for path in paths:
        try:
            raw = read_file(path)
            digest.update(path.name.encode() + raw)
            located = read_yaml(path, raw=raw)
        except SyntaxProblem as exc:
            problems.append(exc.problem)
            continue
        if path.name == SYNONYMS_FILE:
            synonyms = _synonyms(located, problems)
        elif path.name == AREAS_FILE:
            areas = check_areas(located, problems)
        else:
            entries.extend(_entries(located, problems))
    _cross_check(entries, problems, None if flows is None else frozenset(flows))
    if problems:
        return None, problems
    knowledge = Knowledge(
        entries=tuple(e for e, _, _ in entries),
        synonyms=MappingProxyType(synonyms),
        version=digest.hexdigest()[:12],
        areas=areas,
    )
    return knowledge, []


def _entries(
    located: Located, problems: list[Problem]
) -> list[tuple[Entry, Located, tuple[str | int, ...]]]:
    data = located.data
    if not isinstance(data, dict) or "entries" not in data:
        problems.append(
            located.problem((), "expected a top-level 'entries:' list of knowledge entries")
        )
        return []
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(located, exc))
        return []
    result: list[tuple[Entry, Located, tuple[str | int, ...]]] = []
    for index, raw in enumerate(parsed.entries):
        entry = Entry(
            id=raw.id,
            kind=raw.kind,
            title=_text_map(raw.title),
            examples=MappingProxyType({lang: tuple(getattr(raw.examples, lang)) for lang in LANGS}),
            keywords=MappingProxyType({lang: tuple(getattr(raw.keywords, lang)) for lang in LANGS}),
            answer=_text_map(raw.answer) if raw.answer else MappingProxyType({}),
            links=tuple(Link(link.title, link.url) for link in raw.links),
            department=raw.department,
            flow=raw.flow,
            reviewed=raw.reviewed,
            source=located.file,
            sources=tuple(to_source(s) for s in raw.sources),
            reviewed_by=raw.reviewed_by,
            groups_ask_too=raw.groups_ask_too,
        )
        result.append((entry, located, ("entries", index)))
    return result


def _text_map(text: _Text) -> Mapping[str, str]:
    return MappingProxyType({k: v for k, v in (("nl", text.nl), ("en", text.en)) if v})


_FRIENDLY = {
    "missing": "missing field {name!r}: add it",
    "literal_error": "{name!r} must be one of: " + ", ".join(KINDS),
    "string_pattern_mismatch": "{name!r} has the wrong form: {msg}",
    "date_from_datetime_parsing": "{name!r} must be a date like 2026-11-23",
    "date_parsing": "{name!r} must be a date like 2026-11-23",
    "date_type": "{name!r} must be a date like 2026-11-23",
}


def _pydantic_problems(located: Located, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        names = [part for part in loc if isinstance(part, str)]
        name = names[-1] if names else "entry"
        if name == "id" and error["type"] == "string_pattern_mismatch":
            message = "id must be kebab-case, like 'permit-event'"
        elif name == "url" and error["type"] == "string_pattern_mismatch":
            message = "url must start with https:// (or http://)"
        elif error["type"] == "extra_forbidden":
            message = unknown_field(name)
        else:
            template = _FRIENDLY.get(error["type"], "{name!r}: {msg}")
            message = template.format(name=name, msg=error["msg"].lower())
        problems.append(located.problem(loc, message))
    return problems


def unknown_field(name: str) -> str:
    """The message for an unknown field; spaces in it mean a comma split an unquoted value."""
    if " " in name:
        return (
            f"unknown field {name!r}: a comma inside an unquoted {{...}} value splits it; "
            'put the text in quotes, like {nl: "a, b"}'
        )
    return f"unknown field {name!r}: remove it or check its spelling"


def _cross_check(
    entries: list[tuple[Entry, Located, tuple[str | int, ...]]],
    problems: list[Problem],
    flows: frozenset[str] | None,
) -> None:
    seen_ids: dict[str, Problem] = {}
    seen_examples: dict[str, tuple[str, Problem]] = {}
    departments = {e.id for e, _, _ in entries if e.kind == "department"}
    for entry, located, path in entries:
        here = located.problem(path, "")
        if entry.id in seen_ids:
            first = seen_ids[entry.id]
            problems.append(
                located.problem(
                    (*path, "id"),
                    f"duplicate id {entry.id!r}, first defined at {first.file}:{first.line}: "
                    "ids must be unique across all files",
                )
            )
        else:
            seen_ids[entry.id] = here
        declared = set(entry.title)
        for lang in declared:
            if not entry.examples[lang]:
                problems.append(
                    located.problem(
                        (*path, "examples"),
                        f"entry {entry.id!r} has no {lang} examples: add at least "
                        f"{MIN_EXAMPLES[lang]}",
                    )
                )
            elif len(entry.examples[lang]) < MIN_EXAMPLES[lang]:
                problems.append(
                    located.problem(
                        (*path, "examples", lang),
                        f"entry {entry.id!r} has {len(entry.examples[lang])} {lang} examples: "
                        f"add at least {MIN_EXAMPLES[lang]}",
                    )
                )
            if not entry.is_anchor and lang not in entry.answer:
                problems.append(
                    located.problem(
                        (*path, "answer"),
                        f"entry {entry.id!r} declares a {lang} title but has no {lang} answer: "
                        "add the translation",
                    )
                )
        for lang in LANGS:
            has_text = bool(entry.examples[lang]) or lang in entry.answer
            if has_text and lang not in declared:
                problems.append(
                    located.problem(
                        (*path, "title"),
                        f"entry {entry.id!r} has {lang} text but no {lang} title: add title.{lang}",
                    )
                )
        if not entry.is_anchor and not entry.answer:
            problems.append(
                located.problem(path, f"entry {entry.id!r} has no 'answer': add answer.nl")
            )
        if entry.department is not None and entry.department not in departments:
            problems.append(
                located.problem(
                    (*path, "department"),
                    f"unknown department {entry.department!r}: use the id of an entry "
                    "with kind: department (see departments.yaml)",
                )
            )
        if entry.groups_ask_too and not entry.is_anchor:
            problems.append(
                located.problem(
                    (*path, "groups_ask_too"),
                    f"'groups_ask_too' is for out_of_scope entries, not {entry.kind!r}: "
                    "remove it here",
                )
            )
        if entry.flow is not None and flows is not None and entry.flow not in flows:
            problems.append(
                located.problem(
                    (*path, "flow"),
                    f"unknown flow {entry.flow!r}: no flows/*.yaml has this id",
                )
            )
        for lang in LANGS:
            for index, example in enumerate(entry.examples[lang]):
                key = normalise_example(example)
                where = located.problem((*path, "examples", lang, index), "")
                if not key:
                    problems.append(
                        located.problem(
                            (*path, "examples", lang, index),
                            "empty example: write what a person would type",
                        )
                    )
                    continue
                owner = seen_examples.get(key)
                if owner is None:
                    seen_examples[key] = (entry.id, where)
                elif owner[0] == entry.id:
                    problems.append(
                        located.problem(
                            (*path, "examples", lang, index),
                            f"example {example!r} is repeated in {entry.id!r} "
                            f"(also at line {owner[1].line}): remove one",
                        )
                    )
                else:
                    problems.append(
                        located.problem(
                            (*path, "examples", lang, index),
                            f"example {example!r} is also under {owner[0]!r} at "
                            f"{owner[1].file}:{owner[1].line}: keep it in one entry only",
                        )
                    )


def _synonyms(located: Located, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    data = located.data
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(located.problem((), "synonyms.yaml must map a word to a list of variants"))
        return {}
    result: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for canonical, variants in data.items():
        path: tuple[str | int, ...] = (str(canonical),)
        if (
            not isinstance(canonical, str)
            or not isinstance(variants, list)
            or not all(isinstance(v, str) and v.strip() for v in variants)
        ):
            problems.append(
                located.problem(path, f"{canonical!r}: expected a list of words, like [a, b]")
            )
            continue
        for index, variant in enumerate(variants):
            key = normalise_example(variant)
            if key in owner and owner[key] != canonical:
                problems.append(
                    located.problem(
                        (*path, index),
                        f"variant {variant!r} is listed under both {owner[key]!r} and "
                        f"{canonical!r}: keep it under one",
                    )
                )
            owner[key] = str(canonical)
        result[normalise_example(canonical)] = tuple(normalise_example(v) for v in variants)
    return result
