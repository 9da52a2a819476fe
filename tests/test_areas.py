"""knowledge/areas.yaml: areas and wijken named anywhere in a sentence; Feyenoord is never Noord."""

from __future__ import annotations

import pytest

from loketbot.content.areas import Areas, fold, load_areas

from .conftest import KNOWLEDGE


@pytest.fixture(scope="module")
def areas() -> Areas:
    return load_areas(KNOWLEDGE / "areas.yaml")


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("we zitten in Katendrecht", "Feijenoord"),
        ("Feyenoord", "Feijenoord"),
        ("ons clubhuis staat in feyenoord", "Feijenoord"),
        ("Afrikaanderwijk", "Feijenoord"),
        ("Noordereiland", "Feijenoord"),
        ("Tarwewijk", "Charlois"),
        ("wij wonen in Ommoord", "Prins Alexander"),
        ("Blijdorp", "Noord"),
        ("in het Oude Noorden", "Noord"),
        ("Noord", "Noord"),
        ("Hillegersberg-Noord", "Hillegersberg-Schiebroek"),
        ("kralingen crooswijk", "Kralingen-Crooswijk"),
        ("Ijsselmonde", "IJsselmonde"),
        ("Hoek van Holland", "Hoek van Holland"),
        ("Kattendrecht", "Feijenoord"),  # one typo in a long name
    ],
)
def test_finds_the_area(areas: Areas, text: str, area: str) -> None:
    assert areas.find(text) == area


@pytest.mark.parametrize(
    "text",
    ["Zuid", "ergens in Rotterdam", "iets anders", "", "Noord en Charlois", "Nord"],
)
def test_unknown_or_unclear_is_none(areas: Areas, text: str) -> None:
    assert areas.find(text) is None


def test_feyenoord_is_never_noord(areas: Areas) -> None:
    for text in ("Feyenoord", "FEYENOORD", "bij Feyenoord in de buurt", "Feyenoordstadion"):
        assert areas.find(text) != "Noord"


def test_every_spelling_belongs_to_one_area(areas: Areas) -> None:
    assert len(areas.area_names) == 14
    assert all(areas.find(name) == name for name in areas.area_names)
    assert fold("IJsselmonde") == fold("Ijsselmonde")


def test_the_area_question_accepts_a_wijk() -> None:
    from loketbot.content.bundle import load_content
    from loketbot.conversation.dialogue import Dialogue
    from loketbot.conversation.state import Conversation, Inbound

    from .conftest import ROOT

    content = load_content(KNOWLEDGE, ROOT / "flows")
    dialogue = Dialogue(content.knowledge, flows=content.flows)
    conv = dialogue.step(Conversation(), Inbound("/menu")).conversation
    conv = dialogue.step(conv, Inbound(button="f:find-contact")).conversation
    out = dialogue.step(conv, Inbound("we zitten in Katendrecht")).conversation
    assert out.flow is not None
    assert dict(out.flow.answers)["area"] == "Feijenoord"


def test_two_swapped_letters_are_one_typo() -> None:
    areas = load_areas(KNOWLEDGE / "areas.yaml")
    assert areas.find("charlios") == "Charlois"
    assert areas.find("Feyenoord") == "Feijenoord"  # never Noord
