"""Editor pages: what the bot did not know, adding examples and entries, the list of entries."""

from __future__ import annotations

__all__ = ["setup"]

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from loketbot.content.edit import KIND_FILES, NewEntry, add_entry, add_examples, mark_reviewed
from loketbot.content.knowledge import KINDS, LANGS, Entry, Knowledge, Source
from loketbot.errors import Problem, StoreError
from loketbot.store.insight import unknown_questions
from loketbot.store.models import utcnow
from loketbot.store.suggestions import mark_suggestion, suggestions
from loketbot.understanding.grouping import Group, group_questions
from loketbot.understanding.language import guesser_for
from loketbot.web.auth import check_csrf, flash, id_or_404, page_context, parse_id, require
from loketbot.web.context import CONSOLE, Console

log = logging.getLogger(__name__)

DAYS = 30
MAX_GROUPS = 40
SAMPLES = 5
STALE_AFTER = timedelta(days=365)  # "te oud": the facts have not been checked for a year

# Edits and the reload after them run one at a time, in a worker thread (file I/O, indexing).
EDIT_LOCK: web.AppKey[asyncio.Lock] = web.AppKey("editor_lock")

KIND_NAMES = {
    "legal_form": "Rechtsvorm",
    "permit": "Vergunning",
    "subsidy": "Subsidie",
    "procurement": "Inkoop",
    "department": "Afdeling",
    "topic": "Onderwerp",
    "system": "Systeem",
    "out_of_scope": "Buiten de bot",
}


def setup(app: web.Application) -> None:
    """Add the editor routes."""
    app[EDIT_LOCK] = asyncio.Lock()
    app.router.add_get("/editor", unknown, name="editor")
    app.router.add_post("/editor/examples", post_examples)
    app.router.add_get("/editor/entries", entries, name="editor_entries")
    app.router.add_post("/editor/entries/{id:[a-z0-9-]{1,100}}/reviewed", post_reviewed)
    app.router.add_get("/editor/entries/new", new_entry_form)
    app.router.add_post("/editor/entries/new", post_new_entry)
    app.router.add_post("/editor/suggestions/{id:[0-9]{1,10}}/dismiss", dismiss_suggestion)
    app.router.add_post("/editor/reload", post_reload)


@dataclass(frozen=True)
class EntryRow:
    """One line of the entries list."""

    id: str
    kind: str
    title: str
    examples: int
    reviewed: date
    stale: bool
    source: str
    reviewed_by: str
    sources: tuple[Source, ...]


def _knowledge(console: Console) -> Knowledge:
    return console.reloader.content.knowledge


def _choices(knowledge: Knowledge) -> list[tuple[str, str]]:
    """(id, "title (id)") of every entry, for the select; anchors too (out-of-scope questions)."""
    rows = [(e.id, f"{e.title['nl']} ({e.id})") for e in knowledge.entries]
    return sorted(rows, key=lambda row: row[1].casefold())


async def unknown(request: web.Request) -> web.Response:
    """Grouped questions of the last 30 days that ended in a handoff or a guess; suggestions."""
    user = await require(request, "editor")
    console = request.app[CONSOLE]
    questions = await unknown_questions(console.store, since=utcnow() - timedelta(days=DAYS))
    groups = group_questions([(q.text, q.intent) for q in questions])
    return await _render_unknown(request, user, groups, problems=[])


async def _render_unknown(
    request: web.Request,
    user: Any,
    groups: list[Group],
    *,
    problems: list[Problem],
    status: int = 200,
) -> web.Response:
    console = request.app[CONSOLE]
    knowledge = _knowledge(console)
    context = await page_context(request, user)
    # The language the questions are written in, so English ones become English examples.
    guesser = guesser_for(
        {lang: [t for e in knowledge.entries for t in e.examples[lang]] for lang in LANGS}
    )
    shown = groups[:MAX_GROUPS]
    langs = [guesser.guess(" ".join(g.texts[:SAMPLES]))[0] for g in shown]
    context.update(
        langs=langs,
        groups=shown,
        hidden_groups=max(0, len(groups) - MAX_GROUPS),
        samples=SAMPLES,
        days=DAYS,
        choices=_choices(knowledge),
        suggestions=await suggestions(console.store),
        problems=problems,
    )
    return aiohttp_jinja2.render_template("editor_unknown.html", request, context, status=status)


