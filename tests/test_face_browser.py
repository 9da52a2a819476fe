"""Issue 13 in a real browser: a coordinator assigns areas and themes and sees figures per area."""

from __future__ import annotations

import pytest

from .test_console_browser import CHROMIUM, PASSWORD, Desk, browser, desk, log_in, run, shot

pytestmark = pytest.mark.slow
__all__ = ["browser", "desk"]  # the fixtures, shared with the console's browser tests

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.async_api import Browser  # noqa: E402


async def test_coordinator_assigns_areas_and_themes_and_sees_figures_per_area(
    desk: Desk, browser: Browser
) -> None:
    added = run(
        desk.env, "officers", "add", "Cora", "--role", "coordinator", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    page = await log_in(browser, desk, "Cora")
    await page.click("nav a:has-text('Team')")
    form = page.locator("form.officer", has_text="Anna")
    await form.locator("input[name=area][value=Charlois]").check()
    await form.locator("input[name=theme][value=vergunningen]").check()
    await form.locator("button:has-text('Opslaan')").click()
    await page.wait_for_selector("text=Opgeslagen: Anna.")
    form = page.locator("form.officer", has_text="Anna")
    assert await form.locator("input[name=area][value=Charlois]").is_checked()
    listed = run(desk.env, "officers", "list")
    assert "Anna" in listed.stdout

    # A question from the find-contact flow in Charlois becomes a ticket filed under Charlois.
    desk.type("/menu")
    desk.wait_for("Contact met de gemeente")
    desk.type("5")
    desk.wait_for("In welk gebied")
    desk.type("Charlois")
    desk.wait_for("Waar gaat je vraag vooral over")
    desk.type("2")
    desk.wait_for("Voor een initiatief in Charlois")
    desk.type("we willen een buurtfeest, mag dat?")
    desk.wait_for("STRAATFEEST OF BUURTFEEST")
    desk.type("/mens")
    desk.wait_for("Wil je nog iets toevoegen")
    desk.type("1")
    desk.wait_for("ticketnummer is")

    await page.click("nav a:has-text('Per gebied')")
    table = page.locator("#gebied-table")
    await table.wait_for()
    assert "Charlois" in await table.inner_text()
    assert await page.locator("svg[aria-labelledby=gebied-title] rect").count() >= 1
    await page.screenshot(path=shot("figures-per-area.png"), full_page=True)
