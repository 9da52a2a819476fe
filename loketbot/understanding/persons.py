"""A request to reach a named official ("is meneer Bakker bereikbaar? hij zou terugbellen").

No answer in the knowledge helps there, however its words score: the person wants that
official, so the matcher hands it to a liaison officer, who can reach them.
"""

from __future__ import annotations

__all__ = ["reaches_named_person", "without_introduction"]

import re
from collections.abc import Callable

# A title right before a name, particles allowed ("mevrouw de Vries", "Mr. Peters"); a comma
# or slash in between is a salutation ("Geachte heer/mevrouw, Onze stichting ...").
_TITLES = ("meneer", "mevrouw", "mevr", "dhr", "mw", "heer", "mr", "mrs", "ms", "miss", "mister")
_TITLE_AND_NAME = (
    rf"\b(?:{'|'.join(_TITLES)})\.?\s+"
    r"(?:(?:de|van|der|den|ter|ten|te|el|al)\s+)*([^\W\d_]+)"
)
_TITLED = re.compile(_TITLE_AND_NAME, re.IGNORECASE)
# fmt: off
_REACH_WORDS = frozenset({
    "bel", "bellen", "belt", "belde", "gebeld", "contact", "mail", "mailen", "gemaild",
    "doorgeven", "doorsturen", "aanwezig", "available", "speak", "talk", "reach", "call",
    "called", "forward", "phone", "handling", "dealing", "spreek", "spreken", "gesproken",
})
# fmt: on
# Not "spreekt": "mevrouw Bakker spreekt op de avond" is about her, not a wish to reach her.
_REACH_STEMS = ("bereik", "terugbel", "behandel")
_WORD = re.compile(r"[^\W\d_]+")
# The writer's own title and name ("u spreekt met mevrouw El Amrani", "my name is Mr. Peters"):
# whoever else they ask to reach, it is not themselves.
_INTRODUCTION = re.compile(
    r"\b(?:(?:u|je|jij)\s+spreekt\s+met|mijn\s+naam\s+is|ik\s+ben|my\s+name\s+is|this\s+is"
    rf"|i\s+am)\s+{_TITLE_AND_NAME}",
    re.IGNORECASE,
)


def without_introduction(text: str) -> str:
    """`text` without the writer's own title and name: they name no topic."""
    return _INTRODUCTION.sub(" ", text)


def reaches_named_person(
    text: str, known: Callable[[str], bool], function_word: Callable[[str], bool]
) -> bool:
    """Whether `text` asks to reach or speak to an official it names. A name is capitalised
    or a word the knowledge does not use (`known`), and never a function word ("meneer ik")."""
    text = without_introduction(text)
    words = [w.casefold() for w in _WORD.findall(text)]
    if not any(w in _REACH_WORDS or w.startswith(_REACH_STEMS) for w in words):
        return False
    for titled in _TITLED.finditer(text):
        name = titled.group(1)
        folded = name.casefold()
        if function_word(folded) or folded in _TITLES:
            continue
        if name[0].isupper() or not known(folded):
            return True
    return False