async def post_examples(request: web.Request) -> web.Response:
    """Add the chosen questions as examples of an existing entry, then reload the bot."""
    user = await require(request, "editor")
    form = await check_csrf(request)
    texts = [t for t in (await request.post()).getall("question", []) if isinstance(t, str)]
    entry_id = form.get("entry", "")
    lang = form.get("lang", "nl")
    console = request.app[CONSOLE]
    if lang not in LANGS:
        raise web.HTTPBadRequest(text="onbekende taal")
    if entry_id not in _knowledge(console).by_id:
        problems = [Problem("", 0, "Kies een bestaand item uit de lijst.")]
    elif not any(t.strip() for t in texts):
        problems = [Problem("", 0, "Kies minstens één vraag om toe te voegen.")]
    else:
        reloader = console.reloader
        async with request.app[EDIT_LOCK]:
            problems = await asyncio.to_thread(
                add_examples,
                reloader.knowledge_dir,
                entry_id,
                lang,
                texts,
                flows_dir=reloader.flows_dir,
            )
            if not problems:
                problems = await asyncio.to_thread(reloader.reload)
    if problems:
        # %r: the id comes from the form, and a raw newline in it would forge a log line.
        log.info("editor %s: adding examples to %r refused", user.name, entry_id[:100])
        return await _refused(request, user, problems)
    log.info("editor %s added %d example(s) to %s", user.name, len(texts), entry_id)
    await flash(
        request,
        f"{len(texts)} vraag/vragen toegevoegd als voorbeeld bij {entry_id}. "
        "De bot gebruikt ze nu.",
    )
    raise web.HTTPSeeOther("/editor")


async def _refused(request: web.Request, user: Any, problems: list[Problem]) -> web.Response:
    context = await page_context(request, user)
    context.update(problems=request.app[CONSOLE].shown(problems))
    return aiohttp_jinja2.render_template("editor_refused.html", request, context, status=422)


async def entries(request: web.Request) -> web.Response:
    """Every entry with its kind, title, number of examples and `reviewed:` date."""
    user = await require(request, "editor")
    knowledge = _knowledge(request.app[CONSOLE])
    today = date.today()
    rows = [_row(entry, today) for entry in knowledge.entries]
    rows.sort(key=lambda r: (r.reviewed, r.id))  # oldest check first: that is the work to do
    context = await page_context(request, user)
    context.update(rows=rows, kinds=KIND_NAMES, stale=sum(r.stale for r in rows))
    return aiohttp_jinja2.render_template("editor_entries.html", request, context)


def _row(entry: Entry, today: date) -> EntryRow:
    return EntryRow(
        id=entry.id,
        kind=entry.kind,
        title=entry.title["nl"],
        examples=sum(len(entry.examples[lang]) for lang in LANGS),
        reviewed=entry.reviewed,
        stale=today - entry.reviewed > STALE_AFTER,
        source=entry.source.rsplit("/", 1)[-1],
        reviewed_by=entry.reviewed_by or "",
        sources=entry.sources,
    )


async def post_reviewed(request: web.Request) -> web.Response:
    """Record that this editor checked the entry against its sources today, then reload."""
    user = await require(request, "editor")
    await check_csrf(request)
    entry_id = request.match_info["id"]
    console = request.app[CONSOLE]
    if entry_id not in _knowledge(console).by_id:
        raise web.HTTPNotFound(text="onbekend item")
    reloader = console.reloader
    async with request.app[EDIT_LOCK]:
        problems = await asyncio.to_thread(
            mark_reviewed,
            reloader.knowledge_dir,
            entry_id,
            by=user.name,
            on=date.today(),
            flows_dir=reloader.flows_dir,
        )
        if not problems:
            problems = await asyncio.to_thread(reloader.reload)
    if problems:
        log.info("editor %s: marking %s reviewed refused", user.name, entry_id)
        return await _refused(request, user, problems)
    log.info("editor %s marked %s reviewed", user.name, entry_id)
    await flash(request, f"{entry_id} staat op gecontroleerd: vandaag, door {user.name}.")
    raise web.HTTPSeeOther("/editor/entries")


async def new_entry_form(request: web.Request) -> web.Response:
    """A form for a new entry, filled from a suggestion (?suggestion=ID) or questions (?q=...)."""
    user = await require(request, "editor")
    values: dict[str, str] = {"kind": "topic", "examples_nl": "", "examples_en": ""}
    questions = [q.strip() for q in request.query.getall("q", []) if q.strip()]
    values["examples_nl"] = "\n".join(questions)
    suggestion_id = request.query.get("suggestion", "")
    wanted = parse_id(suggestion_id)
    if wanted is not None:
        for item in await suggestions(request.app[CONSOLE].store):
            if item.id == wanted:
                values["examples_nl"] = item.question.strip()
                values["answer_nl"] = item.answer or ""
                values["suggestion"] = str(item.id)
    return await _render_new(request, user, values, problems=[])


