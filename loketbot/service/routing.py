"""Where a ticket goes: the initiative's fixed contact first, then by area and theme.

Pure decisions over records the store read in the ticket's transaction: which team (and so
which Telegram group), which officer, and a reason in plain Dutch for the card. A ticket
nobody covers goes to the coordinators' queue (no team, the shared officers' group).
"""

from __future__ import annotations

__all__ = ["THEMES", "Route", "contact_line", "public_name", "route", "theme_of"]

from collections.abc import Mapping
from dataclasses import dataclass

from loketbot.store.organisation import RoutingFacts, TeamRecord
from loketbot.store.records import OfficerRecord

# The themes officers and teams cover (issue 13): legal form, permits, money, procurement,
# space and buildings, energy, housing, welfare, work.
THEMES: tuple[str, ...] = (
    "rechtsvorm",
    "vergunningen",
    "geld",
    "inkoop",
    "ruimte",
    "energie",
    "wonen",
    "welzijn",
    "werk",
)
_THEME_OF_KIND = {
    "legal_form": "rechtsvorm",
    "permit": "vergunningen",
    "subsidy": "geld",
    "procurement": "inkoop",
}
_THEME_OF_ENTRY = {
    "subsidy-energy": "energie",
    "dept-real-estate": "ruimte",
    "topic-meeting-space": "ruimte",
    "permit-building-use": "ruimte",
    "dept-welfare": "welzijn",
    "dept-work-income": "werk",
    "topic-volunteers-benefit": "werk",
    "topic-housing-cooperative": "wonen",
    "dept-public-space": "vergunningen",
}
_THEME_OF_FLOW = {
    "event-permit-check": "vergunningen",
    "legal-form-advice": "rechtsvorm",
    "subsidy-finder": "geld",
}
# find-contact's "about" answer (Waar gaat je vraag vooral over?)
_THEME_OF_ANSWER = {
    "money": "geld",
    "permit": "vergunningen",
    "space": "ruimte",
    "care": "welzijn",
    "street": "vergunningen",
}
ROUTING_ROLES = ("officer", "coordinator")


def theme_of(
    topic: str | None,
    kind: str | None,
    flow: str | None,
    answers: Mapping[str, object] | None = None,
) -> str | None:
    """The theme of a question: from what a flow's answers say it is about, the knowledge entry
    it matched best, or the flow it came from; None when none of them says."""
    about = (answers or {}).get("about")
    if isinstance(about, str) and about in _THEME_OF_ANSWER:
        return _THEME_OF_ANSWER[about]
    if topic in _THEME_OF_ENTRY:
        return _THEME_OF_ENTRY[topic]
    if kind in _THEME_OF_KIND:
        return _THEME_OF_KIND[kind]
    if flow in _THEME_OF_FLOW:
        return _THEME_OF_FLOW[flow]
    return None


@dataclass(frozen=True)
class Route:
    """The decision: team (None: coordinators' queue), officer (None: the whole group), why."""

    team: TeamRecord | None
    officer: OfficerRecord | None
    reason: str
    contact: bool = False  # the officer is the initiative's fixed contact


def public_name(officer: OfficerRecord) -> str:
    """The name initiators see: the officer's own choice, else the first name."""
    return officer.public_name or officer.name.split()[0]


def contact_line(officer: OfficerRecord) -> str:
    """ "Anna (wijknetwerker, Feijenoord)": public name, role and first area when known."""
    details = [d for d in (officer.public_role, officer.areas[0] if officer.areas else None) if d]
    extra = f" ({', '.join(details)})" if details else ""
    phone = f", tel. {officer.phone}" if officer.phone else ""
    return f"{public_name(officer)}{extra}{phone}"


def _covers(values: tuple[str, ...], value: str | None) -> bool:
    return value is not None and value.casefold() in {v.casefold() for v in values}


def route(
    facts: RoutingFacts,
    *,
    area: str | None,
    area_source: str,
    theme: str | None,
    theme_source: str,
) -> Route:
    """Decide where a ticket goes; `*_source` say where area and theme came from (for the card)."""
    teams = {t.id: t for t in facts.teams}
    officers = [o for o in facts.officers if o.role in ROUTING_ROLES]
    why = []
    if area:
        why.append(f"gebied {area} ({area_source})")
    if theme:
        why.append(f"thema {theme} ({theme_source})")
    initiative = facts.initiative
    if initiative is not None and initiative.contact_officer_id is not None:
        contact = next((o for o in officers if o.id == initiative.contact_officer_id), None)
        if contact is not None:
            home = teams.get(contact.team_id) if contact.team_id is not None else None
            reason = f"{contact.name} is de vaste contactpersoon van dit initiatief"
            if why:
                reason += "; " + ", ".join(why)
            return Route(home, contact, reason, contact=True)

    def team_score(team: TeamRecord) -> int:
        return 2 * _covers(team.areas, area) + _covers(team.themes, theme)

    def officer_score(officer: OfficerRecord) -> int:
        team = teams.get(officer.team_id) if officer.team_id is not None else None
        in_area = _covers(officer.areas, area) or (
            not officer.areas and team is not None and _covers(team.areas, area)
        )
        return 2 * in_area + _covers(officer.themes, theme)

    scored = sorted(((officer_score(o), o.name, o) for o in officers), key=lambda s: (-s[0], s[1]))
    best = [o for score, _, o in scored if score == scored[0][0] and score > 0] if scored else []
    officer = best[0] if len(best) == 1 else None
    team: TeamRecord | None = None
    if officer is not None and officer.team_id is not None:
        team = teams.get(officer.team_id)
    if team is None:
        ranked = sorted(facts.teams, key=lambda t: (-team_score(t), t.name))
        if ranked and team_score(ranked[0]) > 0:
            team = ranked[0]
    if team is None and officer is None:
        missing = ", ".join(why) if why else "geen gebied of thema bekend"
        return Route(None, None, f"niemand gevonden voor {missing}: naar de coördinator")
    parts = list(why)
    if team is not None:
        parts.append(f"team {team.name}")
    if officer is not None:
        parts.append(f"{officer.name} werkt hieraan")
    return Route(team, officer, ", ".join(parts))
