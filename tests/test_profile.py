"""The initiative's profile (/profiel): saved by the desk, offered after a first handoff, used
for routing, and gone after /vergeet (issue 13, point 4)."""

from __future__ import annotations

from dataclasses import fields

from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.flows import FlowState
from loketbot.conversation.state import Inbound, Profile
from loketbot.profile import LIST_COLUMNS, PROFILE_COLUMNS
from loketbot.service.desk import Desk
from loketbot.store.models import Initiative
from loketbot.store.organisation import initiative_of
from loketbot.store.store import ChatKey, Store
from tests.conftest import deliver_all

CHAT = ChatKey("telegram", "5150")
OFFICERS = "-100515"


async def _profile(store: Store) -> object:
    def read(turn: object) -> object:
        return initiative_of(turn.orm(), turn.conversation_id)  # type: ignore[attr-defined]

    return await store.run_turn(CHAT, read)


async def test_the_profile_is_offered_after_a_handoff_and_saved(
    store: Store, flow_dialogue: Dialogue
) -> None:
    desk = Desk(store, flow_dialogue, flood_limit=None)
    await desk.handle(CHAT, Inbound(text="/mens"))
    await desk.handle(CHAT, Inbound(text="wie helpt ons aan een ruimte voor de buurtkeuken"))
    replies = await desk.handle(CHAT, Inbound(button="h:skip"))
    assert "Profiel invullen" in [b.label for r in replies for b in r.buttons]
    await desk.handle(CHAT, Inbound(button="f:initiative-profile"))
    for typed in ("Buurtkeuken De Pan", "1", "we zitten in Katendrecht", "1", "2"):
        replies = await desk.handle(CHAT, Inbound(text=typed))
    assert "Buurtkeuken De Pan" in replies[0].text
    profile = await _profile(store)
    assert profile is not None
    assert (profile.name, profile.legal_form, profile.area) == (  # type: ignore[attr-defined]
        "Buurtkeuken De Pan",
        "none",
        "Feijenoord",
    )
    assert tuple(profile.themes) == ("welzijn",) and profile.stage == "starting"  # type: ignore[attr-defined]

    # Filled in: the next handoff does not ask again.
    await desk.handle(CHAT, Inbound(text="/mens"))
    await desk.handle(CHAT, Inbound(text="en hoe zit het met een vergunning voor de keuken"))
    replies = await desk.handle(CHAT, Inbound(button="h:skip"))
    assert "Profiel invullen" not in [b.label for r in replies for b in r.buttons]

    await desk.handle(CHAT, Inbound(text="/vergeet"))
    await desk.handle(CHAT, Inbound(button="v:yes"))
    assert await _profile(store) is None


async def test_a_saved_profile_spares_the_flows_its_questions(
    store: Store, flow_dialogue: Dialogue
) -> None:
    desk = Desk(store, flow_dialogue, flood_limit=None)
    await desk.handle(CHAT, Inbound(text="/menu"))
    replies = await desk.handle(CHAT, Inbound(button="f:find-contact"))
    assert "In welk gebied" in replies[-1].text  # no profile yet: asked

    await desk.handle(CHAT, Inbound(text="/profiel"))
    for typed in ("Buurtkeuken De Pan", "2", "Charlois", "1", "2"):
        await desk.handle(CHAT, Inbound(text=typed))
    replies = await desk.handle(CHAT, Inbound(button="f:find-contact"))
    texts = [r.text for r in replies]
    assert "Ik gebruik wat je profiel zegt: gebied Charlois." in texts[1]
    assert "Waar gaat je vraag vooral over" in texts[-1] and "In welk gebied" not in texts[-1]
    replies = await desk.handle(CHAT, Inbound(text="1"))
    assert "initiatief in Charlois" in replies[0].text

    await desk.handle(CHAT, Inbound(text="/vergeet"))
    await desk.handle(CHAT, Inbound(button="v:yes"))
    replies = await desk.handle(CHAT, Inbound(button="f:find-contact"))
    assert "In welk gebied" in replies[-1].text  # the profile is gone, and with it the answer


async def test_the_card_marks_the_answers_the_profile_gave_and_not_the_typed_ones(
    store: Store, flow_dialogue: Dialogue
) -> None:
    """The area came from the profile, the topic was typed: the officer sees which is which,
    and knows which answer to check."""
    desk = Desk(store, flow_dialogue, officers_chat=OFFICERS, flood_limit=None)
    await desk.handle(CHAT, Inbound(text="/profiel"))
    for typed in ("Buurtkeuken De Pan", "2", "Charlois", "1", "2"):
        await desk.handle(CHAT, Inbound(text=typed))
    await desk.handle(CHAT, Inbound(button="f:find-contact"))
    await desk.handle(CHAT, Inbound(text="Een ruimte of gebouw"))
    await desk.handle(CHAT, Inbound(button="h:human"))
    await desk.handle(CHAT, Inbound(text="welke ruimte in Charlois kunnen we huren?"))
    await desk.handle(CHAT, Inbound(button="h:skip"))
    (card,) = [p for chat, _, p in await deliver_all(store) if chat == OFFICERS and p.get("card")]
    answers = card["text"].split("Antwoorden in de vragenlijst:\n")[1].split("\n\n")[0]
    assert answers.splitlines() == [
        "- In welk gebied of welke wijk van Rotterdam zit je initiatief? Kies of typ de naam, "
        "bijvoorbeeld Katendrecht. Charlois (uit het profiel)",
        "- Waar gaat je vraag vooral over? een ruimte of gebouw",
    ]
    reason = next(line for line in card["text"].splitlines() if line.startswith("Waarom hier"))
    assert "Charlois (uit het profiel)" in reason, reason


def test_which_answers_the_profile_gave_is_kept_with_the_flow_and_old_states_load(
    flow_dialogue: Dialogue,
) -> None:
    """A conversation saved mid-flow keeps which answers came from the profile; a state saved
    before there was such a thing loads as "none from the profile"."""
    turn = flow_dialogue.engine.start("find-contact", "nl", profile={"area": ("Charlois",)})
    assert turn.state is not None and turn.state.profiled == ("area",)
    assert FlowState.from_json(turn.state.to_json()) == turn.state
    old = {"flow": "find-contact", "step": "about", "answers": [["area", "Noord"]], "trail": []}
    assert FlowState.from_json(old).profiled == ()


def test_one_table_names_the_profile_everywhere(flow_dialogue: Dialogue) -> None:
    """PROFILE_COLUMNS is the profile: the profile flow asks its fields, Profile and the
    initiatives table hold its columns."""
    profile_flow = next(f for f in flow_dialogue.engine.flows.values() if f.profile)
    asked = {s.save for s in profile_flow.steps.values() if s.kind == "ask"}
    assert asked == set(PROFILE_COLUMNS)
    assert [f.name for f in fields(Profile)] == list(PROFILE_COLUMNS.values())
    assert set(PROFILE_COLUMNS.values()) <= set(Initiative.__table__.columns.keys())
    assert LIST_COLUMNS.issubset(PROFILE_COLUMNS.values())


def test_a_profile_goes_from_answers_to_columns_and_back() -> None:
    answers = {"name": "De Pan", "legal_form": "none", "area": "Noord", "theme": "welzijn"}
    profile = Profile.from_answers(answers)
    assert profile.known() == {
        "name": ("De Pan",),
        "legal_form": ("none",),
        "area": ("Noord",),
        "theme": ("welzijn",),
    }
    stored = {**profile.columns(), "stage": None, "themes": ["welzijn"]}
    assert Profile.from_columns(stored) == profile
