"""Public import path kept for tools outside the repo: `from loketbot.matcher import Matcher`."""

from loketbot.understanding.matcher import Match, Matcher

__all__ = ["Match", "Matcher"]
