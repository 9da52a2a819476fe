"""Multi-turn conversations as data (tests/conversations/*.yaml), run against the core."""

from __future__ import annotations

from pathlib import Path

import pytest

from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.scripts import run_file, run_folder

FOLDER = Path(__file__).parent / "conversations"


@pytest.mark.parametrize("script", sorted(FOLDER.glob("*.yaml")), ids=lambda p: p.stem)
def test_conversations(script: Path, flow_dialogue: Dialogue) -> None:
    results = run_file(script, flow_dialogue)
    failures = [f"{r.file} {r.name}: {f}" for r in results for f in r.failures]
    assert not failures, "\n\n".join(failures)


def test_there_are_enough_conversations(flow_dialogue: Dialogue) -> None:
    assert len(run_folder(FOLDER, flow_dialogue)) >= 40
