"""Editor pages, stats and /metrics; knowledge edits on a copy of knowledge/, over HTTP too."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from sqlalchemy import update

from loketbot.content.bundle import load_content
from loketbot.content.edit import NewEntry, add_entry, add_examples
from loketbot.content.knowledge import check
from loketbot.conversation.dialogue import Dialogue
from loketbot.service.metrics import exposition
from loketbot.service.officers import hash_password
from loketbot.service.reload import Reloader
from loketbot.service.tickets import Tickets
from loketbot.store.insight import counts, insight, unknown_questions
from loketbot.store.models import Handoff, utcnow
from loketbot.store.store import ChatKey, Store, Turn
from loketbot.store.suggestions import add_suggestion, suggestions
from loketbot.understanding.grouping import group_questions
from loketbot.understanding.matcher import Matcher
from loketbot.web.app import create_app
from loketbot.web.context import Console
from tests.conftest import ROOT
from tests.dbs import BACKENDS, database

# Goes to a person with the shipped knowledge; after the editor adds it, it must be answered.
NEW_QUESTION = "draaiorgel in de straat zetten mag dat"
TARGET = "permit-public-space"
ALREADY_ELSEWHERE = "stichting oprichten"  # an example of legal-form-stichting


@pytest.fixture
def content_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped knowledge/ and flows/, so edits never touch the repository."""
    knowledge = tmp_path / "content" / "knowledge"
    flows = tmp_path / "content" / "flows"
    shutil.copytree(ROOT / "knowledge", knowledge)
    shutil.copytree(ROOT / "flows", flows)
    return knowledge, flows


# --- kbedit ------------------------------------------------------------------------------------


def test_add_examples_keeps_comments_and_layout(content_dirs: tuple[Path, Path]) -> None:
    knowledge, flows = content_dirs
    path = knowledge / "permits.yaml"
    before = path.read_text(encoding="utf-8")
    assert add_examples(knowledge, TARGET, "nl", [NEW_QUESTION], flows_dir=flows) == []
    after = path.read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == [f"        - {NEW_QUESTION}"]
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert after.splitlines()[0] == before.splitlines()[0]  # the file's leading comment
    assert after.startswith("# knowledge/permits.yaml")
    loaded, problems = check(knowledge)
    assert problems == [] and loaded is not None
    assert NEW_QUESTION in loaded.by_id[TARGET].examples["nl"]


def test_add_examples_skips_what_is_there_and_refuses_nothing_new(
    content_dirs: tuple[Path, Path],
) -> None:
    knowledge, _flows = content_dirs
    assert add_examples(knowledge, TARGET, "en", ["Street organ on the pavement?"]) == []
    problems = add_examples(knowledge, TARGET, "en", ["street organ on the pavement"])
    assert len(problems) == 1 and "already" in problems[0].message
    assert add_examples(knowledge, "no-such-entry", "nl", ["x y"])[0].message.startswith("no entry")


def test_add_examples_that_would_break_the_set_is_refused(content_dirs: tuple[Path, Path]) -> None:
    knowledge, flows = content_dirs
    path = knowledge / "permits.yaml"
    before = path.read_bytes()
    problems = add_examples(knowledge, TARGET, "nl", [ALREADY_ELSEWHERE], flows_dir=flows)
    assert len(problems) == 1
    text = str(problems[0])
    assert re.match(rf"{re.escape(str(path))}:\d+: example 'stichting oprichten'", text), text
    assert "legal-form-stichting" in text and str(knowledge / "legal_forms.yaml") in text
    assert path.read_bytes() == before
    assert not list(knowledge.parent.glob("**/.permits.yaml.*"))  # no temporary file left


def test_add_entry_goes_to_the_file_of_its_kind(content_dirs: tuple[Path, Path]) -> None:
    knowledge, flows = content_dirs
    new = NewEntry(
        id="topic-barrel-organ",
        kind="topic",
        title_nl="Draaiorgel, straatmuziek",
        title_en="Barrel organ",
        answer_nl="Voor muziek op straat gelden regels.\n\nVolgende stap: vraag het de gemeente.",
        answer_en="Street music has rules.\n\nNext step: ask the municipality.",
        examples_nl=[f"draaiorgel vraag {word}" for word in "abcdefgh"],
        examples_en=["barrel organ in the street", "organ grinder rules", "street organ music"],
        department="dept-public-space",
    )
    topics = knowledge / "topics.yaml"
    before = topics.read_text(encoding="utf-8")
    assert add_entry(knowledge, new, flows_dir=flows) == []
    after = topics.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n") + "\n\n  - id: topic-barrel-organ\n")
    assert 'title: {nl: "Draaiorgel, straatmuziek", en: Barrel organ}' in after
    content = load_content(knowledge, flows)
    entry = content.knowledge.by_id["topic-barrel-organ"]
    assert entry.answer["nl"].startswith("Voor muziek op straat") and len(entry.examples["nl"]) == 8
    # The same id again is refused: nothing written.
    assert any("duplicate id" in p.message for p in add_entry(knowledge, new, flows_dir=flows))
    assert topics.read_text(encoding="utf-8") == after


