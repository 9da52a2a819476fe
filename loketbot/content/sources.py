"""Content warnings for `kb check`: sources, their age, home-page-only links, readability.

These do not stop the bot from loading (an old source is still a source); `kb check` prints them
as warnings, and `kb check --strict` turns them into errors for CI and releases.
"""

from __future__ import annotations

__all__ = ["MAX_SOURCE_AGE_DAYS", "UNSOURCED_KINDS", "content_warnings", "is_home_page"]

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from loketbot.content.flowfile import Flow
from loketbot.content.knowledge import Entry, Source
from loketbot.content.readability import B1_MIN_SCORE, measure
from loketbot.content.yamlfile import Located, SyntaxProblem, read_yaml
from loketbot.errors import Problem

MAX_SOURCE_AGE_DAYS = 365
_At = Callable[[tuple[str | int, ...], str], None]
# System entries talk about the bot itself, out-of-scope anchors only route: nothing to source.
UNSOURCED_KINDS = frozenset({"system", "out_of_scope"})


def is_home_page(url: str) -> bool:
    """True when `url` is a site's front page (no path, or just "/")."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def content_warnings(
    entries: Iterable[Entry], flows: Mapping[str, Flow], *, today: date | None = None
) -> list[Problem]:
    """Every warning about the knowledge `entries` and the validated `flows`, as file:line.

    Files are read again only to put a line number on a warning: a clean set reads nothing."""
    today = today or date.today()
    oldest = today - timedelta(days=MAX_SOURCE_AGE_DAYS)
    warnings: list[Problem] = []
    files: dict[str, Located | None] = {}
    for entry in entries:
        at: _At = partial(_report, warnings, files, entry.source, entry.id)
        base: tuple[str | int, ...] = ()
        if entry.kind not in UNSOURCED_KINDS and not entry.sources:
            at(
                base,
                f"entry {entry.id!r} has no sources: add the public page(s) that back its answer",
            )
        _check_sources(entry.sources, (*base, "sources"), oldest, at)
        if entry.links and all(is_home_page(link.url) for link in entry.links):
            at(
                (*base, "links"),
                f"entry {entry.id!r} links only to home pages: link the page a person needs "
                "for the next step (the form, the rule page)",
            )
        text = entry.answer.get("nl")
        if text and entry.kind not in UNSOURCED_KINDS:
            found = measure(text)
            if found.score < B1_MIN_SCORE:
                at(
                    (*base, "answer", "nl"),
                    f"entry {entry.id!r}: Dutch answer reads above B1 (Flesch-Douma "
                    f"{found.score:.0f}, B1 from {B1_MIN_SCORE:.0f}; "
                    f"{found.words_per_sentence:.1f} words a sentence, "
                    f"{found.syllables_per_100_words:.0f} syllables per 100 words): "
                    "shorter sentences, shorter words",
                )
    warnings += _flow_warnings(flows, oldest, files)
    return sorted(warnings)


def _check_sources(
    sources: Iterable[Source],
    path: tuple[str | int, ...],
    oldest: date,
    at: _At,
) -> None:
    for i, source in enumerate(sources):
        if source.checked < oldest:
            at(
                (*path, i, "checked"),
                f"source {source.url} was last checked on {source.checked.isoformat()}, more "
                f"than {MAX_SOURCE_AGE_DAYS} days ago: read it again and update checked:",
            )
        if is_home_page(source.url):
            at((*path, i, "url"), f"source {source.url} is a home page: name the specific page")


def _flow_warnings(
    flows: Mapping[str, Flow], oldest: date, files: dict[str, Located | None]
) -> list[Problem]:
    warnings: list[Problem] = []
    for flow in flows.values():
        for step in flow.steps.values():
            if step.kind != "result":
                continue
            base: tuple[str | int, ...] = ("steps", step.id)
            at: _At = partial(_report, warnings, files, flow.source, None)
            # A profile flow's result repeats the person's answers: it states no rules.
            if not step.sources and not flow.profile:
                at(
                    (*base, "result"),
                    f"result {step.id!r} of flow {flow.id!r} has no sources: add the public "
                    "page(s) behind the rules it states",
                )
            _check_sources(step.sources, (*base, "sources"), oldest, at)
    return warnings


def _report(
    warnings: list[Problem],
    files: dict[str, Located | None],
    file: str,
    entry_id: str | None,
    path: tuple[str | int, ...],
    message: str,
) -> None:
    """A warning at `path` (inside entry `entry_id`, when given) of `file`, read for its lines."""
    located = _located(files, file)
    if entry_id is not None:
        index = _index_of(located, entry_id)
        path = ("entries", index, *path) if index is not None else ()
    if located is None:
        warnings.append(Problem(file, 1, message))
    else:
        warnings.append(located.problem(path, message))


def _located(cache: dict[str, Located | None], file: str) -> Located | None:
    if file not in cache:
        try:
            cache[file] = read_yaml(Path(file))
        except (OSError, SyntaxProblem):
            cache[file] = None
    return cache[file]


def _index_of(located: Located | None, entry_id: str) -> int | None:
    if located is None or not isinstance(located.data, dict):
        return None
    for i, raw in enumerate(located.data.get("entries") or ()):
        if isinstance(raw, dict) and raw.get("id") == entry_id:
            return i
    return None
