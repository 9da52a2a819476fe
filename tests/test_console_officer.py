"""Console login and officer pages over HTTP: sessions, CSRF, roles, ticket actions, live queue."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from loketbot.content.bundle import load_content
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.state import Inbound
from loketbot.service.desk import Desk
from loketbot.service.officers import hash_password
from loketbot.service.reload import Reloader
from loketbot.service.tickets import Tickets
from loketbot.store.store import ChatKey, Store, Turn
from loketbot.store.suggestions import mark_suggestion, suggestions
from loketbot.web.app import create_app
from loketbot.web.auth import THROTTLE
from loketbot.web.context import Console
from loketbot.web.officer import EVENTS_POLL
from tests.conftest import ROOT
from tests.dbs import BACKENDS, database

PASSWORD = "correct horse battery"
CITIZEN = ChatKey("terminal", "burger")
XSS = "<script>alert(1)</script>"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ANSWER_KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


@dataclass
class Env:
    """A running console app over a real store, desk and tickets."""

    client: TestClient[Any, Any]
    store: Store
    desk: Desk
    commits: list[int] = field(default_factory=list)


@pytest.fixture(params=BACKENDS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with database(request.param, tmp_path) as url:
        knowledge = tmp_path / "content" / "knowledge"
        flows = tmp_path / "content" / "flows"
        shutil.copytree(ROOT / "knowledge", knowledge)
        shutil.copytree(ROOT / "flows", flows)
        content = load_content(knowledge, flows)
        store = await Store.open(url)
        desk = Desk(
            store,
            Dialogue(content.knowledge, flows=content.flows),
            reopen_window=timedelta(days=3),
            flood_limit=None,  # a whole /profiel and flow in a row is no flood here
        )
        commits: list[int] = []
        console = Console(
            store=store,
            tickets=Tickets(store, officers_chat=None, knowledge=lambda: desk.dialogue.knowledge),
            reloader=Reloader(knowledge, flows, content, install=desk.use),
            session_key=Fernet.generate_key(),
            cookie_secure=False,
            on_commit=lambda: commits.append(1),
        )
        app = create_app(store=store, version=lambda: "test", console=console)
        app[EVENTS_POLL] = 0.05
        for name, role in (("anna", "officer"), ("bert", "officer"), ("eva", "editor")):
            await store.add_officer(name, role=role, password_hash=hash_password(PASSWORD))
        await store.add_officer("tg-only", role="officer", telegram_id=42)  # no console password
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield Env(client, store, desk, commits)
        finally:
            await client.close()
            await store.close()


async def csrf_of(client: TestClient[Any, Any], path: str = "/login") -> str:
    response = await client.get(path)
    found = CSRF.search(await response.text())
    assert found, f"no csrf token on {path}"
    return found.group(1)


async def login(
    client: TestClient[Any, Any], name: str, password: str = PASSWORD, next_path: str = ""
) -> ClientResponse:
    token = await csrf_of(client)
    return await client.post(
        "/login",
        data={"csrf": token, "name": name, "password": password, "next": next_path},
        allow_redirects=False,
    )


async def citizen_ticket(desk: Desk) -> int:
    """A handoff the way a terminal user makes one: question, "talk to a person", extra text."""
    await desk.handle(CITIZEN, Inbound(text="wie wint zondag de wedstrijd?"))
    await desk.handle(CITIZEN, Inbound(text="1"))
    await desk.handle(CITIZEN, Inbound(text="Ik woon in Charlois"))
    (record,) = await desk.store.handoffs("open")
    assert record.question == "wie wint zondag de wedstrijd?"
    return record.ticket


async def plain_ticket(store: Store, question: str, who: str = "x") -> int:
    def _turn1(turn: Turn) -> Any:
        return turn.add_handoff(
            question=question,
            lang="nl",
            context={"candidates": [{"intent": "permit-event", "score": 41.5}]},
            area="Noord",
            topic="permit-event",
        )

    return await store.run_turn(ChatKey("telegram", who), _turn1)


async def post_form(
    client: TestClient[Any, Any], path: str, page: str, **fields: str
) -> ClientResponse:
    """POST a form from `page` with that page's CSRF token."""
    token = await csrf_of(client, page)
    return await client.post(path, data={"csrf": token, **fields}, allow_redirects=False)


# --- login, logout, throttling -----------------------------------------------------------------


async def test_login_and_logout(env: Env) -> None:
    response = await login(env.client, "anna")
    assert response.status == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "loketbot=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = await env.client.get("/")
    assert page.status == 200 and "anna (officer)" in await page.text()
    token = await csrf_of(env.client, "/")
    assert (await env.client.post("/logout", data={}, allow_redirects=False)).status == 403
    out = await env.client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert out.status == 302 and out.headers["Location"].startswith("/login")
    assert "uitgelogd" in await (await env.client.get("/login?out=1")).text()
    after = await env.client.get("/", allow_redirects=False)
    assert after.status == 302 and after.headers["Location"].startswith("/login")


