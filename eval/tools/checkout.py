"""The checkout an eval tool scores: ROOT=<checkout> (this one by default), its loketbot put
first on the import path, and its matcher with TH_<FIELD>=<value> overriding a Thresholds field.
Import it before anything from loketbot."""

import dataclasses
import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("ROOT", Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(ROOT))

from loketbot.content.knowledge import load_knowledge  # noqa: E402
from loketbot.understanding.matcher import Matcher, Thresholds  # noqa: E402


def matcher() -> Matcher:
    """A Matcher over ROOT's knowledge, with the TH_ overrides of the environment."""
    over = {k[3:].lower(): float(v) for k, v in os.environ.items() if k.startswith("TH_")}
    return Matcher(load_knowledge(ROOT / "knowledge"), dataclasses.replace(Thresholds(), **over))