def test_add_entry_with_too_few_examples_is_refused(content_dirs: tuple[Path, Path]) -> None:
    knowledge, flows = content_dirs
    before = (knowledge / "topics.yaml").read_bytes()
    new = NewEntry(id="topic-x", kind="topic", title_nl="X", answer_nl="Y", examples_nl=["a b"])
    problems = add_entry(knowledge, new, flows_dir=flows)
    assert any("add at least 8" in p.message for p in problems)
    assert (knowledge / "topics.yaml").read_bytes() == before


def test_group_questions_biggest_first() -> None:
    groups = group_questions(
        [
            ("Hoe vraag ik subsidie aan?", "subsidy-x"),
            ("hoe vraag ik subsidie aan", "subsidy-x"),
            ("subsidie aanvragen hoe", None),
            ("waar is het stadhuis", None),
            ("stadhuis waar", None),
            ("hondenbelasting betalen", None),
            ("/start", None),
        ]
    )
    assert [g.count for g in groups] == [3, 2, 1, 1]
    assert groups[0].intent == "subsidy-x"
    assert set(groups[0].texts) == {"Hoe vraag ik subsidie aan?", "subsidie aanvragen hoe"}


# --- store_insight -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    text: str
    intent: str | None = None
    score: float | None = None
    action: str | None = None


FIXTURE = [
    Said("wat is een stichting", "legal-form-stichting", 80.0, "answer"),
    Said("stichting of vereniging", "legal-form-stichting", 60.0, "answer"),
    Said("evenementenvergunning aanvragen", "permit-event", 75.0, "answer"),
    Said(NEW_QUESTION, None, 13.4, "handoff"),
    Said("draaiorgel op straat mag dat", None, 12.0, "handoff"),
    Said("springkussen op de stoep", "permit-street-party", 20.9, "clarify"),
    Said("/start"),
    Said("[fb:yes]", None, None, None),
]


async def seed(store: Store) -> None:
    """Two chats: 8 inbound messages (6 questions), 1 reply, 2 handoffs (1 answered), feedback."""
    for number, chunk in enumerate((FIXTURE[:4], FIXTURE[4:])):

        def _turn1(turn: Turn, number: int = number, chunk: Any = chunk) -> None:
            for said in chunk:
                turn.add_message(
                    "in", said.text, intent=said.intent, score=said.score, action=said.action
                )
            if number == 0:
                turn.add_message("out", "antwoord")
            turn.add_handoff(question=chunk[-1].text, lang="nl", context={})
            turn.add_feedback("legal-form-stichting", number == 0)
            turn.add_feedback("legal-form-stichting", True)
            turn.add_feedback("permit-event", False)

        await store.run_turn(ChatKey("memory", f"user-{number}"), _turn1)
    async with store.writing("answer a ticket in the test") as session:
        first = await session.get(Handoff, 1)
        assert first is not None
        await session.execute(
            update(Handoff)
            .where(Handoff.id == 1)
            .values(answered_at=first.created_at + timedelta(hours=2), status="answered")
        )


