"""Teams, officers' areas and themes, and the initiatives behind the chats (profile, contact).

The async functions take a session from Store.reading()/Store.writing(); the sync ones run
inside a turn or a ticket transaction (an ORM Session on the same connection).
"""

from __future__ import annotations

__all__ = [
    "InitiativeRecord",
    "RoutingFacts",
    "TeamRecord",
    "add_team",
    "forget_initiative",
    "initiative_of",
    "initiatives_of_contact",
    "mark_helped",
    "routing_facts",
    "save_profile",
    "set_contact",
    "set_officer",
    "set_team",
    "teams",
]

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loketbot.errors import StoreError
from loketbot.profile import LIST_COLUMNS, PROFILE_COLUMNS
from loketbot.store.models import (
    OFFICER_ROLES,
    Handoff,
    HandoffEvent,
    Initiative,
    Officer,
    Team,
    utcnow,
)
from loketbot.store.records import OfficerRecord, officer_record


@dataclass(frozen=True)
class TeamRecord:
    """A team: its Telegram group (None: the shared officers' group), areas and themes."""

    id: int
    name: str
    chat_id: str | None
    areas: tuple[str, ...]
    themes: tuple[str, ...]


@dataclass(frozen=True)
class InitiativeRecord:
    """The initiative behind one chat: its profile and its fixed contact (an officer's id)."""

    id: int
    conversation_id: int
    name: str | None
    legal_form: str | None
    area: str | None
    themes: tuple[str, ...]
    stage: str | None
    contact_officer_id: int | None
    updated_at: datetime


def _team(row: Team) -> TeamRecord:
    return TeamRecord(
        row.id, row.name, row.chat_id, tuple(row.areas or ()), tuple(row.themes or ())
    )


def _initiative(row: Initiative) -> InitiativeRecord:
    return InitiativeRecord(
        row.id,
        row.conversation_id,
        row.name,
        row.legal_form,
        row.area,
        tuple(row.themes or ()),
        row.stage,
        row.contact_officer_id,
        row.updated_at,
    )


async def teams(session: AsyncSession) -> list[TeamRecord]:
    """Every team, by name."""
    return [_team(t) for t in (await session.scalars(select(Team).order_by(Team.name))).all()]


async def add_team(
    session: AsyncSession,
    name: str,
    *,
    chat_id: str | None = None,
    areas: list[str] | None = None,
    themes: list[str] | None = None,
) -> TeamRecord:
    """Insert a team; StoreError when the name is taken."""
    name = name.strip()
    if not name:
        raise ValueError("a team needs a name")
    if (await session.scalars(select(Team).where(Team.name == name))).first() is not None:
        raise StoreError(f"a team named {name!r} already exists")
    team = Team(name=name, chat_id=chat_id, areas=areas or None, themes=themes or None)
    team.created_at = utcnow()
    session.add(team)
    await session.flush()
    return _team(team)


async def set_team(
    session: AsyncSession,
    name: str,
    *,
    chat_id: str | None = None,
    areas: list[str] | None = None,
    themes: list[str] | None = None,
) -> TeamRecord:
    """Change a team's group, areas or themes (None: keep); StoreError for an unknown team."""
    team = (await session.scalars(select(Team).where(Team.name == name))).first()
    if team is None:
        raise StoreError(f"no team named {name!r}")
    if chat_id is not None:
        team.chat_id = chat_id or None
    if areas is not None:
        team.areas = areas or None
    if themes is not None:
        team.themes = themes or None
    await session.flush()
    return _team(team)