async def _render_new(
    request: web.Request,
    user: Any,
    values: dict[str, str],
    *,
    problems: list[Problem],
    status: int = 200,
) -> web.Response:
    knowledge = _knowledge(request.app[CONSOLE])
    departments = sorted(
        ((e.id, e.title["nl"]) for e in knowledge.entries if e.kind == "department"),
        key=lambda d: d[1].casefold(),
    )
    context = await page_context(request, user)
    context.update(
        values=values,
        kinds=[(kind, KIND_NAMES.get(kind, kind), KIND_FILES[kind]) for kind in KINDS],
        departments=departments,
        problems=problems,
        today=date.today().isoformat(),
    )
    return aiohttp_jinja2.render_template("editor_new.html", request, context, status=status)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def post_new_entry(request: web.Request) -> web.Response:
    """Write a new entry to the file for its kind when the whole set still checks clean."""
    user = await require(request, "editor")
    form = await check_csrf(request)
    values = {k: v for k, v in form.items() if k != "csrf"}
    kind = values.get("kind", "")
    entry_id = values.get("id", "").strip()
    problems: list[Problem] = []
    if kind not in KIND_FILES:
        problems.append(Problem("", 0, "Kies een soort."))
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry_id):
        problems.append(
            Problem("", 0, "De id is kleine letters, cijfers en streepjes, zoals topic-buurtfeest.")
        )
    if not values.get("title_nl", "").strip() or not values.get("answer_nl", "").strip():
        problems.append(
            Problem("", 0, "Een Nederlandse titel en een Nederlands antwoord zijn nodig.")
        )
    if problems:
        return await _render_new(request, user, values, problems=problems, status=422)
    new = NewEntry(
        id=entry_id,
        kind=kind,
        title_nl=values.get("title_nl", ""),
        title_en=values.get("title_en", ""),
        answer_nl=values.get("answer_nl", ""),
        answer_en=values.get("answer_en", ""),
        examples_nl=_lines(values.get("examples_nl", "")),
        examples_en=_lines(values.get("examples_en", "")),
        department=values.get("department", ""),
    )
    console = request.app[CONSOLE]
    reloader = console.reloader
    async with request.app[EDIT_LOCK]:
        problems = await asyncio.to_thread(
            add_entry, reloader.knowledge_dir, new, flows_dir=reloader.flows_dir
        )
        if not problems:
            problems = await asyncio.to_thread(reloader.reload)
    if problems:
        log.info("editor %s: new entry %r refused", user.name, entry_id[:100])
        problems = console.shown(problems)
        return await _render_new(request, user, values, problems=problems, status=422)
    suggestion = values.get("suggestion", "")
    used = parse_id(suggestion)
    if used is not None:
        await mark_suggestion(console.store, used, "used")
    log.info("editor %s added entry %s", user.name, entry_id)
    await flash(
        request, f"Nieuw item {entry_id} staat in {KIND_FILES[kind]}. De bot gebruikt het nu."
    )
    raise web.HTTPSeeOther("/editor/entries")


async def post_reload(request: web.Request) -> web.Response:
    """Load knowledge/ and flows/ from disk after hand edits; a broken set is refused."""
    user = await require(request, "editor")
    await check_csrf(request)
    reloader = request.app[CONSOLE].reloader
    async with request.app[EDIT_LOCK]:
        problems = await asyncio.to_thread(reloader.reload)
    log.info("editor %s reloaded the knowledge: %d problem(s)", user.name, len(problems))
    if not problems:
        version = reloader.content.knowledge.version
        await flash(request, f"Kennisbank herladen (versie {version}). De bot gebruikt haar nu.")
    raise web.HTTPSeeOther("/editor/entries")  # the problems show in the page's banner


async def dismiss_suggestion(request: web.Request) -> web.Response:
    """Put an officer's suggestion aside without making an entry of it."""
    await require(request, "editor")
    await check_csrf(request)
    try:
        await mark_suggestion(
            request.app[CONSOLE].store,
            id_or_404(request.match_info["id"], "Suggestie"),
            "dismissed",
        )
    except StoreError:
        raise web.HTTPNotFound(text="Deze suggestie bestaat niet.") from None
    await flash(request, "Suggestie weggelegd.")
    raise web.HTTPSeeOther("/editor")
