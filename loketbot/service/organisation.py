"""Teams, what officers cover, and handing initiatives over: for the CLI and the console."""

from __future__ import annotations

__all__ = [
    "HandoverResult",
    "change_officer",
    "check_areas",
    "check_themes",
    "hand_over",
    "hand_over_cli",
    "list_teams",
    "pass_target",
    "save_team",
]

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loketbot.config import Settings
from loketbot.content.flowfile import AREAS
from loketbot.conversation.face import tell
from loketbot.errors import LoketbotError
from loketbot.service.routing import THEMES, contact_line
from loketbot.store.models import Conversation, Handoff, HandoffEvent, Initiative, User, utcnow
from loketbot.store.organisation import TeamRecord, add_team, set_officer, set_team
from loketbot.store.outbox import OutboxBuffer
from loketbot.store.records import OfficerRecord
from loketbot.store.store import Store

log = logging.getLogger(__name__)


def _canonical(values: list[str] | None, known: tuple[str, ...], what: str) -> list[str] | None:
    if values is None:
        return None
    by_fold = {k.casefold(): k for k in known}
    out = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part.casefold() not in by_fold:
                raise LoketbotError(f"unknown {what} {part!r}; known: {', '.join(known)}")
            out.append(by_fold[part.casefold()])
    return out


def check_areas(values: list[str] | None) -> list[str] | None:
    """Area names as spelled in the areas list; LoketbotError for an unknown one."""
    return _canonical(values, AREAS, "area")


def check_themes(values: list[str] | None) -> list[str] | None:
    """Theme names from THEMES; LoketbotError for an unknown one."""
    return _canonical(values, THEMES, "theme")


async def change_officer(settings: Settings, name: str, **changes: Any) -> int:
    """`loketbot officers set NAME ...`: prints what the officer covers now."""
    changes["areas"] = check_areas(changes.get("areas"))
    changes["themes"] = check_themes(changes.get("themes"))
    store = await Store.open(settings.database_url)
    try:
        async with store.writing("change an officer in") as session:
            officer = await set_officer(session, name, **changes)
    finally:
        await store.close()
    print(
        f"{officer.name}: {officer.role}, areas {', '.join(officer.areas) or '-'}, "
        f"themes {', '.join(officer.themes) or '-'}, shown as {contact_line(officer)}"
    )
    return 0


async def save_team(
    settings: Settings,
    name: str,
    *,
    new: bool,
    chat_id: str | None,
    areas: list[str] | None,
    themes: list[str] | None,
) -> int:
    """`loketbot teams add|set NAME [--chat-id N] [--area A] [--theme T]`."""
    if chat_id and not chat_id.lstrip("-").isdigit():
        raise LoketbotError(
            f"--chat-id must be a Telegram chat id like -1001234567890, not {chat_id!r}"
        )
    store = await Store.open(settings.database_url)
    try:
        async with store.writing("save a team in") as session:
            save = add_team if new else set_team
            team = await save(
                session,
                name,
                chat_id=chat_id,
                areas=check_areas(areas),
                themes=check_themes(themes),
            )
    finally:
        await store.close()
    group = team.chat_id or "the shared officers' group"
    print(
        f"team {team.name!r}: group {group}, areas {', '.join(team.areas) or '-'}, "
        f"themes {', '.join(team.themes) or '-'}"
    )
    return 0


async def list_teams(settings: Settings) -> int:
    """`loketbot teams list`."""
    store = await Store.open(settings.database_url)
    try:
        found = await store.teams()
    finally:
        await store.close()
    for team in found:
        print(
            f"{team.name}\tgroup {team.chat_id or '-'}\tareas {','.join(team.areas) or '-'}"
            f"\tthemes {','.join(team.themes) or '-'}"
        )
    return 0


@dataclass(frozen=True)
class HandoverResult:
    """How many initiatives and open tickets moved."""

    initiatives: int
    tickets: int


