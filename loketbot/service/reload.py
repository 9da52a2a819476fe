"""Reload knowledge and flows from disk while running: all or nothing."""

from __future__ import annotations

__all__ = ["Reloader"]

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from loketbot.config import DEFAULT_RETENTION_DAYS
from loketbot.content.bundle import Content, check_content
from loketbot.conversation.dialogue import Dialogue
from loketbot.errors import Problem

log = logging.getLogger(__name__)


class Reloader:
    """Swaps a newly validated content set into the running dialogue; a broken set is refused."""

    def __init__(
        self,
        knowledge_dir: Path,
        flows_dir: Path,
        content: Content,
        *,
        install: Callable[[Dialogue], None],
        expected_answer: str = "",
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        """`install` puts a new Dialogue in place (Desk.use); the other arguments are passed on
        to it."""
        self.knowledge_dir = knowledge_dir
        self.flows_dir = flows_dir
        self.content = content
        self.install = install
        self.expected_answer = expected_answer
        self.retention_days = retention_days
        self.last_problems: list[Problem] = []
        # Reloads run in worker threads (console, SIGHUP): one at a time, newest files last.
        self._lock = threading.Lock()

    def reload(self) -> list[Problem]:
        """Load and validate both folders; swap them in when clean. Returns the problems."""
        with self._lock:
            try:
                return self._reload()
            except Exception as exc:
                # A reading bug must not reach the console as a 500 or SIGHUP as a lost task:
                # the running set stays, and editors see the problem in the banner.
                log.exception("reload failed")
                problems = [
                    Problem(str(self.knowledge_dir), 1, f"reload failed: {type(exc).__name__}")
                ]
                self.last_problems = problems
                return problems

    def _reload(self) -> list[Problem]:
        content, problems = check_content(self.knowledge_dir, self.flows_dir)
        self.last_problems = problems
        if content is None:
            for problem in problems:
                log.error("reload refused: %s", problem)
            return problems
        dialogue = Dialogue(
            content.knowledge,
            flows=content.flows,
            expected_answer=self.expected_answer,
            retention_days=self.retention_days,
        )
        self.install(dialogue)
        self.content = content
        log.warning("knowledge reloaded: version %s", content.knowledge.version)
        return []
