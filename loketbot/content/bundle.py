"""Knowledge and flows, validated against each other and loaded as one set."""

from __future__ import annotations

__all__ = ["Content", "check_content", "load_content"]

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loketbot.content.flowfile import Flow, check_flow_files, declared_ids, read_flow_files
from loketbot.content.knowledge import Knowledge, check
from loketbot.errors import KnowledgeError, Problem


@dataclass(frozen=True)
class Content:
    """Everything editors maintain: swapped as one object on reload."""

    knowledge: Knowledge
    flows: Mapping[str, Flow]


def check_content(
    knowledge_dir: Path | str, flows_dir: Path | str
) -> tuple[Content | None, list[Problem]]:
    """Validate both folders; the Content (None when anything is wrong) and every problem."""
    # Each flow file is read and parsed once: entries need the declared ids, flows the entries.
    files, problems = read_flow_files(flows_dir)
    knowledge, found = check(knowledge_dir, flows=declared_ids(files))
    problems += found
    entry_ids = None if knowledge is None else knowledge.by_id.keys()
    flows, flow_problems = check_flow_files(files, entry_ids=entry_ids)
    problems += flow_problems
    if problems or knowledge is None:
        return None, sorted(problems)
    return Content(knowledge, flows), []


def load_content(knowledge_dir: Path | str, flows_dir: Path | str) -> Content:
    """Load both folders or raise KnowledgeError with every problem."""
    content, problems = check_content(knowledge_dir, flows_dir)
    if content is None:
        raise KnowledgeError(problems)
    return content
