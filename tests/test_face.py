"""One face at the municipality (issue 13): routing by area and theme, the fixed contact,
handing an initiative over, answer times in working days, reminders and escalation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loketbot.content.bundle import load_content
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Inbound
from loketbot.service.answertime import Promise, local_text, parse_promise
from loketbot.service.deadlines import Deadlines
from loketbot.service.desk import Desk
from loketbot.service.organisation import hand_over, pass_target
from loketbot.service.routing import route
from loketbot.service.sender import Sender
from loketbot.service.tickets import Tickets, passed_to
from loketbot.store.organisation import RoutingFacts, TeamRecord, add_team, set_officer
from loketbot.store.records import OfficerRecord, OutboxRecord
from loketbot.store.store import ChatKey, Store
from tests.conftest import ROOT
from tests.dbs import BACKENDS, database

SHARED = "-100100"
ZUID = "-100200"
CITIZEN = ChatKey("telegram", "5005")
AMS = "Europe/Amsterdam"


def at(text: str) -> datetime:
    """An Amsterdam wall-clock time as an aware UTC datetime."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(AMS)).astimezone(UTC)


# -- answer times: working days, office hours, public holidays (fixed times, no clock) ------


def test_two_working_days_skip_the_weekend() -> None:
    promise = parse_promise("2 werkdagen")
    assert promise is not None and promise.hours == 16
    assert promise.due(at("2026-12-04 16:00")) == at("2026-12-08 16:00")  # Fri -> Tue
    assert promise.due(at("2026-12-05 11:00")) == at("2026-12-08 17:00")  # Sat counts from Mon
    assert promise.due(at("2026-12-07 20:00")) == at("2026-12-09 17:00")  # after hours


def test_public_holidays_do_not_count() -> None:
    promise = parse_promise("2 werkdagen")
    assert promise is not None
    # 24 Dec (Thu) 16:00: 1 h that day, Christmas Fri and Sat, Boxing Day, Sunday: Mon and Tue.
    assert promise.due(at("2026-12-24 16:00")) == at("2026-12-29 16:00")
    # King's Day 2026 is Monday 27 April; Easter Monday is 6 April.
    assert promise.due(at("2026-04-24 09:00")) == at("2026-04-28 17:00")
    assert promise.due(at("2026-04-03 09:00")) == at("2026-04-08 17:00")  # Good Friday too


def test_hours_promise_reminder_and_time_left() -> None:
    promise = parse_promise("8 werkuren")
    assert promise is not None
    start = at("2026-12-04 13:00")  # Friday
    assert promise.due(start) == at("2026-12-07 13:00")
    assert promise.remind(start) == at("2026-12-07 11:00")
    assert promise.left(at("2026-12-05 12:00"), promise.due(start)) == "nog 4 u"
    assert promise.left(at("2026-12-07 15:00"), promise.due(start)) == "2 u te laat"
    assert promise.between(at("2026-12-05 09:00"), at("2026-12-06 18:00")) == 0
    assert local_text(at("2026-12-08 16:00")) == "di 8 dec 16:00"
    assert parse_promise("snel") is None and parse_promise("") is None


# -- routing (pure) -------------------------------------------------------------------------


def _officer(i: int, name: str, **kw: Any) -> OfficerRecord:
    return OfficerRecord(i, name, kw.pop("role", "officer"), kw.pop("tg", None), None, **kw)


def test_pass_target_reads_full_names_unique_first_names_and_teams() -> None:
    def officer(n: int, name: str, role: str = "officer") -> OfficerRecord:
        return OfficerRecord(n, name, role, None, None)

    anna, anne, bram = officer(1, "Anna de Vries"), officer(2, "Anna Bakker"), officer(3, "Bram")
    editor = officer(4, "Eva", "editor")
    zuid = TeamRecord(1, "Zuid", ZUID, (), ())
    people, known = [anna, anne, bram, editor], [zuid]
    assert pass_target("anna  de vries", people, known) == (anna, None)
    assert pass_target("BRAM", people, known) == (bram, None)
    assert pass_target("team zuid", people, known) == (None, zuid)
    assert pass_target("Zuid", people, known) == (None, zuid)
    assert "Anna de Vries, Anna Bakker" in str(pass_target("Anna", people, known))
    assert "Geen collega of team 'Eva'" in str(pass_target("Eva", people, known))
    assert str(pass_target("team Noord", people, known)) == "Geen team 'Noord'."


