"""What the bot says about the initiative's fixed contact, answer times and "did it help?".

Pure texts in nl/en (plain Dutch at B1), kept apart from texts.py so the desk's routing and
deadline messages live in one place.
"""

from __future__ import annotations

__all__ = ["helped_buttons", "tell"]

_TEXTS: dict[str, dict[str, str]] = {
    "contact_new": {
        "nl": "Je vaste contactpersoon is {contact}. Je volgende vragen gaan eerst naar {first}.",
        "en": "Your fixed contact is {contact}. Your next questions go to {first} first.",
    },
    "contact_handover": {
        "nl": (
            "Je hebt een nieuwe vaste contactpersoon: {contact}. {previous} heeft je "
            "initiatief overgedragen. Je volgende vragen gaan naar {first}."
        ),
        "en": (
            "You have a new fixed contact: {contact}. {previous} handed your initiative "
            "over. Your next questions go to {first}."
        ),
    },
    "contact_show": {
        "nl": "Je vaste contactpersoon is {contact}. Stel je vraag met /mens.",
        "en": "Your fixed contact is {contact}. Ask your question with /mens.",
    },
    "contact_none": {
        "nl": (
            "Je hebt nog geen vaste contactpersoon. Zodra een verbindingsofficier je vraag "
            "beantwoordt, wordt dat je vaste contactpersoon. Stel je vraag met /mens."
        ),
        "en": (
            "You have no fixed contact yet. The first liaison officer who answers your "
            "question becomes your fixed contact. Ask your question with /mens."
        ),
    },
    "late": {
        "nl": (
            "Het duurt langer dan beloofd: je vraag (ticket {ticket}) is nog niet beantwoord. "
            "Sorry. Een coördinator kijkt nu mee. We verwachten je antwoord uiterlijk {when}."
        ),
        "en": (
            "This takes longer than we promised: your question (ticket {ticket}) has no "
            "answer yet. Sorry. A coordinator is now looking at it. We expect to answer by "
            "{when}."
        ),
    },
    "helped_ask": {"nl": "Heeft dit antwoord je geholpen?", "en": "Did this answer help?"},
    "helped_yes_button": {"nl": "Ja, dit helpt", "en": "Yes, it helps"},
    "helped_no_button": {"nl": "Nee, nog onduidelijk", "en": "No, still unclear"},
    "helped_thanks": {
        "nl": "Fijn, dank je! Dat vertellen we de verbindingsofficier.",
        "en": "Good, thank you! We will tell the liaison officer.",
    },
    "helped_no": {
        "nl": (
            "Jammer. Schrijf hieronder wat nog onduidelijk is. Wij voegen het toe aan "
            "ticket {ticket}, dan kijkt de verbindingsofficier er opnieuw naar."
        ),
        "en": (
            "Sorry to hear that. Write below what is still unclear. We add it to ticket "
            "{ticket}, so the liaison officer looks at it again."
        ),
    },
    "helped_done": {
        "nl": "Je hebt hier al op geantwoord. Dank je!",
        "en": "You already answered this. Thank you!",
    },
}


def tell(name: str, lang: str, **values: object) -> str:
    """The text `name` in `lang` (Dutch when missing), with `values` filled in."""
    texts = _TEXTS[name]
    return (texts.get(lang) or texts["nl"]).format(**values)


def helped_buttons(lang: str, ticket: int) -> list[list[str]]:
    """The two buttons under an officer's answer, as outbox payload buttons."""
    return [
        [tell("helped_yes_button", lang), f"hp:yes:{ticket}"],
        [tell("helped_no_button", lang), f"hp:no:{ticket}"],
    ]
