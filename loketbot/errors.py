"""Errors loketbot raises; lower-layer errors are converted to these at the boundary."""

from __future__ import annotations

__all__ = ["ConfigError", "KnowledgeError", "LoketbotError", "Problem", "StoreError"]

from dataclasses import dataclass


class LoketbotError(Exception):
    """Base class of every error loketbot raises on purpose."""


class ConfigError(LoketbotError):
    """The configuration is missing or invalid; the message says what to change."""


class StoreError(LoketbotError):
    """The database could not be reached or refused an operation.

    `transient`: the database was away, locked or raced another writer, so the same operation
    may well succeed later; otherwise (a missing row, a refused value) retrying will not help.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a knowledge or flow file, located by file and line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeError(LoketbotError):
    """The knowledge or flow files are invalid; `problems` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
