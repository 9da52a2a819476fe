"""Officer pages: the queue of handed-off questions (live via server-sent events) and one ticket."""

from __future__ import annotations

__all__ = ["EVENTS_POLL", "setup"]

import asyncio
import contextlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, select

from loketbot.content.knowledge import Knowledge
from loketbot.errors import StoreError
from loketbot.service.answertime import local_text
from loketbot.service.tickets import FROM_PROFILE, TicketError, flow_answers, passed_to
from loketbot.store.models import HANDOFF_STATUSES, Handoff, HandoffEvent, Outbox, utcnow
from loketbot.store.privacy import ANONYMOUS
from loketbot.store.store import ChatKey, HandoffRecord, Store
from loketbot.store.suggestions import add_suggestion
from loketbot.web.auth import check_csrf, flash, id_or_404, page_context, require
from loketbot.web.context import CONSOLE, Console

log = logging.getLogger(__name__)

STATUS_NL = {
    "open": "open",
    "claimed": "in behandeling",
    "answered": "beantwoord",
    "closed": "gesloten",
}
EVENT_NL = {
    "created": "binnengekomen",
    "claimed": "opgepakt",
    "answered": "beantwoord",
    "closed": "gesloten",
    "reopened": "heropend",
    "followup": "aanvulling van de vrager",
    "passed": "doorgezet",
    "reminded": "herinnerd aan de termijn",
    "escalate": "over tijd: naar de coördinator",
    "late": "vrager verteld dat het langer duurt",
    "helped": "vrager: het antwoord hielp",
    "unclear": "vrager: nog onduidelijk",
}
QUESTION_PREVIEW = 140
_FORM_KEY = re.compile(r"[0-9a-f]{32}")

# Seconds between two looks at the database for the live queue; tests make it shorter.
EVENTS_POLL: web.AppKey[float] = web.AppKey("events_poll")
# Set on shutdown so open event streams end instead of holding the server up.
_CLOSING: web.AppKey[asyncio.Event] = web.AppKey("events_closing")
# Check-then-answer runs one at a time, so a form posted twice is answered once in this process
# (across processes the outbox's unique key still sends the answer only once).
_ANSWER_LOCK: web.AppKey[asyncio.Lock] = web.AppKey("answer_lock")
KEEPALIVE_SECONDS = 15.0


def setup(app: web.Application) -> None:
    """Add the queue, the event stream, the ticket page and its actions."""
    app[EVENTS_POLL] = 2.0
    app[_CLOSING] = asyncio.Event()
    app[_ANSWER_LOCK] = asyncio.Lock()
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/", queue, name="queue")
    app.router.add_get("/events", events)
    app.router.add_get(r"/tickets/{ticket:[0-9]{1,10}}", ticket_page, name="ticket")
    app.router.add_post(r"/tickets/{ticket:[0-9]{1,10}}/claim", claim)
    app.router.add_post(r"/tickets/{ticket:[0-9]{1,10}}/answer", answer)
    app.router.add_post(r"/tickets/{ticket:[0-9]{1,10}}/close", close)
    app.router.add_post(r"/tickets/{ticket:[0-9]{1,10}}/reopen", reopen)
    app.router.add_post(r"/tickets/{ticket:[0-9]{1,10}}/pass", pass_on)


async def _close_streams(app: web.Application) -> None:
    app[_CLOSING].set()


@dataclass(frozen=True)
class Row:
    """One line of the queue."""

    ticket: int
    status: str
    status_nl: str
    age: str
    created: str
    area: str
    topic: str
    lang: str
    holder: str
    question: str
    due: str = ""
    late: bool = False


def age(since: datetime, now: datetime) -> str:
    """How long ago, short and in Dutch: "5 min", "3 uur", "2 dagen"."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} uur"
    return f"{hours // 24} dagen"


def _knowledge(console: Console) -> Knowledge:
    return console.reloader.content.knowledge


def topic_title(knowledge: Knowledge, topic: str | None) -> str:
    """The entry's Dutch title, or the id when the entry is gone."""
    if not topic:
        return ""
    entry = knowledge.by_id.get(topic)
    return entry.title.get("nl", topic) if entry else topic


def _rows(records: list[HandoffRecord], knowledge: Knowledge, now: datetime) -> list[Row]:
    rows = []
    for record in sorted(records, key=lambda r: r.ticket, reverse=True):
        question = record.question
        if len(question) > QUESTION_PREVIEW:
            question = question[: QUESTION_PREVIEW - 1] + "…"
        rows.append(
            Row(
                ticket=record.ticket,
                status=record.status,
                status_nl=STATUS_NL.get(record.status, record.status),
                age=age(record.created_at, now),
                created=record.created_at.isoformat(timespec="minutes"),
                area=record.area or "",
                topic=topic_title(knowledge, record.topic),
                lang=record.lang,
                holder=record.assigned_officer or "",
                question=question,
                due=(
                    local_text(record.due_at)
                    if record.due_at and record.status in ("open", "claimed")
                    else ""
                ),
                late=bool(
                    record.due_at and record.status in ("open", "claimed") and record.due_at < now
                ),
            )
        )
    return rows


