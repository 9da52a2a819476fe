"""The stats page (inline SVG charts, drawn on the server) and /metrics for Prometheus."""

from __future__ import annotations

__all__ = ["setup"]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web

from loketbot.content.knowledge import Knowledge
from loketbot.service.metrics import CONTENT_TYPE, exposition
from loketbot.store.insight import counts, insight
from loketbot.store.models import utcnow
from loketbot.web.auth import page_context, require
from loketbot.web.context import CONSOLE

DAYS = 30
CHART_WIDTH = 600
CHART_HEIGHT = 160
BAR_HEIGHT = 22


def setup(app: web.Application) -> None:
    """Add /stats (officers and editors) and /metrics (no login: scraped by Prometheus)."""
    app.router.add_get("/stats", stats, name="stats")
    app.router.add_get("/metrics", metrics)


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, in SVG user units; `label` is also its accessible text."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class HBar:
    """One horizontal bar (or a pair: helped and not helped) with its row label."""

    y: float
    label: str
    widths: tuple[float, ...]
    values: tuple[int, ...]


def day_bars(per_day: list[tuple[str, int]]) -> list[Bar]:
    """Vertical bars for questions per day, scaled to the busiest day."""
    top = max((n for _, n in per_day), default=0) or 1
    step = CHART_WIDTH / max(len(per_day), 1)
    bars = []
    for index, (label, number) in enumerate(per_day):
        height = number / top * (CHART_HEIGHT - 20)
        bars.append(
            Bar(
                x=round(index * step + 1, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(step - 2, 1),
                height=round(height, 1),
                label=label,
                value=number,
            )
        )
    return bars


def hbars(rows: Sequence[tuple[str, tuple[int, ...]]], width: float) -> list[HBar]:
    """Horizontal (stacked) bars scaled so the largest row total fills `width`."""
    top = max((sum(values) for _, values in rows), default=0) or 1
    return [
        HBar(
            y=index * (BAR_HEIGHT + 6),
            label=label,
            widths=tuple(round(v / top * width, 1) for v in values),
            values=values,
        )
        for index, (label, values) in enumerate(rows)
    ]


def duration(value: timedelta | None) -> str:
    """A wait in plain Dutch: '2 dagen 3 uur', '1 uur 5 min', '4 min'."""
    if value is None:
        return "nog geen antwoorden"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} {'dag' if days == 1 else 'dagen'} {hours} uur"
    if hours:
        return f"{hours} uur {minutes} min"
    return f"{minutes} min"


def _title(knowledge: Knowledge, entry_id: str) -> str:
    entry = knowledge.by_id.get(entry_id)
    return entry.title["nl"] if entry is not None else entry_id


async def stats(request: web.Request) -> web.Response:
    """Questions per day, top topics, share handed off, time to an answer, feedback per entry."""
    user = await require(request)
    console = request.app[CONSOLE]
    figures = await insight(console.store, now=utcnow(), days=DAYS)
    knowledge = console.reloader.content.knowledge
    per_day = [(day.strftime("%d-%m"), number) for day, number in figures.per_day]
    topics = [(_title(knowledge, entry_id), n) for entry_id, n in figures.top_topics]
    feedback = [
        (_title(knowledge, f.entry_id), (f.helped, f.not_helped)) for f in figures.feedback[:15]
    ]
    share = figures.handoff_share
    context = await page_context(request, user)
    context.update(
        days=DAYS,
        figures=figures,
        per_day=per_day,
        day_bars=day_bars(per_day),
        busiest=max((n for _, n in per_day), default=0),
        topics=topics,
        topic_bars=hbars([(label, (n,)) for label, n in topics], 300),
        feedback=feedback,
        feedback_bars=hbars(feedback, 300),
        share=None if share is None else round(share * 100),
        median=duration(figures.median_answer),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bar_height=BAR_HEIGHT,
    )
    return aiohttp_jinja2.render_template("insight_stats.html", request, context)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format: message and handoff totals, the match latency histogram."""
    body = exposition(await counts(request.app[CONSOLE].store))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
