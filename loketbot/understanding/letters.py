"""A letter's frame: its salutation ("Geachte heer/mevrouw,") and its closing with the
signature ("Met vriendelijke groet, de secretaris van Stichting Moskee Essalam").

Neither is the question: a signature naming the writer's stichting or board role made a
question about an open day score for the board entry.
"""

from __future__ import annotations

__all__ = ["without_letter_frame"]

import re

# "Beste" may open a question too ("beste manier om te starten, en wat kost dat?"): only
# before a name or an addressee is it a salutation.
_SALUTATION = re.compile(
    r"^\s*(?:(?i:geachte|dear)\b[^,:\n?]{0,40}"
    r"|(?i:beste)\s+(?:[A-Z]|(?i:heer|mevrouw|meneer|medewerker|team|allemaal))[^,:\n?]{0,30})"
    r"[,:\n]"
)
# ("gr" closes only before a name: "200 gr. suiker" is a weight.)
_CLOSING = re.compile(
    r"(?:\b(?:met\s+)?(?:vriendelijke|hartelijke|beste|warme)\s+groet(?:en)?"
    r"|\bhoogachtend|\bgroetjes|\bgroeten|\bgroet\s*[,.!]|\bmvg\b|\bgr\s*[,.]\s*(?=(?-i:[A-Z])|$)"
    r"|\b(?:kind|best|warm)\s+regards|\bregards\s*[,.]|\b(?:yours\s+)?sincerely"
    r"|\byours\s+faithfully|\bbest\s+wishes)\b",
    re.IGNORECASE,
)
# What follows a closing is a signature: a name, a role, an organisation. Past this many
# words, or with a question mark, it is a postscript that may ask something.
_SIGNATURE_WORDS = 14


# Whom a salutation may address and still name no topic; "Geachte leden van de wijkraad"
# tells where the question goes, and stays.
_GENERIC_ADDRESSEES = frozenset(
    {
        "heer", "mevrouw", "meneer", "heren", "dames", "medewerker", "medewerkers", "team",
        "allen", "allemaal", "lezer", "sir", "madam", "mr", "mrs", "ms", "of", "or", "en",
        "and", "de", "het", "the", "beste", "geachte", "dear", "all", "to", "whom", "it",
        "may", "concern",
    }
)  # fmt: skip


def _generic(salutation: str) -> bool:
    words = re.findall(r"[^\W\d_]+", salutation)
    return all(w.casefold() in _GENERIC_ADDRESSEES or w[0].isupper() for w in words[1:])


def without_letter_frame(text: str) -> str:
    """`text` without a leading salutation and a closing formula with its signature."""
    greeting = _SALUTATION.match(text)
    stripped = text
    if greeting is not None and _generic(greeting.group(0)):
        stripped = " " + text[greeting.end() :]
    for closing in _CLOSING.finditer(stripped):
        rest = stripped[closing.end() :]
        before = stripped[: closing.start()]
        if before.strip() and "?" not in rest and len(rest.split()) <= _SIGNATURE_WORDS:
            return before
    return stripped if stripped.strip() else text