async def queue(request: web.Request) -> web.StreamResponse:
    """The queue, filtered by status and "mine"; ?fragment=1 gives only the table (live update).
    An editor who lands here (the start page after login) goes on to their own start page."""
    user = await require(request)
    if user.role == "editor":
        raise web.HTTPFound("/editor")
    console = request.app[CONSOLE]
    status = request.query.get("status", "")
    if status not in HANDOFF_STATUSES:
        status = ""
    mine = request.query.get("mine") == "1"
    records = await console.store.handoffs(status or None)
    if mine:
        records = [r for r in records if r.assigned_officer == user.name]
    context: dict[str, Any] = {
        "rows": _rows(records, _knowledge(console), utcnow()),
        "status": status,
        "mine": mine,
        "statuses": [("", "alle"), *STATUS_NL.items()],
        "latest": max((r.ticket for r in records), default=0),
    }
    if request.query.get("fragment") == "1":
        context["user"] = user
        return aiohttp_jinja2.render_template("officer_queue_table.html", request, context)
    context.update(await page_context(request, user))
    return aiohttp_jinja2.render_template("officer_queue.html", request, context)


async def queue_stamp(store: Store) -> tuple[int, int]:
    """(newest ticket number, newest history event id): changes whenever the queue does."""
    query = select(
        select(func.max(Handoff.id)).scalar_subquery(),
        select(func.max(HandoffEvent.id)).scalar_subquery(),
    )
    async with store.reading("read the queue state from") as session:
        row = (await session.execute(query)).one()
    return int(row[0] or 0), int(row[1] or 0)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: "ticket" when a new ticket arrives, "change" when one changes."""
    await require(request, "officer")
    app = request.app
    store = app[CONSOLE].store
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx would otherwise hold the stream back
        }
    )
    await response.prepare(request)
    latest, last_event = await queue_stamp(store)
    await response.write(b"retry: 5000\n: verbonden\n\n")
    quiet = 0.0
    poll = app[EVENTS_POLL]
    try:
        while not app[_CLOSING].is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app[_CLOSING].wait(), poll)
            if app[_CLOSING].is_set():
                break
            try:
                ticket, event_id = await queue_stamp(store)
            except StoreError:
                log.warning("live queue: database not reachable", exc_info=True)
                continue
            if ticket > latest:
                await response.write(_sse("ticket", {"ticket": ticket}))
                latest, last_event, quiet = ticket, event_id, 0.0
            elif event_id != last_event:
                await response.write(_sse("change", {"event": event_id}))
                last_event, quiet = event_id, 0.0
            else:
                quiet += poll
                if quiet >= KEEPALIVE_SECONDS:
                    # A comment line keeps proxies from closing an idle stream.
                    await response.write(b": stil\n\n")
                    quiet = 0.0
    except (ConnectionResetError, ConnectionError):
        pass  # the browser went away
    return response


def _number(request: web.Request) -> int:
    return id_or_404(request.match_info["ticket"], "Ticket")


async def _record(console: Console, number: int) -> HandoffRecord:
    record = await console.store.handoff(number)
    if record is None:
        raise web.HTTPNotFound(text=f"Ticket {number} bestaat niet.")
    return record


async def ticket_page(request: web.Request) -> web.StreamResponse:
    """One ticket: question, transcript, flow answers, candidate topics, history, actions."""
    user = await require(request, "officer")
    console = request.app[CONSOLE]
    record = await _record(console, _number(request))
    knowledge = _knowledge(console)
    ctx = record.context or {}
    candidates = [
        {
            "intent": str(c.get("intent", "")),
            "title": topic_title(knowledge, str(c.get("intent", ""))),
            "score": c.get("score"),
        }
        for c in ctx.get("candidates") or []
        if isinstance(c, dict)
    ]
    context: dict[str, Any] = {
        "record": record,
        "status_nl": STATUS_NL.get(record.status, record.status),
        "age": age(record.created_at, utcnow()),
        "topic": topic_title(knowledge, record.topic),
        "extra": str(ctx.get("extra") or "").strip(),
        "flow_answers": [
            {"line": line, "from_profile": profiled} for line, profiled in flow_answers(ctx)
        ],
        "from_profile": FROM_PROFILE,
        "candidates": candidates,
        "transcript": await console.store.transcript(ChatKey(record.channel, record.external_id)),
        "history": await console.store.ticket_events(record.ticket),
        # Rows Telegram refused for good (blocked bot, unknown chat): the officer should know.
        "undelivered": len(
            await console.store.outbox_rows(
                channel=record.channel, chat_id=record.external_id, status="dead"
            )
        ),
        "event_nl": EVENT_NL,
        # One token per rendered form: posting the same form twice answers once.
        "answer_key": uuid.uuid4().hex,
        "due": local_text(record.due_at) if record.due_at else "",
        "profile": " · ".join(
            str(v) for k, v in (ctx.get("profile") or {}).items() if v and k != "themes"
        ),
        "officers": [o.name for o in await console.store.officers() if o.role != "editor"],
        "teams": [t.name for t in await console.store.teams()],
    }
    context.update(await page_context(request, user))
    return aiohttp_jinja2.render_template("officer_ticket.html", request, context)


def _back(number: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/tickets/{number}")


async def _refused(request: web.Request, console: Console, number: int) -> None:
    """Say in Dutch why the action could not be done (the ticket changed meanwhile)."""
    record = await _record(console, number)
    if record.channel == ANONYMOUS.channel:
        await flash(
            request,
            f"Dat kan niet: ticket {number} is geanonimiseerd. De gegevens van de "
            "initiatiefnemer zijn verwijderd, dus een antwoord komt nergens aan.",
        )
        return
    holder = f" (bij {record.assigned_officer})" if record.assigned_officer else ""
    status = STATUS_NL.get(record.status, record.status)
    await flash(request, f"Dat kan niet: ticket {number} is {status}{holder}.")


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    """Claim, close or reopen; a refused action is explained on the ticket page."""
    user = await require(request, "officer")
    await check_csrf(request)
    console = request.app[CONSOLE]
    number = _number(request)
    await _record(console, number)
    tickets = console.tickets
    done = {"claim": "opgepakt", "close": "gesloten", "reopen": "heropend"}
    try:
        if action == "claim":
            await tickets.claim(number, user)
        elif action == "close":
            await tickets.close(number, user)
        else:
            await tickets.reopen(number, user)
    except TicketError:
        await _refused(request, console, number)
        raise _back(number) from None
    console.on_commit()
    log.info("ticket %s %s by %s", number, action, user.name)
    await flash(request, f"Ticket {number} is {done[action]}.")
    raise _back(number)


async def claim(request: web.Request) -> web.StreamResponse:
    """Take the ticket."""
    return await _act(request, "claim")


async def close(request: web.Request) -> web.StreamResponse:
    """Close the ticket; the initiator is told."""
    return await _act(request, "close")


async def reopen(request: web.Request) -> web.StreamResponse:
    """Open a closed or answered ticket again."""
    return await _act(request, "reopen")


async def pass_on(request: web.Request) -> web.StreamResponse:
    """Pass the ticket to another officer or team, with a note the history keeps."""
    user = await require(request, "officer")
    form = await check_csrf(request)
    console = request.app[CONSOLE]
    number = _number(request)
    await _record(console, number)
    officer_name = form.get("officer", "")[:200]
    team_name = form.get("team", "")[:200]
    note = form.get("note", "")[:2000]
    to_officer = next((o for o in await console.store.officers() if o.name == officer_name), None)
    to_team = next((t for t in await console.store.teams() if t.name == team_name), None)
    if to_officer is None and to_team is None:
        await flash(request, "Kies een collega of een team om het ticket aan door te geven.")
        raise _back(number)
    try:
        await console.tickets.pass_on(
            number, user, to_officer=to_officer, to_team=to_team, note=note
        )
    except TicketError:
        await _refused(request, console, number)
        raise _back(number) from None
    console.on_commit()
    log.info("ticket %s passed on by %s", number, user.name)
    await flash(request, f"Ticket {number} is doorgegeven aan {passed_to(to_officer, to_team)}.")
    raise _back(number)


async def _already_answered(store: Store, number: int, key: str) -> bool:
    """True when this form's answer is already in the outbox."""
    query = select(Outbox.id).where(Outbox.key == f"answer:{number}:{key}")
    async with store.reading("look up an answer in") as session:
        return (await session.scalar(query)) is not None