def test_passed_to_names_the_officer_the_team_or_both() -> None:
    bram, zuid = _officer(3, "Bram Jansen"), TeamRecord(1, "Zuid", ZUID, (), ())
    assert passed_to(bram, None) == "Bram Jansen"
    assert passed_to(None, zuid) == "team Zuid"
    assert passed_to(bram, zuid) == "Bram Jansen en team Zuid"


def test_route_prefers_contact_then_area_and_theme_else_coordinator() -> None:
    zuid = TeamRecord(1, "Zuid", ZUID, ("Charlois", "Feijenoord"), ())
    noord = TeamRecord(2, "Noord", None, ("Noord",), ())
    anna = _officer(1, "Anna de Vries", team_id=1, areas=("Charlois",), themes=("vergunningen",))
    bram = _officer(2, "Bram", team_id=1, areas=("Feijenoord",))
    facts = RoutingFacts((zuid, noord), (anna, bram), None)
    found = route(facts, area="Charlois", area_source="x", theme="vergunningen", theme_source="y")
    assert (found.team, found.officer) == (zuid, anna)
    assert "gebied Charlois (x)" in found.reason and "team Zuid" in found.reason
    found = route(facts, area="Noord", area_source="x", theme=None, theme_source="y")
    assert (found.team, found.officer) == (noord, None)
    found = route(facts, area=None, area_source="x", theme=None, theme_source="y")
    assert (found.team, found.officer) == (None, None)
    assert "coördinator" in found.reason


