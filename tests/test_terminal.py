"""`loketbot chat` as a person uses it: piped lines in, answers and numbered options out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loketbot.store.store import Store

from .conftest import ROOT

pytestmark = pytest.mark.slow


def chat(db: Path, lines: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOKETBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "loketbot.cli", "chat", *args],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_answers_a_question_from_a_pipe(tmp_path: Path) -> None:
    result = chat(tmp_path / "t.db", "wat is een stichting?\n")
    assert result.returncode == 0, result.stderr
    assert "STICHTING" in result.stdout
    assert "1. 👍 Dit hielp" in result.stdout
    assert "Traceback" not in result.stderr


def test_numbers_and_labels_choose_options(tmp_path: Path) -> None:
    result = chat(tmp_path / "t.db", "/menu\nAlle onderwerpen\n1\n1\n")
    assert result.returncode == 0, result.stderr
    assert "Kies een onderwerp:" in result.stdout
    assert "Volgende stap" in result.stdout  # an answer, reached by typing numbers only


def test_stop_ends_the_conversation(tmp_path: Path) -> None:
    result = chat(tmp_path / "t.db", "/stop\nwat is een stichting?\n")
    assert result.returncode == 0
    assert "STICHTING" not in result.stdout


def test_english_option(tmp_path: Path) -> None:
    result = chat(tmp_path / "t.db", "what is a stichting?\n", "--lang", "en")
    assert "More information" in result.stdout


def test_handoff_is_stored_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    first = chat(db, "wie wint zondag de wedstrijd?\n")
    assert "verbindingsofficier" in first.stdout
    # A new process: the offered options are remembered in the database, not in memory.
    second = chat(db, "1\nIk woon in Charlois\n")
    assert "ticketnummer is" in second.stdout

    async def handoffs() -> list[tuple[str, str]]:
        store = await Store.open(f"sqlite+aiosqlite:///{db}")
        try:
            return [(h.question, h.context["extra"]) for h in await store.handoffs("open")]
        finally:
            await store.close()

    assert asyncio.run(handoffs()) == [("wie wint zondag de wedstrijd?", "Ik woon in Charlois")]


def test_flow_survives_kill_9_and_continues_at_the_same_question(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    env = {**os.environ, "LOKETBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loketbot.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("/menu\nContact met de gemeente\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        seen = ""
        while "In welk gebied" not in seen:
            assert time.monotonic() < deadline, seen
            seen += proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: only what was committed survives
        proc.wait(timeout=10)
    resumed = chat(db, "charlios\n")
    assert "Waar gaat je vraag vooral over" in resumed.stdout, resumed.stdout + resumed.stderr


def test_chat_console_keeps_its_session_key_beside_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`loketbot chat --console` without LOKETBOT_SESSION_KEY: logins survive a restart, and
    nothing is said at WARNING (which the terminal would show in the chat)."""
    from loketbot.config import load_settings
    from loketbot.web.serve import _chat_session_key

    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    settings = load_settings({"LOKETBOT_DATABASE_URL": url}, toml_path=tmp_path / "none.toml")
    with caplog.at_level("INFO"):
        first = _chat_session_key(settings)
        again = _chat_session_key(settings)
    assert first == again
    kept = tmp_path / "chat.db.session-key"
    assert kept.read_text().strip() == first.decode()
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
