"""Load flows/*.yaml into frozen, validated flows; graph and template checks as file:line."""

from __future__ import annotations

__all__ = [
    "AREAS",
    "PROFILE_FIELDS",
    "Condition",
    "Flow",
    "Item",
    "Option",
    "Step",
    "check_flow_files",
    "check_flows",
    "declared_ids",
    "load_flows",
    "read_flow_files",
]

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loketbot.content.knowledge import Source, _Source, to_source, unknown_field
from loketbot.content.yamlfile import Located, SyntaxProblem, read_yaml
from loketbot.errors import KnowledgeError, Problem
from loketbot.profile import PROFILE_COLUMNS

# Rotterdam's areas (gebieden); `type: area` questions match typed names against these.
AREAS: tuple[str, ...] = (
    "Centrum",
    "Charlois",
    "Delfshaven",
    "Feijenoord",
    "Hillegersberg-Schiebroek",
    "Hoek van Holland",
    "Hoogvliet",
    "IJsselmonde",
    "Kralingen-Crooswijk",
    "Noord",
    "Overschie",
    "Pernis",
    "Prins Alexander",
    "Rozenburg",
)
# What an initiative's profile holds (the answers of the flow with `profile: true`): a question
# that declares `from_profile: FIELD` is skipped when the chat's profile answers it. Sorted, as
# problems list them.
PROFILE_FIELDS: tuple[str, ...] = tuple(sorted(PROFILE_COLUMNS))
StepType = Literal["yesno", "choice", "number", "area", "text"]
_Report = Callable[[tuple[str | int, ...], str], None]
_Next = Callable[[str], Iterable[str]]
Scalar = str | int | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Text(_Model):
    nl: str = Field(min_length=1)
    en: str | None = Field(default=None, min_length=1)


class _Range(_Model):
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None


_Cond = dict[str, Scalar | list[Scalar] | _Range]


class _Option(_Model):
    value: str
    label: _Text
    next: str | None = None


class _Item(_Model):
    id: str | None = None
    when: _Cond = {}
    text: _Text | None = None
    why: _Text | None = None


class _Rule(_Model):
    when: _Cond = {}
    next: str