# -- the desk, tickets, handover and deadlines on a real store --------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    store: Store
    url: str
    desk: Desk
    tickets: Tickets
    clock: Clock
    promise: Promise
    sent: list[tuple[str, str, dict[str, Any]]]

    async def deliver(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Send what is due, as Telegram would; returns what went out this time."""
        start = len(self.sent)

        async def deliver(row: OutboxRecord, payload: dict[str, Any]) -> dict[str, Any]:
            self.sent.append((row.chat_id, row.kind, payload))
            return {"message_id": 700 + len(self.sent)}

        sender = Sender(self.store, {"telegram": deliver})
        while await sender.run_once():
            pass
        return self.sent[start:]

    async def officer(self, name: str) -> OfficerRecord:
        found = await self.store.officer_by_name(name)
        assert found is not None
        return found

    async def ask(self, question: str) -> int:
        await self.desk.handle(CITIZEN, Inbound(text=question))
        await self.desk.handle(CITIZEN, Inbound(text="/mens"))
        await self.desk.handle(CITIZEN, Inbound(button="h:skip"))
        mine = [h for h in await self.store.handoffs() if h.external_id == CITIZEN.external_id]
        return mine[-1].ticket


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with database(request.param, tmp_path) as url:
        store = await Store.open(url)
        content = load_content(ROOT / "knowledge", ROOT / "flows")
        clock = Clock(at("2026-12-04 10:00"))  # a Friday
        promise = parse_promise("2 werkdagen")
        assert promise is not None
        desk = Desk(
            store,
            Dialogue(content.knowledge, flows=content.flows, expected_answer="2 werkdagen"),
            officers_chat=SHARED,
            flood_limit=None,
            clock=clock,
            promise=promise,
        )
        tickets = Tickets(store, officers_chat=SHARED, knowledge=lambda: content.knowledge)
        async with store.writing("set up") as session:
            await add_team(session, "Zuid", chat_id=ZUID, areas=["Charlois", "Feijenoord"])
        await store.add_officer("Anna de Vries", telegram_id=111)
        await store.add_officer("Bram Jansen", telegram_id=222)
        await store.add_officer("Cora", role="coordinator", telegram_id=333)
        async with store.writing("set up") as session:
            await set_officer(
                session,
                "Anna de Vries",
                team="Zuid",
                areas=["Feijenoord", "Charlois"],
                themes=["vergunningen"],
                public_role="wijknetwerker",
            )
            await set_officer(session, "Bram Jansen", team="Zuid", areas=["Feijenoord"])
        try:
            yield World(store, url, desk, tickets, clock, promise, [])
        finally:
            await store.close()


async def test_buurtfeest_in_charlois_reaches_zuid_and_anna_who_becomes_the_contact(
    world: World,
) -> None:
    ticket = await world.ask("we willen een buurtfeest in Charlois, hoe regel ik dat?")
    record = await world.store.handoff(ticket)
    assert record is not None
    assert (record.area, record.theme, record.route_chat) == ("Charlois", "vergunningen", ZUID)
    assert record.assigned_officer == "Anna de Vries"
    assert record.due_at == at("2026-12-08 10:00")
    out = await world.deliver()
    cards = [p for chat, _, p in out if chat == ZUID and p.get("card")]
    assert len(cards) == 1
    assert "Waarom hier: gebied Charlois (genoemd in de vraag)" in cards[0]["text"]
    assert "team Zuid" in cards[0]["text"] and "uiterlijk: di 8 dec 10:00" in cards[0]["text"]
    assert not [p for chat, _, p in out if chat == SHARED]  # not in the shared group
    assert any(chat == "111" and f"ticket {ticket}" in p["text"] for chat, _, p in out)

    anna = await world.officer("Anna de Vries")
    await world.tickets.answer(ticket, anna, "Een melding is genoeg.", key="a1")
    out = await world.deliver()
    to_citizen = [p for chat, _, p in out if chat == CITIZEN.external_id]
    assert "Een melding is genoeg." in to_citizen[0]["text"]
    assert [b[1] for b in to_citizen[0]["buttons"]] == [f"hp:yes:{ticket}", f"hp:no:{ticket}"]
    contact = "Je vaste contactpersoon is Anna (wijknetwerker, Feijenoord)"
    assert contact in to_citizen[1]["text"]
    await world.tickets.answer(ticket, anna, "Nog een aanvulling.", key="a2")
    out = await world.deliver()
    assert not any("vaste contactpersoon" in p["text"] for _, _, p in out)  # told once

    # "Did it help?": once.
    replies = await world.desk.handle(CITIZEN, Inbound(button=f"hp:no:{ticket}"))
    assert "onduidelijk" in replies[0].text
    replies = await world.desk.handle(CITIZEN, Inbound(button=f"hp:yes:{ticket}"))
    assert "al op geantwoord" in replies[0].text
    assert (await world.store.handoff(ticket)).helped is False  # type: ignore[union-attr]
    # What is still unclear goes straight onto the ticket, which opens again.
    replies = await world.desk.handle(CITIZEN, Inbound(text="mag het ook op zondag?"))
    assert f"ticket {ticket}" in replies[0].text
    reopened = await world.store.handoff(ticket)
    assert reopened is not None and reopened.status == "open"
    events = [e for e in await world.store.ticket_events(ticket) if e.kind == "followup"]
    assert any("zondag" in (e.text or "") for e in events)
    await world.tickets.answer(ticket, anna, "Ja, ook op zondag.", key="a3")

    replies = await world.desk.handle(CITIZEN, Inbound(text="/contact"))
    assert contact in replies[0].text

    # The next question, about anything, goes to Anna first.
    world.clock.now += timedelta(days=5)  # past the reopen window
    second = await world.ask("hoe richt ik een stichting op?")
    record = await world.store.handoff(second)
    assert record is not None and record.assigned_officer == "Anna de Vries"
    out = await world.deliver()
    card = next(p for chat, _, p in out if p.get("card"))
    assert "Bij: Anna de Vries (vaste contactpersoon)" in card["text"]
    assert "vaste contactpersoon van dit initiatief" in card["text"]

    # Anna leaves: one action hands her initiatives (and open tickets) to Bram.
    bram = await world.officer("Bram Jansen")
    result = await hand_over(world.store, anna, bram)
    assert (result.initiatives, result.tickets) == (1, 1)
    out = await world.deliver()
    told = [p for chat, _, p in out if chat == CITIZEN.external_id]
    assert len(told) == 1 and "nieuwe vaste contactpersoon: Bram" in told[0]["text"]
    assert (await world.store.handoff(second)).assigned_officer == "Bram Jansen"  # type: ignore[union-attr]
    assert (await hand_over(world.store, anna, bram)).initiatives == 0
    replies = await world.desk.handle(CITIZEN, Inbound(text="/contact"))
    assert "Bram" in replies[0].text
    events = [e.kind for e in await world.store.ticket_events(second)]
    assert "passed" in events


async def test_a_neighbourhood_in_the_question_routes_by_its_area(world: World) -> None:
    """knowledge/areas.yaml, without a finder given: Katendrecht lies in Feijenoord."""
    ticket = await world.ask("we willen een moestuin beginnen in Katendrecht, wie helpt?")
    record = await world.store.handoff(ticket)
    assert record is not None
    assert (record.area, record.route_chat) == ("Feijenoord", ZUID)


async def test_unroutable_ticket_goes_to_the_coordinators_queue(world: World) -> None:
    ticket = await world.ask("wie wint zondag de wedstrijd?")
    record = await world.store.handoff(ticket)
    assert record is not None
    assert (record.team_id, record.assigned_officer, record.route_chat) == (None, None, SHARED)
    assert "coördinator" in (record.route_reason or "")


async def test_pass_a_ticket_to_another_team_with_a_note(world: World) -> None:
    ticket = await world.ask("wie wint zondag de wedstrijd?")
    await world.deliver()
    anna = await world.officer("Anna de Vries")
    bram = await world.officer("Bram Jansen")
    async with world.store.reading("t") as session:
        from loketbot.store.organisation import teams

        zuid = (await teams(session))[0]
    after = await world.tickets.pass_on(ticket, anna, to_officer=bram, to_team=zuid, note="Zuid")
    assert after.route_chat == ZUID and after.assigned_officer == "Bram Jansen"
    out = await world.deliver()
    assert any(chat == ZUID and p.get("card") for chat, _, p in out)
    assert any(chat == "222" and "Notitie: Zuid" in p["text"] for chat, _, p in out)
    events = await world.store.ticket_events(ticket)
    assert events[-1].kind == "passed" and events[-1].text == "naar Bram Jansen en team Zuid: Zuid"


async def test_overdue_ticket_reminds_escalates_and_tells_once_with_two_instances(
    world: World,
) -> None:
    ticket = await world.ask("we willen een buurtfeest in Charlois, hoe regel ik dat?")
    await world.deliver()
    other = await Store.open(world.url)  # a second instance on the same database
    try:

        def watchers() -> list[Deadlines]:
            return [
                Deadlines(s, world.promise, officers_chat=SHARED, clock=world.clock)
                for s in (world.store, other)
            ]

        world.clock.now = at("2026-12-06 12:00")  # Sunday: only Friday's 7 working hours gone
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 0
        world.clock.now = at("2026-12-07 13:59")  # Monday: 11 h 59 of 16 gone
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 0
        world.clock.now = at("2026-12-07 14:00")  # 12 h gone (75% of 16): remind
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 1
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 0
        out = await world.deliver()
        assert [c for c, _, p in out if "⏰" in p["text"]] == ["111", ZUID]
        world.clock.now = at("2026-12-08 10:00")  # the deadline
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 1
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 0
        out = await world.deliver()
        assert sorted(c for c, _, p in out if "⚠️" in p["text"]) == sorted(["333", ZUID])
        late = [p["text"] for c, _, p in out if c == CITIZEN.external_id]
        assert len(late) == 1 and "Het duurt langer dan beloofd" in late[0]
        assert "uiterlijk do 10 dec 10:00" in late[0]
        world.clock.now = at("2026-12-20 10:00")
        assert sum(await asyncio.gather(*(w.run_once() for w in watchers()))) == 0
        kinds = [e.kind for e in await world.store.ticket_events(ticket)]
        assert (kinds.count("reminded"), kinds.count("escalate"), kinds.count("late")) == (1, 1, 1)
    finally:
        await other.close()