async def answer(request: web.Request) -> web.StreamResponse:
    """Send the answer to the initiator through the outbox; optionally suggest it to editors."""
    user = await require(request, "officer")
    form = await check_csrf(request)
    console = request.app[CONSOLE]
    number = _number(request)
    await _record(console, number)
    text = form.get("text", "").strip()
    key = form.get("key", "")
    if not _FORM_KEY.fullmatch(key):
        raise web.HTTPBadRequest(text="Dit formulier mist zijn kenmerk. Laad de pagina opnieuw.")
    if not text:
        await flash(request, "Schrijf eerst een antwoord.")
        raise _back(number)
    async with request.app[_ANSWER_LOCK]:
        if await _already_answered(console.store, number, key):
            await flash(request, "Dit antwoord was al verstuurd.")
            raise _back(number)
        try:
            record = await console.tickets.answer(number, user, text, key=key)
        except TicketError:
            await _refused(request, console, number)
            raise _back(number) from None
        console.on_commit()
        useful = form.get("useful") == "1"
        if useful:
            await add_suggestion(console.store, number, record.question, text)
    log.info("ticket %s answered by %s", number, user.name)
    message = f"Antwoord op ticket {number} is verstuurd."
    if useful:
        message += " De redactie ziet het als suggestie."
    await flash(request, message)
    raise _back(number)