async def test_insight_figures(store: Store) -> None:
    await seed(store)
    figures = await insight(store, now=utcnow())
    assert figures.questions == 6  # commands and button presses are no questions
    assert sum(n for _, n in figures.per_day) == 6 and len(figures.per_day) == 30
    assert figures.per_day[-1][1] == 6
    assert figures.top_topics == [("legal-form-stichting", 2), ("permit-event", 1)]
    assert figures.handed_off == 2 and figures.answered == 1
    assert figures.median_answer == timedelta(hours=2)
    by_entry = {f.entry_id: (f.helped, f.not_helped) for f in figures.feedback}
    assert by_entry == {"legal-form-stichting": (3, 1), "permit-event": (0, 2)}
    unknown = await unknown_questions(store, since=utcnow() - timedelta(days=30))
    assert {q.text for q in unknown} == {
        NEW_QUESTION,
        "draaiorgel op straat mag dat",
        "springkussen op de stoep",
    }
    totals = await counts(store)
    assert totals.messages == {"in": 8, "out": 1}
    assert totals.handoffs == {"open": 1, "answered": 1}
    text = exposition(totals).decode()
    assert 'loketbot_messages_total{direction="in"} 8.0' in text
    assert 'loketbot_handoffs{status="answered"} 1.0' in text
    assert "loketbot_match_seconds_bucket" in text


def test_matcher_routes_an_added_example(content_dirs: tuple[Path, Path]) -> None:
    knowledge, flows = content_dirs
    before = Matcher(load_content(knowledge, flows).knowledge).match(NEW_QUESTION)
    assert (before.intent, before.action) != (TARGET, "answer")
    assert add_examples(knowledge, TARGET, "nl", [NEW_QUESTION], flows_dir=flows) == []
    match = Matcher(load_content(knowledge, flows).knowledge).match(NEW_QUESTION)
    assert (match.intent, match.action) == (TARGET, "answer")


# --- over HTTP ---------------------------------------------------------------------------------

PASSWORD = "een-lang-wachtwoord"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Site:
    client: TestClient[web.Request, web.Application]
    console: Console
    installed: list[Dialogue]
    knowledge: Path


@pytest.fixture(params=BACKENDS)
async def site(
    request: pytest.FixtureRequest, tmp_path: Path, content_dirs: tuple[Path, Path]
) -> AsyncIterator[Site]:
    """The console over a copy of the content; permit-event was last reviewed in 2024."""
    knowledge, flows = content_dirs
    permits = knowledge / "permits.yaml"
    text = permits.read_text(encoding="utf-8")
    permits.write_text(text.replace("reviewed: 2026-12-04", "reviewed: 2024-01-02", 1), "utf-8")
    async with database(request.param, tmp_path) as url:
        store = await Store.open(url)
        installed: list[Dialogue] = []
        reloader = Reloader(
            knowledge, flows, load_content(knowledge, flows), install=installed.append
        )
        tickets = Tickets(store, officers_chat=None, knowledge=lambda: reloader.content.knowledge)
        console = Console(store, tickets, reloader, Fernet.generate_key(), cookie_secure=False)
        for name, role in (("Eva Editor", "editor"), ("Otto Officer", "officer")):
            await store.add_officer(name, role=role, password_hash=hash_password(PASSWORD))
        app = create_app(
            store=store, version=lambda: reloader.content.knowledge.version, console=console
        )
        try:
            async with TestClient(TestServer(app)) as client:
                yield Site(client, console, installed, knowledge)
        finally:
            await store.close()


async def login(site: Site, name: str) -> None:
    page = await (await site.client.get("/login")).text()
    token = CSRF.search(page)
    assert token is not None
    response = await site.client.post(
        "/login",
        data={"csrf": token.group(1), "name": name, "password": PASSWORD, "next": ""},
        allow_redirects=False,
    )
    assert response.status == 302, await response.text()


async def csrf_of(site: Site, path: str) -> str:
    response = await site.client.get(path)
    assert response.status == 200
    token = CSRF.search(await response.text())
    assert token is not None
    return token.group(1)


async def test_editor_pages_need_a_session(site: Site) -> None:
    for path in ("/editor", "/editor/entries", "/editor/entries/new", "/stats"):
        response = await site.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/login?next=")
    for path in ("/editor/examples", "/editor/entries/new", "/editor/suggestions/1/dismiss"):
        response = await site.client.post(path, data={"csrf": "x"}, allow_redirects=False)
        assert response.status == 403, path
    assert (await site.client.get("/metrics")).status == 200  # scraped without a login


async def test_post_without_a_valid_csrf_token_is_refused(site: Site) -> None:
    await login(site, "Eva Editor")
    before = (site.knowledge / "permits.yaml").read_bytes()
    form = {"entry": TARGET, "lang": "nl", "question": NEW_QUESTION}
    assert (await site.client.post("/editor/examples", data=form)).status == 403
    assert (await site.client.post("/editor/examples", data={**form, "csrf": "nope"})).status == 403
    new = {"id": "topic-x", "kind": "topic", "title_nl": "X", "answer_nl": "Y"}
    assert (await site.client.post("/editor/entries/new", data=new)).status == 403
    assert (site.knowledge / "permits.yaml").read_bytes() == before and site.installed == []