class _Step(_Model):
    ask: _Text | None = None
    say: _Text | None = None
    branch: tuple[_Rule, ...] | None = None
    result: _Text | None = None
    handoff: _Text | None = None
    type: StepType | None = None
    options: tuple[_Option, ...] = ()
    min: int | None = None
    max: int | None = None
    hint: _Text | None = None
    save: str | None = None
    from_profile: str | None = None
    profile_values: dict[str, Scalar] = {}
    set: dict[str, Scalar] = {}
    next: str | None = None
    reasons: tuple[_Item, ...] = ()
    entries: tuple[_Item, ...] = ()
    sources: tuple[_Source, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> _Step:
        kinds = [k for k in ("ask", "say", "branch", "result", "handoff") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "a step has exactly one of ask, say, branch, result or handoff"
                + (f" (this one has {', '.join(kinds)})" if kinds else "")
            )
        return self


class _Flow(_Model):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: _Text
    menu: _Text | None = None
    menu_order: int = 100
    intro: _Text | None = None
    start: str
    area_from: str | None = None
    profile: bool = False
    steps: dict[str, _Step]


@dataclass(frozen=True)
class Condition:
    """All `tests` must hold: key -> accepted values, or a numeric range (lt/lte/gt/gte)."""

    tests: tuple[tuple[str, tuple[Scalar, ...] | Mapping[str, float]], ...] = ()

    def holds(self, answers: Mapping[str, Scalar]) -> bool:
        """True when every test holds for `answers` (a missing answer fails its test)."""
        for key, accepted in self.tests:
            if key not in answers:
                return False
            value = answers[key]
            if isinstance(accepted, tuple):
                if str(value).lower() not in {str(a).lower() for a in accepted}:
                    return False
            elif not _in_range(value, accepted):
                return False
        return True

    @property
    def keys(self) -> frozenset[str]:
        """The answer keys this condition reads."""
        return frozenset(key for key, _ in self.tests)


def _in_range(value: Scalar, bounds: Mapping[str, float]) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    checks = {
        "lt": number < bounds.get("lt", float("inf")),
        "lte": number <= bounds.get("lte", float("inf")),
        "gt": number > bounds.get("gt", float("-inf")),
        "gte": number >= bounds.get("gte", float("-inf")),
    }
    return all(checks[k] for k in bounds)


@dataclass(frozen=True)
class Option:
    """A button of a choice question."""

    value: str
    label: Mapping[str, str]
    next: str | None


@dataclass(frozen=True)
class Item:
    """A conditional piece of a result: a reason (text) or a knowledge entry (id, why)."""

    when: Condition
    text: Mapping[str, str]
    entry_id: str | None = None


@dataclass(frozen=True)
class Step:
    """One validated step; `kind` is ask, say, branch, result or handoff."""

    id: str
    kind: str
    text: Mapping[str, str]
    type: str | None
    options: tuple[Option, ...]
    minimum: int | None
    maximum: int | None
    hint: Mapping[str, str]
    save: str
    sets: Mapping[str, Scalar]
    next: str | None
    rules: tuple[tuple[Condition, str], ...]
    reasons: tuple[Item, ...]
    entries: tuple[Item, ...]
    sources: tuple[Source, ...] = ()
    # The profile field this question asks: when the chat's profile has it, the step is skipped.
    from_profile: str | None = None
    # Profile value -> this question's answer, where they differ ("stichting" -> "foundation").
    profile_values: Mapping[str, Scalar] = field(default_factory=lambda: MappingProxyType({}))

    def targets(self) -> list[str]:
        """Every step this one can lead to."""
        found = [t for t in (self.next, *(o.next for o in self.options)) if t]
        return found + [target for _, target in self.rules]


@dataclass(frozen=True)
class Flow:
    """A validated flow."""

    id: str
    title: Mapping[str, str]
    menu: Mapping[str, str]
    menu_order: int
    intro: Mapping[str, str]
    start: str
    steps: Mapping[str, Step]
    source: str
    # The answer that names the initiative's area: a ticket from this flow is filed under it.
    area_from: str | None = None
    # Its answers are the initiative's profile (name, legal_form, area, theme, stage).
    profile: bool = False


def load_flows(flows_dir: Path | str, *, entry_ids: Iterable[str] | None = None) -> dict[str, Flow]:
    """Load and validate every flow; raise KnowledgeError listing all problems."""
    flows, problems = check_flows(flows_dir, entry_ids=entry_ids)
    if problems:
        raise KnowledgeError(problems)
    return flows


def check_flows(
    flows_dir: Path | str, *, entry_ids: Iterable[str] | None = None
) -> tuple[dict[str, Flow], list[Problem]]:
    """Validate `flows_dir`: the flows that loaded and every problem found.

    `entry_ids` are the knowledge ids results may point to; None skips that check.
    """
    files, problems = read_flow_files(flows_dir)
    flows, found = check_flow_files(files, entry_ids=entry_ids)
    return flows, problems + found


def read_flow_files(flows_dir: Path | str) -> tuple[list[Located], list[Problem]]:
    """Read every flows/*.yaml once: the files that parsed, and a problem for each that did not."""
    root = Path(flows_dir)
    files: list[Located] = []
    problems: list[Problem] = []
    if root.is_dir():
        for path in sorted(root.glob("*.yaml")):
            try:
                files.append(read_yaml(path))
            except SyntaxProblem as exc:
                problems.append(exc.problem)
    return files, problems


def declared_ids(files: Iterable[Located]) -> frozenset[str]:
    """The flow ids the files declare (a top-level `id`), valid or not: what entries may name."""
    return frozenset(
        f.data["id"]
        for f in files
        if isinstance(f.data, dict) and isinstance(f.data.get("id"), str)
    )


def check_flow_files(
    files: Iterable[Located], *, entry_ids: Iterable[str] | None = None
) -> tuple[dict[str, Flow], list[Problem]]:
    """Validate flow files already read: the flows that loaded and every problem found."""
    flows: dict[str, Flow] = {}
    sources: dict[str, Located] = {}
    problems: list[Problem] = []
    known_entries = None if entry_ids is None else frozenset(entry_ids)
    for located in files:
        flow = _parse(located, problems)
        if flow is None:
            continue
        if flow.id in flows:
            first = flows[flow.id].source
            message = f"duplicate flow id {flow.id!r} (also in {first})"
            problems.append(located.problem(("id",), message))
            continue
        before = len(problems)
        _check_graph(flow, located, problems, known_entries)
        if len(problems) == before:
            flows[flow.id] = flow
            sources[flow.id] = located
    for broken in _check_profile_values(flows, sources, problems):
        del flows[broken]
    return flows, problems


def _texts(text: _Text | None) -> Mapping[str, str]:
    if text is None:
        return MappingProxyType({})
    return MappingProxyType({k: v for k, v in (("nl", text.nl), ("en", text.en)) if v})


def _condition(raw: _Cond) -> Condition:
    tests: list[tuple[str, tuple[Scalar, ...] | Mapping[str, float]]] = []
    for key, accepted in raw.items():
        if isinstance(accepted, _Range):
            bounds = {k: v for k, v in accepted.model_dump().items() if v is not None}
            tests.append((key, MappingProxyType(bounds)))
        elif isinstance(accepted, list):
            tests.append((key, tuple(_yes_no(a) for a in accepted)))
        else:
            tests.append((key, (_yes_no(accepted),)))
    return Condition(tuple(tests))


def _yes_no(value: Scalar) -> Scalar:
    """YAML reads `yes`/`no` as booleans; answers store them as "yes"/"no"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _parse(located: Located, problems: list[Problem]) -> Flow | None:
    data = located.data
    if not isinstance(data, dict):
        message = "a flow file is a mapping with id, title, start and steps"
        problems.append(located.problem((), message))
        return None
    try:
        raw = _Flow.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(str(p) if not isinstance(p, int) else p for p in error["loc"])
            names = [p for p in loc if isinstance(p, str)]
            name = names[-1] if names else "flow"
            if error["type"] == "missing":
                message = f"missing field {name!r}: add it"
            elif error["type"] == "extra_forbidden":
                message = unknown_field(name)
            else:
                message = f"{name!r}: {error['msg'].removeprefix('Value error, ')}"
            problems.append(located.problem(loc, message))
        return None
    steps = {}
    for step_id, step in raw.steps.items():
        kind = next(k for k in ("ask", "say", "branch", "result", "handoff") if getattr(step, k))
        text_field = getattr(step, kind) if kind != "branch" else None
        steps[step_id] = Step(
            id=step_id,
            kind=kind,
            text=_texts(text_field),
            type=step.type or ("text" if kind == "ask" else None),
            options=tuple(Option(o.value, _texts(o.label), o.next) for o in step.options),
            minimum=step.min,
            maximum=step.max,
            hint=_texts(step.hint),
            save=step.save or step_id,
            sets=MappingProxyType({k: _yes_no(v) for k, v in step.set.items()}),
            next=step.next,
            rules=tuple((_condition(r.when), r.next) for r in step.branch or ()),
            reasons=tuple(
                Item(_condition(i.when), _texts(i.text or i.why), i.id) for i in step.reasons
            ),
            entries=tuple(Item(_condition(i.when), _texts(i.why), i.id) for i in step.entries),
            sources=tuple(to_source(s) for s in step.sources),
            from_profile=step.from_profile,
            profile_values=MappingProxyType(
                {k: _yes_no(v) for k, v in step.profile_values.items()}
            ),
        )
    return Flow(
        id=raw.id,
        title=_texts(raw.title),
        menu=_texts(raw.menu),
        menu_order=raw.menu_order,
        intro=_texts(raw.intro),
        start=raw.start,
        steps=MappingProxyType(steps),
        source=located.file,
        area_from=raw.area_from,
        profile=raw.profile,
    )


def _check_graph(
    flow: Flow, located: Located, problems: list[Problem], entry_ids: frozenset[str] | None
) -> None:
    def problem(path: tuple[str | int, ...], message: str) -> None:
        problems.append(located.problem(path, message))

    steps = flow.steps
    if flow.start not in steps:
        problem(("start",), f"start step {flow.start!r} does not exist: name one of the steps")
        return
    for step in steps.values():
        base: tuple[str | int, ...] = ("steps", step.id)
        _check_step(flow, step, base, problem, entry_ids)
    areas = {s.save for s in steps.values() if s.kind == "ask" and s.type == "area"}
    if flow.area_from is not None and flow.area_from not in areas:
        message = (
            f"area_from {flow.area_from!r} is no answer of an area question: "
            f"name a step of type area ({', '.join(sorted(areas)) or 'this flow has none'})"
        )
        problem(("area_from",), message)
    # Reachability from the start, and a way to an end from every step.
    reachable = _reach(flow.start, lambda s: steps[s].targets() if s in steps else [])
    for step_id in steps:
        if step_id not in reachable:
            problem(("steps", step_id), f"step {step_id!r} cannot be reached from {flow.start!r}")
    ends = {s for s, step in steps.items() if step.kind in ("result", "handoff")}
    parents: dict[str, list[str]] = {s: [] for s in steps}
    for step in steps.values():
        for target in step.targets():
            if target in parents:
                parents[target].append(step.id)
    can_end = _reach_all(ends, lambda s: parents.get(s, []))
    for step_id in steps:
        if step_id in reachable and step_id not in can_end:
            problem(("steps", step_id), f"step {step_id!r} has no way to a result or handoff")
    _check_templates(flow, reachable, problem)


def _check_step(
    flow: Flow,
    step: Step,
    base: tuple[str | int, ...],
    problem: _Report,
    entry_ids: frozenset[str] | None,
) -> None:
    texts = [((*base, step.kind), step.text)] if step.kind != "branch" else []
    texts += [((*base, "options", i, "label"), o.label) for i, o in enumerate(step.options)]
    if step.hint:
        texts.append(((*base, "hint"), step.hint))
    texts += [((*base, "reasons", i), r.text) for i, r in enumerate(step.reasons) if r.text]
    for path, text in texts:
        if "en" not in text:
            problem(path, "missing translation: add en next to nl")
    for target_path, target in _targets_with_paths(step, base):
        if target not in flow.steps:
            problem(target_path, f"unknown step {target!r}: use one of the step ids in this flow")
    if step.kind == "ask":
        if step.type == "choice" and not step.options:
            problem((*base, "options"), "a choice question needs options")
        for i, option in enumerate(step.options):
            if option.next is None and step.next is None:
                problem(
                    (*base, "options", i),
                    f"button {option.value!r} has no target: give it next: or give the step next:",
                )
        if not step.options and step.next is None:
            problem(base, f"question {step.id!r} has no next: step")
    _check_profile_step(flow, step, base, problem)
    if step.kind == "say" and step.next is None:
        problem(base, f"step {step.id!r} says something but has no next: step")
    if step.kind == "branch" and step.rules and step.rules[-1][0].tests:
        problem((*base, "branch"), "the last branch rule needs no when: (it is the otherwise)")
    for i, item in enumerate(step.entries):
        if item.entry_id is None:
            problem((*base, "entries", i), "an entry item needs id: (a knowledge entry id)")
        elif entry_ids is not None and item.entry_id not in entry_ids:
            problem(
                (*base, "entries", i),
                f"unknown knowledge entry {item.entry_id!r}: use an id from knowledge/",
            )
        if item.text and "en" not in item.text:
            problem((*base, "entries", i), "missing translation: add en next to nl")


def _check_profile_step(
    flow: Flow, step: Step, base: tuple[str | int, ...], problem: _Report
) -> None:
    """`from_profile:` names a profile field, on a question that can take its value, and
    `profile_values:` maps profile values to answers the question has."""
    name = step.from_profile
    if name is None:
        if step.profile_values:
            problem(
                (*base, "profile_values"),
                "profile_values: needs from_profile: (the profile field it reads)",
            )
        return
    path = (*base, "from_profile")
    if name not in PROFILE_FIELDS:
        problem(path, f"unknown profile field {name!r}: use one of {', '.join(PROFILE_FIELDS)}")
        return
    if step.kind != "ask":
        problem(path, "only a question (ask:) can take its answer from the profile")
    elif flow.profile:
        problem(path, "the profile flow asks the profile itself: remove from_profile")
    elif step.type == "number":
        problem(path, "a number question cannot take its answer from the profile")
    elif step.type == "area" and name != "area":
        problem(path, f"an area question reads the profile's area, not {name!r}")
    elif step.type == "yesno" and not step.profile_values:
        problem(
            path,
            "a yesno question needs profile_values: which profile values mean yes or no",
        )
    answers: frozenset[str] | None = None
    if step.type == "yesno":
        answers = frozenset({"yes", "no"})
    elif step.type == "choice":
        answers = frozenset(o.value for o in step.options)
    elif step.type == "area":
        answers = frozenset(AREAS)
    for value, answer in step.profile_values.items():
        if answers is not None and str(answer) not in answers:
            problem(
                (*base, "profile_values", value),
                f"profile value {value!r} maps to {answer!r}, which is no answer of this "
                f"question: use one of {', '.join(sorted(answers))}",
            )


def _check_profile_values(
    flows: Mapping[str, Flow], located: Mapping[str, Located], problems: list[Problem]
) -> set[str]:
    """`profile_values:` may only name values the profile flow can give (a typo would never
    match); the ids of the flows with such a problem."""
    profile = next((f for f in flows.values() if f.profile), None)
    if profile is None:
        return set()
    answers = {
        s.save: {o.value for o in s.options}
        for s in profile.steps.values()
        if s.kind == "ask" and s.type == "choice"
    }
    broken: set[str] = set()
    for flow in flows.values():
        for step in flow.steps.values():
            known = answers.get(step.from_profile or "")
            if known is None:
                continue
            for value in step.profile_values:
                if value in known:
                    continue
                message = (
                    f"profile value {value!r} is no answer of {profile.id}'s "
                    f"{step.from_profile} question: use one of {', '.join(sorted(known))}"
                )
                path = ("steps", step.id, "profile_values", value)
                problems.append(located[flow.id].problem(path, message))
                broken.add(flow.id)
    return broken


def _targets_with_paths(
    step: Step, base: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    if step.next:
        found.append(((*base, "next"), step.next))
    found += [((*base, "options", i), o.next) for i, o in enumerate(step.options) if o.next]
    found += [((*base, "branch", i), target) for i, (_, target) in enumerate(step.rules)]
    return found


def _reach(start: str, following: _Next) -> set[str]:
    return _reach_all({start}, following)


def _reach_all(starts: set[str], following: _Next) -> set[str]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for nxt in following(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _check_templates(flow: Flow, reachable: set[str], problem: _Report) -> None:
    """A template may only use answers collected on every path that reaches it."""
    steps = flow.steps
    universe = frozenset(
        key
        for s in steps.values()
        for key in ({s.save} if s.kind == "ask" else set()) | set(s.sets)
    )
    collected: dict[str, frozenset[str]] = {s: universe for s in steps}
    collected[flow.start] = frozenset()
    changed = True
    while changed:  # must-analysis: intersect what each predecessor guarantees
        changed = False
        for step in steps.values():
            if step.id not in reachable:
                continue
            out = collected[step.id] | set(step.sets)
            if step.kind == "ask":
                out |= {step.save}
            for target in step.targets():
                if target not in steps:
                    continue
                new = collected[target] & out if target != flow.start else frozenset()
                if new != collected[target]:
                    collected[target] = new
                    changed = True
    for step in steps.values():
        if step.id not in reachable:
            continue
        have = collected[step.id] | set(step.sets)
        pieces: list[tuple[tuple[str | int, ...], Mapping[str, str]]]
        pieces = [(("steps", step.id, step.kind), step.text)]
        pieces += [(("steps", step.id, "reasons", i), r.text) for i, r in enumerate(step.reasons)]
        pieces += [(("steps", step.id, "entries", i), e.text) for i, e in enumerate(step.entries)]
        for path, texts in pieces:
            for lang, text in texts.items():
                names = _placeholders(text)
                if names is None:
                    problem(path, f"template ({lang}) has a lone {{ or }}: write {{{{ or }}}}")
                    continue
                for name in names:
                    if name not in have:
                        problem(
                            path,
                            f"template uses {{{name}}} ({lang}), which is not answered on every "
                            f"path to step {step.id!r}",
                        )


def _placeholders(text: str) -> set[str] | None:
    """The {names} a template uses; None when its braces do not pair up."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return None
