"""A request to reach a named official ("is meneer Bakker bereikbaar? hij zou terugbellen").

No answer in the knowledge helps there, however its words score: the person wants that
official, so the matcher hands it to a liaison officer, who can reach them.
"""

from __future__ import annotations

__all__ = ["reaches_named_person"]

import re
from collections.abc import Callable

# A title right before a name, particles allowed ("mevrouw de Vries", "Mr. Peters"); a comma
# or slash in between is a salutation ("Geachte heer/mevrouw, Onze stichting ...").
_TITLES = ("meneer", "mevrouw", "mevr", "dhr", "mw", "heer", "mr", "mrs", "ms", "miss", "mister")
_TITLED = re.compile(
    rf"\b(?:{'|'.join(_TITLES)})\.?\s+"
    r"(?:(?:de|van|der|den|ter|ten|te|el|al)\s+)*([^\W\d_]+)",
    re.IGNORECASE,
)
# fmt: off
_REACH_WORDS = frozenset({
    "bel", "bellen", "belt", "belde", "gebeld", "contact", "mail", "mailen", "gemaild",
    "doorgeven", "doorsturen", "aanwezig", "available", "speak", "talk", "reach", "call",
    "called", "forward", "phone", "handling", "dealing",
})
# fmt: on
_REACH_STEMS = ("bereik", "terugbel", "spreek", "spreken", "behandel")
_WORD = re.compile(r"[^\W\d_]+")
# "u spreekt met mevrouw El Amrani" introduces the writer; it asks to reach nobody.
_INTRODUCTION = re.compile(r"\b(?:u|je|jij)\s+spreekt\s+met\b", re.IGNORECASE)


def reaches_named_person(
    text: str, known: Callable[[str], bool], function_word: Callable[[str], bool]
) -> bool:
    """Whether `text` asks to reach or speak to an official it names. A name is capitalised
    or a word the knowledge does not use (`known`), and never a function word ("meneer ik")."""
    text = _INTRODUCTION.sub(" ", text)
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