async def test_login_goes_to_next_but_only_on_this_site(env: Env) -> None:
    response = await login(env.client, "anna", next_path="/tickets/7")
    assert response.headers["Location"] == "/tickets/7"
    env.client.session.cookie_jar.clear()
    response = await login(env.client, "anna", next_path="//evil.example/")
    assert response.headers["Location"] == "/"
    env.client.session.cookie_jar.clear()
    response = await login(env.client, "eva")
    assert response.headers["Location"] == "/editor"


async def test_wrong_password_unknown_name_and_no_password_are_refused(env: Env) -> None:
    for name, password in (("anna", "wrong password"), ("nobody", PASSWORD), ("tg-only", "")):
        response = await login(env.client, name, password)
        assert response.status == 200
        assert "Naam of wachtwoord klopt niet." in await response.text()
        assert (await env.client.get("/", allow_redirects=False)).status == 302


async def test_login_without_csrf_is_refused(env: Env) -> None:
    await env.client.get("/login")
    response = await env.client.post(
        "/login", data={"name": "anna", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


async def test_login_is_throttled_after_five_failures(env: Env) -> None:
    now = [1000.0]
    env.client.app[THROTTLE].clock = lambda: now[0]
    for _ in range(5):
        assert (await login(env.client, "anna", "wrong password")).status == 200
    refused = await login(env.client, "anna")  # even the right password now
    assert refused.status == 429
    assert "Te veel mislukte pogingen" in await refused.text()
    # The same address is throttled for other names too.
    assert (await login(env.client, "bert")).status == 429
    now[0] += 14 * 60
    assert (await login(env.client, "anna")).status == 429
    now[0] += 61  # the window has passed
    response = await login(env.client, "anna")
    assert response.status == 302 and response.headers["Location"] == "/"


# --- sessions, CSRF, roles ---------------------------------------------------------------------


async def test_every_officer_page_needs_a_session(env: Env) -> None:
    ticket = await plain_ticket(env.store, "Mag dit?")
    for path in ("/", "/?status=open", f"/tickets/{ticket}", "/events"):
        response = await env.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    for action in ("claim", "answer", "close", "reopen"):
        response = await env.client.post(f"/tickets/{ticket}/{action}", allow_redirects=False)
        assert response.status == 403, action
    assert (await env.client.get("/healthz")).status == 200
    assert (await env.client.get("/login")).status == 200


async def test_a_post_without_a_valid_csrf_token_is_refused(env: Env) -> None:
    ticket = await plain_ticket(env.store, "Mag dit?")
    await login(env.client, "anna")
    for data in ({}, {"csrf": "not-the-token"}):
        response = await env.client.post(
            f"/tickets/{ticket}/claim", data=data, allow_redirects=False
        )
        assert response.status == 403
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "open"


async def test_an_editor_cannot_reach_officer_pages_or_actions(env: Env) -> None:
    ticket = await plain_ticket(env.store, "Mag dit?")
    await login(env.client, "eva")
    # "/" is everyone's start page after login: an editor goes on to their own (issue 13).
    home = await env.client.get("/", allow_redirects=False)
    assert (home.status, home.headers["Location"]) == (302, "/editor")
    for path in (f"/tickets/{ticket}", "/events"):
        assert (await env.client.get(path, allow_redirects=False)).status == 403, path
    token = await csrf_of(env.client, "/login")  # the editor's own, valid token
    for action in ("claim", "close"):
        response = await env.client.post(
            f"/tickets/{ticket}/{action}", data={"csrf": token}, allow_redirects=False
        )
        assert response.status == 403
    response = await env.client.post(
        f"/tickets/{ticket}/answer",
        data={"csrf": token, "text": "Ja", "key": "0" * 32},
        allow_redirects=False,
    )
    assert response.status == 403
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "open" and record.answer is None


# --- ticket actions ----------------------------------------------------------------------------


async def test_claim_answer_close_reopen(env: Env) -> None:
    ticket = await citizen_ticket(env.desk)
    await login(env.client, "anna")
    page = f"/tickets/{ticket}"
    text = await (await env.client.get(page)).text()
    assert "wie wint zondag de wedstrijd?" in text and "Ik woon in Charlois" in text
    assert "binnengekomen" in text  # the history

    response = await post_form(env.client, f"{page}/claim", page)
    assert response.status == 303 and response.headers["Location"] == page
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "claimed" and record.assigned_officer == "anna"
    assert f"Ticket {ticket} is opgepakt." in await (await env.client.get(page)).text()

    # Someone else cannot take it now; the refusal is explained.
    env.client.session.cookie_jar.clear()
    await login(env.client, "bert")
    await post_form(env.client, f"{page}/claim", page)
    refused = await (await env.client.get(page)).text()
    assert f"Dat kan niet: ticket {ticket} is in behandeling (bij anna)" in refused
    env.client.session.cookie_jar.clear()
    await login(env.client, "anna")

    form = await (await env.client.get(page)).text()
    key = ANSWER_KEY.search(form)
    token = CSRF.search(form)
    assert key and token
    data = {
        "csrf": token.group(1),
        "key": key.group(1),
        "text": "Vraag het Sportbedrijf.",
        "useful": "1",
    }
    before = len(env.commits)
    for _ in range(2):  # the same form posted twice (a double click, a resend)
        response = await env.client.post(f"{page}/answer", data=data, allow_redirects=False)
        assert response.status == 303
    assert len(env.commits) == before + 1
    rows = await env.store.outbox_rows(channel="terminal", chat_id="burger")
    answers = [r for r in rows if "Vraag het Sportbedrijf." in str(r.payload.get("text"))]
    assert len(answers) == 1 and answers[0].ticket == ticket
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "answered"
    assert record.answer == "Vraag het Sportbedrijf."
    events = [e.kind for e in await env.store.ticket_events(ticket)]
    assert events.count("answered") == 1
    (suggestion,) = await suggestions(env.store)
    assert suggestion.ticket == ticket and suggestion.answer == "Vraag het Sportbedrijf."
    assert suggestion.question == "wie wint zondag de wedstrijd?"
    await mark_suggestion(env.store, suggestion.id, "used")
    assert await suggestions(env.store) == []
    assert [s.id for s in await suggestions(env.store, "used")] == [suggestion.id]

    # A second answer from a fresh form is a new message.
    form = await (await env.client.get(page)).text()
    key2 = ANSWER_KEY.search(form)
    assert key2 and key2.group(1) != key.group(1)
    await post_form(env.client, f"{page}/answer", page, key=key2.group(1), text="Nog iets.")
    rows = await env.store.outbox_rows(channel="terminal", chat_id="burger")
    assert sum("Nog iets." in str(r.payload.get("text")) for r in rows) == 1
    assert len(await suggestions(env.store)) == 0  # not marked useful

    await post_form(env.client, f"{page}/close", page)
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "closed" and record.closed_at is not None
    await post_form(env.client, f"{page}/reopen", page)
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "open"
    kinds = [e.kind for e in await env.store.ticket_events(ticket)]
    assert kinds == ["created", "claimed", "answered", "answered", "closed", "reopened"]


async def test_an_officer_passes_a_ticket_on_with_a_note(env: Env) -> None:
    ticket = await plain_ticket(env.store, "Wie helpt ons met een vergunning?")
    await login(env.client, "anna")
    page = f"/tickets/{ticket}"
    text = await (await env.client.get(page)).text()
    assert "Doorgeven aan" in text and "<option>bert</option>" in text
    assert "<option>eva</option>" not in text  # an editor takes no tickets
    response = await post_form(
        env.client, f"{page}/pass", page, officer="bert", note="Bert kent dit buurthuis"
    )
    assert response.status == 303
    record = await env.store.handoff(ticket)
    assert record is not None and record.assigned_officer == "bert"
    history = await (await env.client.get(page)).text()
    assert (
        "Bert kent dit buurthuis" in history
        and f"Ticket {ticket} is doorgegeven aan bert" in history
    )
    # Nobody chosen: nothing happens, and the page says why.
    await post_form(env.client, f"{page}/pass", page, note="zomaar")
    assert "Kies een collega of een team" in await (await env.client.get(page)).text()


async def test_an_answer_form_without_its_key_or_text_sends_nothing(env: Env) -> None:
    ticket = await plain_ticket(env.store, "Mag dit?")
    await login(env.client, "anna")
    page = f"/tickets/{ticket}"
    response = await post_form(env.client, f"{page}/answer", page, text="Ja")
    assert response.status == 400
    response = await post_form(env.client, f"{page}/answer", page, text="  ", key="a" * 32)
    assert response.status == 303
    assert await env.store.outbox_rows() == []


async def test_an_unknown_ticket_is_404(env: Env) -> None:
    await login(env.client, "anna")
    assert (await env.client.get("/tickets/999")).status == 404
    response = await post_form(env.client, "/tickets/999/claim", "/")
    assert response.status == 404


async def test_the_ticket_page_marks_the_flow_answers_the_profile_gave(env: Env) -> None:
    """The area came from the initiative's profile, the topic was typed: only the area is
    marked, so the officer knows which answer to check."""
    await env.desk.handle(CITIZEN, Inbound(text="/profiel"))
    for typed in ("Buurtkeuken De Pan", "2", "Charlois", "1", "2"):
        await env.desk.handle(CITIZEN, Inbound(text=typed))
    await env.desk.handle(CITIZEN, Inbound(button="f:find-contact"))
    await env.desk.handle(CITIZEN, Inbound(text="Een ruimte of gebouw"))
    await env.desk.handle(CITIZEN, Inbound(button="h:human"))
    await env.desk.handle(CITIZEN, Inbound(text="welke ruimte in Charlois kunnen we huren?"))
    await env.desk.handle(CITIZEN, Inbound(button="h:skip"))
    (record,) = await env.store.handoffs("open")
    await login(env.client, "anna")
    text = await (await env.client.get(f"/tickets/{record.ticket}")).text()
    assert "Antwoorden in de vragenlijst" in text
    assert "bijvoorbeeld Katendrecht. Charlois <em>(uit het profiel)</em></li>" in text
    assert "Waar gaat je vraag vooral over? een ruimte of gebouw</li>" in text
    assert text.count("<em>(uit het profiel)</em>") == 1  # the area answer only


# --- queue: filters, escaping, live events ------------------------------------------------------


async def test_a_script_in_a_question_shows_as_text(env: Env) -> None:
    ticket = await plain_ticket(env.store, f"Hoi {XSS}")
    await login(env.client, "anna")
    for path in ("/", "/?fragment=1", f"/tickets/{ticket}"):
        text = await (await env.client.get(path)).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
        assert XSS not in text, path


async def test_the_queue_lists_and_filters(env: Env) -> None:
    first = await plain_ticket(env.store, "Eerste vraag", who="a")
    second = await plain_ticket(env.store, "Tweede vraag", who="b")
    await login(env.client, "anna")
    await post_form(env.client, f"/tickets/{first}/claim", f"/tickets/{first}")
    text = await (await env.client.get("/")).text()
    assert "Eerste vraag" in text and "Tweede vraag" in text
    assert "Evenementenvergunning" in text and "Noord" in text  # topic title and area
    text = await (await env.client.get("/?status=open")).text()
    assert "Tweede vraag" in text and "Eerste vraag" not in text
    text = await (await env.client.get("/?mine=1")).text()
    assert "Eerste vraag" in text and "Tweede vraag" not in text
    text = await (await env.client.get(f"/tickets/{second}")).text()
    assert "Evenementenvergunning" in text and "41.5" in text  # the candidates considered


async def read_event(response: ClientResponse) -> tuple[str, str]:
    """The next event's name and data, skipping comments and the retry line."""
    name = data = ""
    while True:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            return name, data


async def test_the_event_stream_announces_a_new_ticket(env: Env) -> None:
    await login(env.client, "anna")
    response = await env.client.get("/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert (await asyncio.wait_for(response.content.readline(), 5)).startswith(b"retry:")
    ticket = await citizen_ticket(env.desk)
    name, data = await asyncio.wait_for(read_event(response), 5)
    assert name == "ticket" and data == f'{{"ticket": {ticket}}}'
    # A change to a ticket (here: a claim) is announced too.
    await env.desk.store.add_officer("carl", role="officer")
    officer = await env.store.officer_by_name("carl")
    assert officer is not None
    tickets = Tickets(env.store, officers_chat=None)
    await tickets.claim(ticket, officer)
    name, _ = await asyncio.wait_for(read_event(response), 5)
    assert name == "change"
    response.close()


async def test_a_forgotten_initiators_ticket_shows_no_text_and_takes_no_answer(env: Env) -> None:
    ticket = await citizen_ticket(env.desk)
    await env.desk.handle(CITIZEN, Inbound(text="/vergeet"))
    await env.desk.handle(CITIZEN, Inbound(button="v:yes"))
    await login(env.client, "anna")
    page = f"/tickets/{ticket}"
    text = await (await env.client.get(page)).text()
    assert "[verwijderd op verzoek]" in text
    assert "wie wint zondag de wedstrijd?" not in text and "Ik woon in Charlois" not in text
    # No answer box: the page says up front that an answer cannot reach anyone (issue 13).
    assert not ANSWER_KEY.search(text) and "is geanonimiseerd" in text
    await post_form(env.client, f"{page}/answer", page, key="0" * 32, text="Hallo?")
    assert "is geanonimiseerd" in await (await env.client.get(page)).text()
    assert not [r for r in await env.store.outbox_rows(status="pending") if r.ticket == ticket]
    await post_form(env.client, f"{page}/close", page)  # closing still works
    record = await env.store.handoff(ticket)
    assert record is not None and record.status == "closed"
