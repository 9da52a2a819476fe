"""The coordinator's console (issue 13) and the newcomer review's console fixes, over HTTP."""

from __future__ import annotations

from loketbot.service.officers import hash_password
from loketbot.store.organisation import add_team
from tests.test_console_officer import PASSWORD, Env, citizen_ticket, csrf_of, env, login

__all__ = ["env"]  # the fixture, shared with the officer console's tests


async def test_coordinator_sets_areas_and_themes_and_sees_figures_per_area(env: Env) -> None:
    await env.store.add_officer("cora", role="coordinator", password_hash=hash_password(PASSWORD))
    async with env.store.writing("t") as session:
        await add_team(session, "Zuid", chat_id="-100600", areas=["Charlois"])
    assert (await login(env.client, "cora")).status == 302
    page = await (await env.client.get("/team")).text()
    assert "Verbindingsofficieren: gebieden en thema" in page and "anna" in page
    token = await csrf_of(env.client, "/team")
    response = await env.client.post(
        "/team/officer",
        data=[
            ("csrf", token),
            ("name", "anna"),
            ("area", "Charlois"),
            ("area", "Feijenoord"),
            ("theme", "vergunningen"),
            ("team", "Zuid"),
        ],
        allow_redirects=False,
    )
    assert response.status == 303
    anna = await env.store.officer_by_name("anna")
    assert anna is not None and anna.areas == ("Charlois", "Feijenoord")
    assert anna.themes == ("vergunningen",) and anna.team_id is not None

    ticket = await citizen_ticket(env.desk)
    assert (await env.client.get(f"/tickets/{ticket}")).status == 200  # sees every ticket
    figures = await (await env.client.get("/stats/areas")).text()
    assert "Per gebied" in figures and "<svg" in figures and "onbekend" in figures
    csv = await env.client.get("/stats/areas.csv")
    assert csv.content_type == "text/csv"
    lines = (await csv.text()).splitlines()
    assert lines[0].startswith("per,naam,tickets") and any(",onbekend,1," in x for x in lines)


async def test_officers_and_editors_cannot_use_the_team_page(env: Env) -> None:
    await login(env.client, "anna")
    assert (await env.client.get("/team")).status == 403


async def test_an_editor_lands_on_the_editor_page(env: Env) -> None:
    await login(env.client, "eva")
    response = await env.client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/editor"