async def hand_over(store: Store, source: OfficerRecord, target: OfficerRecord) -> HandoverResult:
    """Make `target` the fixed contact of every initiative of `source`, and give `target` the
    open tickets of those initiatives that `source` had; each initiator is told once."""
    if source.id == target.id:
        raise LoketbotError("hand over to another officer")
    if target.role not in ("officer", "coordinator"):
        raise LoketbotError(f"{target.name} is no liaison officer")

    def work(session: Session) -> HandoverResult:
        rows = session.execute(
            select(Initiative, User.channel, User.external_id, User.lang)
            .join(Conversation, Initiative.conversation_id == Conversation.id)
            .join(User, Conversation.user_id == User.id)
            .where(Initiative.contact_officer_id == source.id)
            .with_for_update(of=Initiative)
        ).all()
        outbox = OutboxBuffer()
        now = utcnow()
        moved = 0
        for initiative, channel, external_id, lang in rows:
            initiative.contact_officer_id = target.id
            initiative.updated_at = now
            text = tell(
                "contact_handover",
                lang,
                contact=contact_line(target),
                previous=source.public_name or source.name.split()[0],
                first=target.public_name or target.name.split()[0],
            )
            outbox.add(
                "message",
                {"text": text},
                key=f"handover:{initiative.id}:{target.id}",
                channel=channel,
                chat_id=external_id,
                ticket=None,
            )
            tickets = session.scalars(
                select(Handoff).where(
                    Handoff.conversation_id == initiative.conversation_id,
                    Handoff.status.in_(("open", "claimed")),
                    Handoff.assigned_officer == source.name,
                )
            ).all()
            for ticket in tickets:
                ticket.assigned_officer = target.name
                ticket.updated_at = now
                session.add(
                    HandoffEvent(
                        handoff_id=ticket.id,
                        kind="passed",
                        actor=source.name,
                        text=f"naar {target.name}: initiatief overgedragen",
                        created_at=now,
                    )
                )
                moved += 1
        session.flush()
        outbox.write(session)
        return HandoverResult(len(rows), moved)

    async with store.writing("hand initiatives over in") as session:
        result = await session.run_sync(work)
    log.info("handover: %d initiative(s), %d ticket(s)", result.initiatives, result.tickets)
    return result


async def hand_over_cli(settings: Settings, source_name: str, target_name: str) -> int:
    """`loketbot officers handover FROM TO`."""
    store = await Store.open(settings.database_url)
    try:
        source = await store.officer_by_name(source_name)
        target = await store.officer_by_name(target_name)
        if source is None or target is None:
            missing = source_name if source is None else target_name
            raise LoketbotError(f"no officer named {missing!r}")
        result = await hand_over(store, source, target)
    finally:
        await store.close()
    print(
        f"{result.initiatives} initiative(s) and {result.tickets} open ticket(s) "
        f"handed over from {source.name} to {target.name}"
    )
    return 0


def pass_target(
    name: str, officers: list[OfficerRecord], known_teams: list[TeamRecord]
) -> tuple[OfficerRecord | None, TeamRecord | None] | str:
    """Whom "Bram", "Bram Jansen" or "team Zuid" means, or why it is unclear (Dutch).

    A full name wins, then a first name only one officer has, then a team's name.
    """
    wanted = " ".join(name.split()).casefold()
    if wanted.startswith("team "):
        team = next((t for t in known_teams if t.name.casefold() == wanted[5:]), None)
        return (None, team) if team else f"Geen team '{name[5:].strip()}'."
    people = [o for o in officers if o.role in ("officer", "coordinator")]
    exact = [o for o in people if o.name.casefold() == wanted]
    first = [o for o in people if o.name.casefold().split()[0] == wanted]
    team = next((t for t in known_teams if t.name.casefold() == wanted), None)
    if exact:
        return exact[0], None
    if len(first) == 1:
        return first[0], None
    if len(first) > 1:
        names = ", ".join(o.name for o in first)
        return f"Meer collega's heten zo ({names}): schrijf de hele naam."
    if team is not None:
        return None, team
    return f"Geen collega of team '{name.strip()}'. Zet 'team' voor de naam van een team."
