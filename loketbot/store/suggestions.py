"""Knowledge suggestions: answers officers marked "nuttig voor anderen", listed for editors."""

from __future__ import annotations

__all__ = ["SuggestionRecord", "add_suggestion", "mark_suggestion", "suggestions"]

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from loketbot.errors import StoreError
from loketbot.store.models import SUGGESTION_STATUSES, Suggestion, utcnow
from loketbot.store.store import Store


@dataclass(frozen=True)
class SuggestionRecord:
    """One suggestion: the citizen's question and the officer's answer to it."""

    id: int
    ticket: int
    question: str
    answer: str
    status: str  # "new" | "used" | "dismissed"
    created_at: datetime


def _record(row: Suggestion) -> SuggestionRecord:
    return SuggestionRecord(
        row.id, row.ticket, row.question, row.answer, row.status, row.created_at
    )


async def add_suggestion(store: Store, ticket: int, question: str, answer: str) -> int:
    """Store a new suggestion and return its id."""
    async with store.writing("add a suggestion to") as session:
        row = Suggestion(
            ticket=ticket, question=question, answer=answer, status="new", created_at=utcnow()
        )
        session.add(row)
        await session.flush()
        return row.id


async def suggestions(store: Store, status: str = "new") -> list[SuggestionRecord]:
    """Suggestions with `status`, newest first."""
    if status not in SUGGESTION_STATUSES:
        raise ValueError(f"status must be one of {SUGGESTION_STATUSES}, not {status!r}")
    query = select(Suggestion).where(Suggestion.status == status).order_by(Suggestion.id.desc())
    async with store.reading("read suggestions from") as session:
        return [_record(row) for row in (await session.scalars(query)).all()]


async def mark_suggestion(store: Store, id: int, status: str) -> None:
    """Set the suggestion's status ("used" or "dismissed"); StoreError when it does not exist."""
    if status not in SUGGESTION_STATUSES:
        raise ValueError(f"status must be one of {SUGGESTION_STATUSES}, not {status!r}")
    async with store.writing(f"mark suggestion {id} in") as session:
        found = await session.scalar(select(Suggestion.id).where(Suggestion.id == id))
        if found is None:
            raise StoreError(f"no suggestion {id}")
        await session.execute(update(Suggestion).where(Suggestion.id == id).values(status=status))
