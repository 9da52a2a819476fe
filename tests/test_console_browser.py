"""The console in a real browser (Debian's chromium, headless, driven by Playwright).

One `loketbot chat --console` process plays the initiator's side (stdin/stdout) and serves the
console; officers and editors work in the browser. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "een-lang-wachtwoord"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():  # .ci/run installs it; a developer without it is told why
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Desk:
    """A running `loketbot chat --console`: type as the initiator, read what they see."""

    proc: subprocess.Popen[str]
    out: Path
    url: str
    env: dict[str, str]

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def screen(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{self.screen()[-2000:]}"
            time.sleep(0.1)


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loketbot.cli", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    knowledge, flows = tmp_path / "knowledge", tmp_path / "flows"
    shutil.copytree(ROOT / "knowledge", knowledge)  # the editor writes here, never in the repo
    shutil.copytree(ROOT / "flows", flows)
    port = free_port()
    env = {
        **os.environ,
        "LOKETBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "LOKETBOT_KNOWLEDGE_DIR": str(knowledge),
        "LOKETBOT_FLOWS_DIR": str(flows),
        "LOKETBOT_WEB_PORT": str(port),
    }
    for args in (["Anna"], ["Eva", "--role", "editor"]):
        added = run(env, "officers", "add", *args, "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    out = tmp_path / "chat.out"
    with out.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loketbot.cli", "chat", "--console", "--user", "noor"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = Desk(proc, out, f"http://127.0.0.1:{port}", env)
    try:
        running.wait_for("console: http://")
        yield running
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # EOF ends the chat cleanly
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(browser: Browser, desk: Desk, name: str) -> Page:
    page = await browser.new_page(viewport={"width": 1100, "height": 800})
    await page.goto(f"{desk.url}/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('Inloggen')")
    await page.wait_for_load_state()
    return page


def shot(name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / name)


async def test_officer_sees_a_new_ticket_live_and_the_answer_reaches_the_chat(
    desk: Desk, browser: Browser
) -> None:
    page = await log_in(browser, desk, "Anna")
    assert "Vragen" in await page.inner_text("nav")
    # The initiator hands a question off while the officer's queue is open: no reload.
    desk.type("wie wint zondag de wedstrijd?")
    desk.wait_for("Zal ik je vraag doorsturen")
    desk.type("1")  # Ja, stuur door
    desk.wait_for("Wil je nog iets toevoegen")
    desk.type("Ik woon in Charlois <script>alert(1)</script>")
    desk.wait_for("ticketnummer is")
    row = page.locator("#queue", has_text="wie wint zondag de wedstrijd?")
    await row.wait_for(timeout=15_000)
    await page.screenshot(path=shot("queue.png"), full_page=True)

    await page.click("#queue a:has-text('wie wint zondag')")
    await page.wait_for_selector("#question")
    assert "<script>alert(1)</script>" in await page.inner_text("main")  # shown as text
    await page.fill("#text", "Dat weten wij ook niet, maar succes zondag!")
    await page.click("button:has-text('Antwoord versturen')")
    await page.wait_for_load_state()
    desk.wait_for("Antwoord van de verbindingsofficier")
    desk.wait_for("Dat weten wij ook niet, maar succes zondag!")
    assert desk.screen().count("Dat weten wij ook niet") == 1

    await page.goto(f"{desk.url}/stats")
    await page.wait_for_selector("svg")
    await page.screenshot(path=shot("stats.png"), full_page=True)


async def test_editor_adds_a_grouped_question_and_match_routes_it(
    desk: Desk, browser: Browser
) -> None:
    question = "draaiorgel in de straat zetten mag dat"
    before = json.loads(run(desk.env, "match", question).stdout)
    assert (before["intent"], before["action"]) != ("permit-public-space", "answer")
    desk.type(question)
    desk.wait_for("Bedoel je een van deze")  # unsure: the bot asks, no handoff
    desk.type("/menu")
    desk.wait_for("Waar gaat je vraag over")

    page = await log_in(browser, desk, "Eva")
    await page.goto(f"{desk.url}/editor")
    form = page.locator("form", has=page.locator(f"input[value='{question}']"))
    await form.locator("select[name=entry]").select_option("permit-public-space")
    await form.locator("button:has-text('Voorbeelden toevoegen')").click()
    await page.wait_for_load_state()
    await page.screenshot(path=shot("editor.png"), full_page=True)

    after = json.loads(run(desk.env, "match", question).stdout)
    assert after["intent"] == "permit-public-space", after
    assert after["action"] in ("answer", "flow")
    assert question in (Path(desk.env["LOKETBOT_KNOWLEDGE_DIR"]) / "permits.yaml").read_text()