async def test_an_officer_cannot_reach_editor_pages(site: Site) -> None:
    await login(site, "Otto Officer")
    token = await csrf_of(site, "/stats")  # officers do see the stats
    for path in ("/editor", "/editor/entries", "/editor/entries/new"):
        assert (await site.client.get(path)).status == 403, path
    form = {"csrf": token, "entry": TARGET, "lang": "nl", "question": NEW_QUESTION}
    assert (await site.client.post("/editor/examples", data=form)).status == 403
    assert site.installed == []


async def test_editor_adds_a_grouped_question_and_the_bot_answers_it(site: Site) -> None:
    await seed(site.console.store)
    await login(site, "Eva Editor")
    path = site.knowledge / "permits.yaml"
    before = path.read_text(encoding="utf-8")
    page = await (await site.client.get("/editor")).text()
    # The two street-organ questions form the biggest group; the commands are not listed.
    first = page.index('<section class="group"')
    assert page.index(NEW_QUESTION) > first and "2×" in page[first : first + 300]
    assert "/start" not in page and "[fb:yes]" not in page
    token = CSRF.search(page)
    assert token is not None
    response = await site.client.post(
        "/editor/examples",
        data={"csrf": token.group(1), "entry": TARGET, "lang": "nl", "question": NEW_QUESTION},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/editor"
    assert "De bot gebruikt ze nu." in await (await site.client.get("/editor")).text()
    after = path.read_text(encoding="utf-8")
    assert after.splitlines()[0] == before.splitlines()[0]
    assert after.startswith("# knowledge/permits.yaml")  # the file's comment is kept
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [
        f"        - {NEW_QUESTION}"
    ]
    assert check(site.knowledge)[1] == []
    assert len(site.installed) == 1  # reloaded without a restart
    match = site.installed[0].matcher.match(NEW_QUESTION)
    assert (match.intent, match.action) == (TARGET, "answer")
    assert Matcher(site.console.reloader.content.knowledge).match(NEW_QUESTION).intent == TARGET


async def test_a_breaking_change_is_refused_with_file_and_line(site: Site) -> None:
    await login(site, "Eva Editor")
    path = site.knowledge / "permits.yaml"
    before = path.read_bytes()
    token = await csrf_of(site, "/editor")
    response = await site.client.post(
        "/editor/examples",
        data={"csrf": token, "entry": TARGET, "lang": "nl", "question": ALREADY_ELSEWHERE},
    )
    assert response.status == 422
    page = await response.text()
    assert re.search(
        r"knowledge/permits\.yaml:\d+</code>: example &#39;stichting oprichten&#39;", page
    )
    assert "knowledge/legal_forms.yaml:11" in page and "Niet opgeslagen" in page
    assert path.read_bytes() == before and site.installed == []


async def test_entries_list_marks_entries_reviewed_over_a_year_ago(site: Site) -> None:
    await login(site, "Eva Editor")
    page = await (await site.client.get("/editor/entries")).text()
    rows = {
        match.group(1): row
        for row in page.split("<tr")[1:]
        if (match := re.search(r"<code>([a-z0-9-]+)</code>", row))
    }
    assert len(rows) == len(site.console.reloader.content.knowledge.entries)
    assert "te oud" in rows["permit-event"] and "2024-01-02" in rows["permit-event"]
    assert [entry for entry, row in rows.items() if "te oud" in row] == ["permit-event"]


async def test_an_english_question_is_offered_as_an_english_example(site: Site) -> None:
    english = "Hi! I moved to Rotterdam, can we get money for a garden with the neighbours?"

    def _turn(turn: Turn) -> None:
        turn.add_message("in", english, intent=None, score=12.0, action="handoff")
        turn.add_message(
            "in", "wij willen een tuin met de buren maar hoe?", score=9.0, action="handoff"
        )

    await site.console.store.run_turn(ChatKey("memory", "expat"), _turn)
    await login(site, "Eva Editor")
    page = await (await site.client.get("/editor")).text()
    forms = [f for f in page.split("<form") if 'name="lang"' in f]
    chosen = {"en" if 'value="en" selected' in f else "nl": f for f in forms}
    assert set(chosen) == {"en", "nl"}
    assert english[:30] in chosen["en"] and "tuin met de buren" in chosen["nl"]


async def test_an_editor_marks_an_entry_reviewed_and_sees_its_sources(site: Site) -> None:
    await login(site, "Eva Editor")
    page = await (await site.client.get("/editor/entries")).text()
    assert "rotterdam.nl/0-evenement-melden" in page  # the sources are listed, as links
    token = await csrf_of(site, "/editor/entries")
    response = await site.client.post(
        "/editor/entries/permit-event/reviewed", data={"csrf": token}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    entry = site.console.reloader.content.knowledge.by_id["permit-event"]
    assert (entry.reviewed, entry.reviewed_by) == (date.today(), "Eva Editor")
    assert {s.checked for s in entry.sources} == {date.today()}
    text = (site.knowledge / "permits.yaml").read_text(encoding="utf-8")
    assert 'reviewed_by: "Eva Editor"' in text
    page = await (await site.client.get("/editor/entries")).text()
    assert "te oud" not in page and "door Eva Editor" in page


async def test_an_officer_cannot_mark_an_entry_reviewed(site: Site) -> None:
    await login(site, "Otto Officer")
    response = await site.client.post(
        "/editor/entries/permit-event/reviewed", data={"csrf": "x"}, allow_redirects=False
    )
    assert response.status in (302, 403)
    entry = site.console.reloader.content.knowledge.by_id["permit-event"]
    assert entry.reviewed_by is None


async def test_new_entry_from_an_officers_suggestion(site: Site) -> None:
    await seed(site.console.store)  # ticket 1 exists
    number = await add_suggestion(site.console.store, 1, "mag een draaiorgel op straat?", "Ja.")
    await login(site, "Eva Editor")
    page = await (await site.client.get("/editor")).text()
    assert f"/editor/entries/new?suggestion={number}" in page
    form_page = await (await site.client.get(f"/editor/entries/new?suggestion={number}")).text()
    assert "mag een draaiorgel op straat?" in form_page
    token = CSRF.search(form_page)
    assert token is not None
    form = {
        "csrf": token.group(1),
        "suggestion": str(number),
        "id": "topic-barrel-organ",
        "kind": "topic",
        "title_nl": "Draaiorgel op straat",
        "answer_nl": "Ja.\n\nVolgende stap: vraag het de verbindingsofficier.",
        "department": "dept-public-space",
        "examples_nl": "\n".join(f"draaiorgel vraag {word}" for word in "abcdefgh"),
    }
    response = await site.client.post("/editor/entries/new", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert "id: topic-barrel-organ" in (site.knowledge / "topics.yaml").read_text("utf-8")
    assert "topic-barrel-organ" in site.console.reloader.content.knowledge.by_id
    assert [s.id for s in await suggestions(site.console.store, "used")] == [number]
    # Another suggestion put aside; an unknown one is a 404.
    other = await add_suggestion(site.console.store, 2, "draaiorgel?", "Nee.")
    token = await csrf_of(site, "/editor")
    dismiss = f"/editor/suggestions/{other}/dismiss"
    assert (
        await site.client.post(dismiss, data={"csrf": token}, allow_redirects=False)
    ).status == 303
    assert await suggestions(site.console.store) == []
    missing = await site.client.post("/editor/suggestions/999/dismiss", data={"csrf": token})
    assert missing.status == 404


async def test_stats_page_draws_the_figures(site: Site) -> None:
    await seed(site.console.store)
    await login(site, "Otto Officer")
    response = await site.client.get("/stats")
    assert response.status == 200
    page = await response.text()
    assert page.count("<svg") == 3 and "<script" not in page
    assert 'id="questions">6<' in page and 'id="handoffs">2<' in page and "33%" in page
    assert 'id="median">2 uur 0 min<' in page
    assert re.search(r"<td>Stichting[^<]*</td><td>2</td>", page)
    assert re.search(r"<td>Stichting[^<]*</td><td>3</td><td>1</td>", page)  # helped, not helped
    assert page.count("<title>") >= 30 + 2  # one per day bar (accessible), topics, feedback


async def test_metrics_in_prometheus_format(site: Site) -> None:
    await seed(site.console.store)
    response = await site.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'loketbot_messages_total{direction="in"} 8.0' in text
    assert 'loketbot_messages_total{direction="out"} 1.0' in text
    assert 'loketbot_handoffs{status="open"} 1.0' in text
    assert "# TYPE loketbot_match_seconds histogram" in text
