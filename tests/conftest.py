"""Shared fixtures: the shipped knowledge, a small valid knowledge folder to break on purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from loketbot.content.knowledge import Knowledge, load_knowledge
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Inbound
from loketbot.service.desk import Desk
from loketbot.service.sender import Sender
from loketbot.store.store import ChatKey, OutboxRecord, Store
from loketbot.understanding.matcher import Matcher

from .dbs import BACKENDS, database

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
EVAL = ROOT / "eval"  # the dev set and topic list, kept in the repository

DEPARTMENTS = """\
entries:
  - id: dept-liaison
    kind: department
    title: {nl: Verbindingsofficier, en: Liaison officer}
    examples:
      nl: [wie is mijn contactpersoon, vaste contactpersoon gemeente, verbindingsofficier,
           wijknetwerker vinden, gebiedsnetwerker, met wie moet ik praten, wie helpt mij,
           aanspreekpunt gemeente]
      en: [who is my contact, liaison officer, contact person]
    answer: {nl: Een verbindingsofficier helpt je., en: A liaison officer helps you.}
    department: dept-liaison
    reviewed: 2026-11-23
"""

PERMITS = """\
entries:
  - id: permit-event
    kind: permit
    title: {nl: Evenementenvergunning, en: Event permit}
    examples:
      nl:
        - vergunning voor een festival
        - evenement organiseren in het park
        - moet ik een evenementenvergunning hebben
        - melding klein evenement
        - markt met podium op het plein
        - optreden buiten met publiek
        - hoeveel bezoekers mag een evenement zonder vergunning
        - festival aanvragen bij de gemeente
      en: [event permit, festival in the park, do we need a permit for an event]
    answer: {nl: Vraag een vergunning aan., en: Apply for a permit.}
    links: [{title: Gemeente Rotterdam, url: "https://www.rotterdam.nl/"}]
    department: dept-liaison
    reviewed: 2026-11-23
"""


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The shipped knowledge base."""
    return load_knowledge(KNOWLEDGE)


@pytest.fixture(scope="session")
def matcher(knowledge: Knowledge) -> Matcher:
    """A matcher over the shipped knowledge (built once: indexing is the slow part)."""
    return Matcher(knowledge)


@pytest.fixture(scope="session")
def dialogue(knowledge: Knowledge, matcher: Matcher) -> Dialogue:
    """The dialogue core over the shipped knowledge."""
    return Dialogue(knowledge, matcher)


@pytest.fixture(scope="session")
def flow_dialogue() -> Dialogue:
    """The dialogue core over the shipped knowledge and flows."""
    from loketbot.content.bundle import load_content

    content = load_content(KNOWLEDGE, KNOWLEDGE.parent / "flows")
    return Dialogue(content.knowledge, flows=content.flows)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write a small valid knowledge folder; keyword arguments replace or add files."""

    def make(**files: str) -> Path:
        folder = tmp_path / "knowledge"
        folder.mkdir(exist_ok=True)
        contents = {"departments.yaml": DEPARTMENTS, "permits.yaml": PERMITS, **files}
        for name, text in contents.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    return make


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open Store on a fresh database: SQLite, and PostgreSQL when configured."""
    async with database(request.param, tmp_path) as url:
        opened = await Store.open(url)
        try:
            yield opened
        finally:
            await opened.close()


async def deliver_all(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    """Send every due row as Telegram would; cards get message ids."""
    sent: list[tuple[str, str, dict[str, Any]]] = []

    async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
        sent.append((row.chat_id, row.kind, payload))
        return {"message_id": 500 + len(sent)}

    sender = Sender(store, {"telegram": deliver})
    while await sender.run_once():
        pass
    return sent


async def hand_off(desk: Desk, key: ChatKey, question: str, extra: str) -> int:
    """Ask `question`, accept the handoff, add `extra`; returns the ticket number."""
    await desk.handle(key, Inbound(text=question))
    await desk.handle(key, Inbound(button="h:yes"))
    await desk.handle(key, Inbound(text=extra))
    latest = [h for h in await desk.store.handoffs() if h.external_id == key.external_id]
    return latest[-1].ticket
