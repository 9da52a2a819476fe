"""Read-only queries for the editor and stats pages and for /metrics; never writes."""

from __future__ import annotations

__all__ = [
    "LOW_SCORE",
    "Counts",
    "FeedbackCount",
    "Insight",
    "UnknownQuestion",
    "counts",
    "insight",
    "unknown_questions",
]

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, func, not_, or_, select

from loketbot.store.models import Feedback, Handoff, Message
from loketbot.store.store import Store

# Below this matcher score (0-100) an answer was a guess: editors should look at the question.
LOW_SCORE = 30.0


def _local_zone() -> tzinfo:
    """Days are counted in Rotterdam's time zone; UTC when the zone database is missing."""
    try:
        return ZoneInfo("Europe/Amsterdam")
    except ZoneInfoNotFoundError:
        return UTC


@dataclass(frozen=True)
class UnknownQuestion:
    """An inbound question the bot could not answer with confidence."""

    text: str
    intent: str | None
    score: float | None
    action: str | None
    created_at: datetime


@dataclass(frozen=True)
class FeedbackCount:
    """How often an entry's answer helped and did not help."""

    entry_id: str
    helped: int
    not_helped: int


@dataclass(frozen=True)
class Insight:
    """The figures of the stats page for one period."""

    since: datetime
    per_day: list[tuple[date, int]]  # every day of the period, oldest first, zeros included
    top_topics: list[tuple[str, int]]
    questions: int
    handed_off: int
    median_answer: timedelta | None
    answered: int
    feedback: list[FeedbackCount]

    @property
    def handoff_share(self) -> float | None:
        """Handoffs per question in the period (None without questions)."""
        return self.handed_off / self.questions if self.questions else None


@dataclass(frozen=True)
class Counts:
    """Totals for /metrics, read at scrape time."""

    messages: dict[str, int]  # direction -> number
    handoffs: dict[str, int]  # status -> number


def _question() -> ColumnElement[bool]:
    """Inbound text the bot read as a question (it has a match action): not a command, not a
    button press, and not a typed option number or a flow answer ("2", "ja", "terug")."""
    return and_(
        Message.direction == "in",
        Message.action.is_not(None),
        not_(Message.text.startswith("/")),
        not_(Message.text.startswith("[")),
    )


async def unknown_questions(
    store: Store, *, since: datetime, limit: int = 2000
) -> list[UnknownQuestion]:
    """Inbound questions since `since` handed off, unclear or low-scoring; newest first."""
    query = (
        select(Message.text, Message.intent, Message.score, Message.action, Message.created_at)
        .where(
            _question(),
            Message.created_at >= since,
            or_(Message.action.in_(("handoff", "clarify")), Message.score < LOW_SCORE),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    async with store.reading("read unanswered questions from") as session:
        rows = (await session.execute(query)).all()
    return [UnknownQuestion(*row) for row in rows]


async def insight(
    store: Store, *, now: datetime, days: int = 30, zone: tzinfo | None = None
) -> Insight:
    """The stats page figures for the `days` days up to `now`."""
    zone = zone or _local_zone()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    async with store.reading("read statistics from") as session:
        stamps = (
            await session.scalars(
                select(Message.created_at).where(
                    _question(),
                    Message.created_at >= since,
                )
            )
        ).all()
        topic_rows = (
            await session.execute(
                select(Message.intent, func.count())
                .where(
                    _question(),
                    Message.created_at >= since,
                    Message.intent.is_not(None),
                    Message.action.in_(("answer", "flow")),
                )
                .group_by(Message.intent)
                .order_by(func.count().desc(), Message.intent)
                .limit(10)
            )
        ).all()
        handoff_rows = (
            await session.execute(
                select(Handoff.created_at, Handoff.answered_at).where(Handoff.created_at >= since)
            )
        ).all()
        feedback_rows = (
            await session.execute(
                select(Feedback.entry_id, Feedback.helpful, func.count())
                .where(Feedback.created_at >= since)
                .group_by(Feedback.entry_id, Feedback.helpful)
            )
        ).all()
    per_day = Counter(stamp.astimezone(zone).date() for stamp in stamps)
    waits = [answered - created for created, answered in handoff_rows if answered is not None]
    helped: Counter[str] = Counter()
    not_helped: Counter[str] = Counter()
    for entry_id, helpful, number in feedback_rows:
        (helped if helpful else not_helped)[entry_id] += number
    feedback = [
        FeedbackCount(entry_id, helped[entry_id], not_helped[entry_id])
        for entry_id in sorted(set(helped) | set(not_helped))
    ]
    feedback.sort(key=lambda f: (-(f.helped + f.not_helped), f.entry_id))
    return Insight(
        since=since,
        per_day=[
            (first + timedelta(days=i), per_day[first + timedelta(days=i)]) for i in range(days)
        ],
        top_topics=[(str(intent), int(number)) for intent, number in topic_rows],
        questions=len(stamps),
        handed_off=len(handoff_rows),
        median_answer=(
            timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
            if waits
            else None
        ),
        answered=len(waits),
        feedback=feedback,
    )


async def counts(store: Store) -> Counts:
    """Messages by direction and handoffs by status, all time."""
    async with store.reading("count messages and handoffs in") as session:
        messages = (
            await session.execute(
                select(Message.direction, func.count()).group_by(Message.direction)
            )
        ).all()
        handoffs = (
            await session.execute(select(Handoff.status, func.count()).group_by(Handoff.status))
        ).all()
    return Counts(
        messages={str(d): int(n) for d, n in messages},
        handoffs={str(s): int(n) for s, n in handoffs},
    )
