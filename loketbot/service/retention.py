"""`loketbot purge`: keep messages and tickets' texts no longer than the retention period."""

from __future__ import annotations

__all__ = ["purge"]

import logging
import uuid
from datetime import timedelta
from typing import TextIO

from loketbot.config import Settings
from loketbot.content.knowledge import Knowledge, load_knowledge
from loketbot.errors import KnowledgeError
from loketbot.service.tickets import CARD_CHANNEL, card_payload
from loketbot.store.models import utcnow
from loketbot.store.outbox import OutboxBuffer
from loketbot.store.privacy import purge_older
from loketbot.store.store import Store

log = logging.getLogger(__name__)


async def purge(settings: Settings, *, days: int, dry_run: bool, out: TextIO) -> int:
    """Delete and anonymise what is older than `days` days (nothing with `dry_run`); prints
    the counts and returns the exit code."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    cutoff = utcnow() - timedelta(days=days)
    knowledge = _knowledge(settings)
    store = await Store.open(settings.database_url)
    try:
        async with store.writing("purge old data from") as session:
            counts, tickets = await session.run_sync(purge_older, cutoff)
            if dry_run:
                await session.rollback()
            else:
                # The officers' group keeps the cards: edit them so they no longer show the text.
                cards = OutboxBuffer()
                run = uuid.uuid4().hex
                for record in tickets:
                    if record.card_chat_id is None:
                        continue
                    cards.add(
                        "edit_text",
                        card_payload(record, knowledge, new=False),
                        key=f"card-edit:{record.ticket}:purge:{run}",
                        channel=CARD_CHANNEL,
                        chat_id=record.card_chat_id,
                        ticket=record.ticket,
                    )
                await session.run_sync(cards.write)
    finally:
        await store.close()
    if dry_run:
        print(f"dry run, nothing changed; older than {days} days: {counts}", file=out)
    else:
        print(f"purged (older than {days} days): {counts}", file=out)
        log.info("purge: %s", counts)
    return 0


def _knowledge(settings: Settings) -> Knowledge | None:
    """The knowledge for topic titles on cards; cards show topic ids without it."""
    try:
        return load_knowledge(settings.knowledge_dir)
    except KnowledgeError:
        log.warning(
            "purge: knowledge in %s does not load; cards show topic ids", settings.knowledge_dir
        )
        return None