async def set_officer(session: AsyncSession, name: str, **changes: Any) -> OfficerRecord:
    """Change an officer's role, team (by name, "" for none), areas, themes, public name and
    role, phone or Telegram id; a value None is left as it is. StoreError for unknown names."""
    officer = (await session.scalars(select(Officer).where(Officer.name == name))).first()
    if officer is None:
        raise StoreError(f"no officer named {name!r}")
    for field_name, value in changes.items():
        if value is None:
            continue
        if field_name == "team":
            if value == "":
                officer.team_id = None
                continue
            team = (await session.scalars(select(Team).where(Team.name == value))).first()
            if team is None:
                raise StoreError(f"no team named {value!r}")
            officer.team_id = team.id
        elif field_name == "role":
            if value not in OFFICER_ROLES:
                raise ValueError(f"role must be one of {OFFICER_ROLES}, not {value!r}")
            officer.role = value
        elif field_name in ("areas", "themes"):
            setattr(officer, field_name, list(value) or None)
        elif field_name in ("public_name", "public_role", "phone"):
            setattr(officer, field_name, str(value).strip() or None)
        elif field_name == "telegram_id":
            officer.telegram_id = int(value)
        else:
            raise ValueError(f"unknown officer field {field_name!r}")
    await session.flush()
    return officer_record(officer)


@dataclass(frozen=True)
class RoutingFacts:
    """What routing a ticket needs to know, read in the turn's transaction."""

    teams: tuple[TeamRecord, ...]
    officers: tuple[OfficerRecord, ...]
    initiative: InitiativeRecord | None


def routing_facts(session: Session, conversation_id: int) -> RoutingFacts:
    """Teams, officers and the chat's initiative, inside a turn or ticket transaction."""
    team_rows = session.scalars(select(Team).order_by(Team.name)).all()
    officer_rows = session.scalars(select(Officer).order_by(Officer.name)).all()
    return RoutingFacts(
        tuple(_team(t) for t in team_rows),
        tuple(officer_record(o) for o in officer_rows),
        initiative_of(session, conversation_id),
    )


def initiative_of(session: Session, conversation_id: int) -> InitiativeRecord | None:
    """The chat's initiative, or None."""
    row = session.scalars(
        select(Initiative).where(Initiative.conversation_id == conversation_id)
    ).first()
    return None if row is None else _initiative(row)


def _initiative_row(session: Session, conversation_id: int) -> Initiative:
    row = session.scalars(
        select(Initiative).where(Initiative.conversation_id == conversation_id).with_for_update()
    ).first()
    if row is None:
        row = Initiative(conversation_id=conversation_id, updated_at=utcnow())
        session.add(row)
        session.flush()
    return row


def save_profile(session: Session, conversation_id: int, **profile: Any) -> InitiativeRecord:
    """Set the profile columns given (PROFILE_COLUMNS' values: name, ..., themes, stage)."""
    row = _initiative_row(session, conversation_id)
    for key, value in profile.items():
        if key not in PROFILE_COLUMNS.values():
            raise ValueError(f"unknown profile field {key!r}")
        setattr(row, key, (list(value) or None) if key in LIST_COLUMNS else (value or None))
    row.updated_at = utcnow()
    session.flush()
    return _initiative(row)


def set_contact(session: Session, conversation_id: int, officer_id: int | None) -> None:
    """Make `officer_id` the chat's fixed contact."""
    row = _initiative_row(session, conversation_id)
    row.contact_officer_id = officer_id
    row.updated_at = utcnow()
    session.flush()


def initiatives_of_contact(session: Session, officer_id: int) -> list[InitiativeRecord]:
    """The initiatives whose fixed contact is `officer_id`."""
    query = select(Initiative).where(Initiative.contact_officer_id == officer_id)
    return [_initiative(r) for r in session.scalars(query.order_by(Initiative.id)).all()]


def forget_initiative(session: Session, conversation_id: int) -> None:
    """Delete the chat's initiative (profile and contact): /vergeet, `loketbot purge`."""
    session.execute(delete(Initiative).where(Initiative.conversation_id == conversation_id))


def mark_helped(session: Session, conversation_id: int, ticket: int, helped: bool) -> bool:
    """Record whether the officer's answer on the chat's `ticket` helped; False when that was
    said already (the buttons work once) or the ticket is not this chat's."""
    row = session.scalars(
        select(Handoff)
        .where(Handoff.id == ticket, Handoff.conversation_id == conversation_id)
        .with_for_update()
    ).first()
    if row is None or row.helped is not None:
        return False
    now = utcnow()
    row.helped = helped
    session.add(
        HandoffEvent(handoff_id=ticket, kind="helped" if helped else "unclear", created_at=now)
    )
    session.flush()
    return True
