"""The coordinator's pages: who covers which areas and themes, handing initiatives over, and
the figures per area and theme (SVG and CSV)."""

from __future__ import annotations

__all__ = ["AreaFigures", "area_figures", "setup"]

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from loketbot.content.flowfile import AREAS
from loketbot.errors import LoketbotError, StoreError
from loketbot.service.organisation import check_areas, check_themes, hand_over
from loketbot.service.routing import THEMES
from loketbot.store.models import Handoff, HandoffEvent
from loketbot.store.organisation import set_officer
from loketbot.store.store import Store
from loketbot.web.auth import check_csrf, flash, page_context, require
from loketbot.web.context import CONSOLE
from loketbot.web.insight import duration, hbars

BAR_WIDTH = 420.0


def setup(app: web.Application) -> None:
    """Add /team (coordinators) and /stats/areas, /stats/areas.csv (officers and coordinators)."""
    app.router.add_get("/team", team_page, name="team")
    app.router.add_post("/team/officer", team_officer)
    app.router.add_post("/team/handover", team_handover)
    app.router.add_get("/stats/areas", area_stats, name="area_stats")
    app.router.add_get("/stats/areas.csv", area_csv)


@dataclass(frozen=True)
class AreaFigures:
    """The figures of one area or theme."""

    by: str  # "gebied" | "thema"
    name: str
    tickets: int
    median_first_answer: timedelta | None
    within_promise: float | None  # share of answered tickets answered before their deadline
    helped: float | None  # share of rated officer answers that helped
    reopened: int


async def area_figures(store: Store) -> list[AreaFigures]:
    """Per area and per theme: tickets, median time to the first answer, share answered within
    the promise, share helped, tickets reopened."""
    async with store.reading("read figures per area from") as session:
        tickets = (
            await session.execute(
                select(
                    Handoff.id,
                    Handoff.area,
                    Handoff.theme,
                    Handoff.created_at,
                    Handoff.due_at,
                    Handoff.escalated_at,
                    Handoff.helped,
                )
            )
        ).all()
        events = (
            await session.execute(
                select(HandoffEvent.handoff_id, HandoffEvent.kind, HandoffEvent.created_at)
                .where(HandoffEvent.kind.in_(("answered", "reopened")))
                .order_by(HandoffEvent.id)
            )
        ).all()
    first: dict[int, Any] = {}
    reopened: set[int] = set()
    for ticket, kind, at in events:
        if kind == "answered":
            first.setdefault(ticket, at)
        else:
            reopened.add(ticket)
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in tickets:
        groups[("gebied", row.area or "onbekend")].append(row)
        groups[("thema", row.theme or "onbekend")].append(row)
    out = []
    for (by, name), rows in sorted(groups.items(), key=lambda g: (g[0][0], -len(g[1]), g[0][1])):
        waits = [first[r.id] - r.created_at for r in rows if r.id in first]
        answered = [r for r in rows if r.id in first]
        in_time = [r for r in answered if r.escalated_at is None or first[r.id] <= r.escalated_at]
        rated = [r for r in rows if r.helped is not None]
        out.append(
            AreaFigures(
                by=by,
                name=name,
                tickets=len(rows),
                median_first_answer=statistics.median(waits) if waits else None,
                within_promise=len(in_time) / len(answered) if answered else None,
                helped=sum(bool(r.helped) for r in rated) / len(rated) if rated else None,
                reopened=sum(r.id in reopened for r in rows),
            )
        )
    return out


def _share(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


async def area_stats(request: web.Request) -> web.Response:
    """Figures per area and theme, as bars and a table."""
    user = await require(request, "officer")
    figures = await area_figures(request.app[CONSOLE].store)
    sections = []
    for by, title in (("gebied", "Per gebied"), ("thema", "Per thema")):
        rows = [f for f in figures if f.by == by]
        bars = hbars([(f.name, (f.tickets,)) for f in rows], BAR_WIDTH)
        sections.append({"title": title, "rows": rows, "bars": bars, "by": by})
    context: dict[str, Any] = {
        "sections": sections,
        "duration": duration,
        "share": _share,
        "bar_height": 20,
        "width": BAR_WIDTH + 240,
    }
    context.update(await page_context(request, user))
    return aiohttp_jinja2.render_template("coordination_areas.html", request, context)


async def area_csv(request: web.Request) -> web.Response:
    """The same figures as CSV (minutes and fractions, for a spreadsheet)."""
    await require(request, "officer")
    figures = await area_figures(request.app[CONSOLE].store)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["per", "naam", "tickets", "mediaan_eerste_antwoord_min", "binnen_termijn",
         "geholpen", "heropend"]
    )  # fmt: skip
    for f in figures:
        wait = f.median_first_answer
        writer.writerow(
            [
                f.by,
                f.name,
                f.tickets,
                "" if wait is None else round(wait.total_seconds() / 60),
                "" if f.within_promise is None else round(f.within_promise, 3),
                "" if f.helped is None else round(f.helped, 3),
                f.reopened,
            ]
        )
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="cijfers-per-gebied.csv"'},
    )


async def team_page(request: web.Request) -> web.Response:
    """Coordinators: officers with their areas and themes, teams, handover."""
    user = await require(request, "coordinator")
    store = request.app[CONSOLE].store
    found = await store.teams()
    officers = [o for o in await store.officers() if o.role in ("officer", "coordinator")]
    context: dict[str, Any] = {
        "officers": officers,
        "teams": found,
        "team_names": {t.id: t.name for t in found},
        "areas": AREAS,
        "themes": THEMES,
    }
    context.update(await page_context(request, user))
    return aiohttp_jinja2.render_template("coordination_team.html", request, context)


async def team_officer(request: web.Request) -> web.StreamResponse:
    """Set one officer's areas, themes and team."""
    await require(request, "coordinator")
    form = await request.post()
    await check_csrf(request)
    name = str(form.get("name", ""))
    areas = [str(v) for v in form.getall("area", [])]
    themes = [str(v) for v in form.getall("theme", [])]
    team = str(form.get("team", ""))
    try:
        async with request.app[CONSOLE].store.writing("change an officer in") as session:
            await set_officer(
                session,
                name,
                areas=check_areas(areas) or [],
                themes=check_themes(themes) or [],
                team=team,
            )
    except (LoketbotError, StoreError, ValueError) as exc:
        await flash(request, f"Niet opgeslagen: {exc}")
    else:
        await flash(request, f"Opgeslagen: {name}.")
    raise web.HTTPSeeOther("/team")


async def team_handover(request: web.Request) -> web.StreamResponse:
    """Hand every initiative of one officer over to another, in one action."""
    await require(request, "coordinator")
    fields = await check_csrf(request)
    store = request.app[CONSOLE].store
    source = await store.officer_by_name(fields.get("source", ""))
    target = await store.officer_by_name(fields.get("target", ""))
    if source is None or target is None:
        await flash(request, "Kies twee verbindingsofficieren.")
        raise web.HTTPSeeOther("/team")
    try:
        result = await hand_over(store, source, target)
    except LoketbotError as exc:
        await flash(request, f"Niet overgedragen: {exc}")
    else:
        request.app[CONSOLE].on_commit()
        await flash(
            request,
            f"{result.initiatives} initiatief/initiatieven en {result.tickets} open ticket(s) "
            f"van {source.name} naar {target.name}.",
        )
    raise web.HTTPSeeOther("/team")
