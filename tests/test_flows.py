"""Flows: scripted conversations cover every outcome; editors' mistakes are file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from loketbot.content.flowfile import check_flows
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.scripts import ends_of, run_file, run_folder
from loketbot.conversation.state import HandoffRequested

from .conftest import ROOT

FLOWS = ROOT / "flows"
SCRIPTS = ROOT / "tests" / "flows"


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_scripted_conversations(script: Path, flow_dialogue: Dialogue) -> None:
    results = run_file(script, flow_dialogue)
    assert results, f"{script} has no cases"
    failures = [f"{r.file} {r.name}: {f}" for r in results for f in r.failures]
    assert not failures, "\n".join(failures)


def test_every_outcome_of_every_flow_is_covered(flow_dialogue: Dialogue) -> None:
    reached = set().union(*(r.ends for r in run_folder(SCRIPTS, flow_dialogue)))
    missing = ends_of(flow_dialogue.engine.flows) - reached
    assert not missing, f"outcomes no script reaches: {sorted(missing)}"


def test_menu_offers_the_flows(flow_dialogue: Dialogue) -> None:
    from loketbot.conversation.state import Conversation, Inbound

    out = flow_dialogue.step(Conversation(), Inbound("/menu"))
    data = [b.data for b in out.replies[0].buttons]
    assert "f:find-contact" in data and data[-1] == "h:human"


GOOD = """\
id: demo
title: {nl: Demo, en: Demo}
start: q1
steps:
  q1:
    ask: {nl: "Ja of nee?", en: "Yes or no?"}
    type: yesno
    next: pick
  pick:
    branch:
      - when: {q1: yes}
        next: done
      - next: human
  done:
    result: {nl: "Klaar: {q1}", en: "Done: {q1}"}
    entries:
      - id: permit-event
  human:
    handoff: {nl: Een mens helpt., en: A person helps.}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / "demo.yaml").write_text(text, encoding="utf-8")
    flows, found = check_flows(folder, entry_ids={"permit-event"})
    assert not flows, "a flow with problems must not load"
    return [str(p).replace(f"{folder}/", "") for p in found]


def line(text: str, needle: str) -> int:
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


def test_good_flow_loads(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "demo.yaml").write_text(GOOD, encoding="utf-8")
    flows, found = check_flows(folder, entry_ids={"permit-event"})
    assert found == [] and set(flows) == {"demo"}


def test_unknown_step_reference(tmp_path: Path) -> None:
    text = GOOD.replace("    next: pick", "    next: nowhere")
    found = problems(tmp_path, text)
    assert (
        f"demo.yaml:{line(text, 'next: nowhere')}: unknown step 'nowhere': "
        "use one of the step ids in this flow"
    ) in (found)


def test_unknown_knowledge_reference(tmp_path: Path) -> None:
    text = GOOD.replace("      - id: permit-event", "      - id: permit-nope")
    assert problems(tmp_path, text) == [
        f"demo.yaml:{line(text, 'permit-nope')}: unknown knowledge entry 'permit-nope': "
        "use an id from knowledge/"
    ]


def test_unreachable_step(tmp_path: Path) -> None:
    text = GOOD + "  orphan:\n    result: {nl: Weg, en: Gone}\n"
    assert problems(tmp_path, text) == [
        f"demo.yaml:{line(text, 'orphan:')}: step 'orphan' cannot be reached from 'q1'"
    ]


def test_step_with_no_way_to_an_end(tmp_path: Path) -> None:
    text = (
        GOOD.replace("      - next: human", "      - next: loop").replace(
            "  done:", "  loop:\n    say: {nl: Rond, en: Round}\n    next: loop\n  done:"
        )
        + ""
    )
    found = problems(tmp_path, text)
    assert (
        f"demo.yaml:{line(text, '  loop:')}: step 'loop' has no way to a result or handoff" in found
    )


def test_button_without_target(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    type: yesno\n    next: pick",
        "    type: choice\n    options:\n      - {value: a, label: {nl: A, en: A}}",
    )
    found = problems(tmp_path, text)
    assert (
        f"demo.yaml:{line(text, 'value: a')}: button 'a' has no target: give it next: or give "
        "the step next:"
    ) in found


def test_missing_translation(tmp_path: Path) -> None:
    text = GOOD.replace('ask: {nl: "Ja of nee?", en: "Yes or no?"}', 'ask: {nl: "Ja of nee?"}')
    assert problems(tmp_path, text) == [
        f"demo.yaml:{line(text, 'ask:')}: missing translation: add en next to nl"
    ]


def test_template_uses_an_answer_not_collected_on_every_path(tmp_path: Path) -> None:
    # q1 -> (no) -> human is fine; make "done" reachable without asking q2.
    text = GOOD.replace("Klaar: {q1}", "Klaar: {q2}")
    assert problems(tmp_path, text) == [
        f"demo.yaml:{line(text, 'result:')}: template uses {{q2}} (nl), which is not answered on "
        "every path to step 'done'"
    ]


def test_step_with_two_kinds(tmp_path: Path) -> None:
    text = GOOD.replace("    type: yesno\n", "    type: yesno\n    say: {nl: x, en: x}\n")
    found = problems(tmp_path, text)
    assert found == [
        f"demo.yaml:{line(text, '  q1:')}: 'q1': a step has exactly one of ask, say, branch, "
        "result or handoff (this one has ask, say)"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.replace("type: yesno", "type: [yesno"))
    assert len(found) == 1 and found[0].startswith("demo.yaml:") and "YAML syntax error" in found[0]


def test_area_from_must_name_an_area_question(tmp_path: Path) -> None:
    text = GOOD.replace("start: q1\n", "start: q1\narea_from: q1\n")
    found = problems(tmp_path, text)
    assert (
        f"demo.yaml:{line(text, 'area_from')}: area_from 'q1' is no answer of an area "
        "question: name a step of type area (this flow has none)"
    ) in found


def _hand_off_after(dialogue: Dialogue, flow: str, answers: list[str]) -> HandoffRequested:
    from loketbot.conversation.state import Conversation, Inbound

    conv = dialogue.step(Conversation(), Inbound(button=f"f:{flow}")).conversation
    for label in answers:
        offered = {b.label: b.data for b in conv.offered}
        conv = dialogue.step(conv, Inbound(button=offered[label])).conversation
    events: list[object] = []
    for text in ("/mens", "Wie helpt ons verder?", "-"):
        out = dialogue.step(conv, Inbound(text))
        conv, events = out.conversation, [*events, *out.events]
    handoffs = [e for e in events if isinstance(e, HandoffRequested)]
    assert len(handoffs) == 1
    return handoffs[0]


def test_a_ticket_is_filed_under_the_area_the_flow_declares(flow_dialogue: Dialogue) -> None:
    event = _hand_off_after(flow_dialogue, "find-contact", ["Charlois", "Geld en subsidie"])
    assert event.area == "Charlois"


def test_no_area_without_a_declared_area_answer(flow_dialogue: Dialogue) -> None:
    flow = flow_dialogue.engine.flows["legal-form-advice"]
    assert flow.area_from is None
    first = flow.steps[flow.start]
    label = first.options[0].label["nl"] if first.options else "Ja"
    event = _hand_off_after(flow_dialogue, "legal-form-advice", [label])
    assert event.area is None and event.context["flow"]["answers"]


def _with_profile_step(tmp_path: Path, step: str) -> tuple[str, list[str]]:
    """GOOD with an extra choice question between q1 and pick, carrying `step`'s profile keys."""
    text = GOOD.replace(
        "    type: yesno\n    next: pick", "    type: yesno\n    next: kind"
    ).replace(
        "  pick:\n",
        "  kind:\n"
        "    ask: {nl: Welke vorm?, en: Which form?}\n"
        "    type: choice\n"
        "    options:\n"
        "      - {value: foundation, label: {nl: Stichting, en: Foundation}}\n"
        "      - {value: none, label: {nl: Nog geen, en: None yet}}\n"
        f"{step}"
        "    next: pick\n"
        "  pick:\n",
    )
    return text, problems(tmp_path, text)


def test_an_unknown_profile_field_names_the_line_and_the_fields(tmp_path: Path) -> None:
    text, found = _with_profile_step(tmp_path, "    from_profile: legal_status\n")
    assert found == [
        f"demo.yaml:{line(text, 'from_profile')}: unknown profile field 'legal_status': "
        "use one of area, legal_form, name, stage, theme"
    ]


def test_profile_values_must_map_to_answers_of_the_question(tmp_path: Path) -> None:
    step = "    from_profile: legal_form\n    profile_values: {stichting: foundaton}\n"
    text, found = _with_profile_step(tmp_path, step)
    assert found == [
        f"demo.yaml:{line(text, 'profile_values')}: profile value 'stichting' maps to "
        "'foundaton', which is no answer of this question: use one of foundation, none"
    ]


def test_a_yes_no_question_needs_profile_values(tmp_path: Path) -> None:
    text = GOOD.replace("    type: yesno\n", "    type: yesno\n    from_profile: legal_form\n")
    assert problems(tmp_path, text) == [
        f"demo.yaml:{line(text, 'from_profile')}: a yesno question needs profile_values: which "
        "profile values mean yes or no"
    ]


def test_profile_values_must_be_values_the_profile_flow_gives(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    for path in (FLOWS / "initiative-profile.yaml", FLOWS / "subsidy-finder.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "subsidy-finder":
            text = text.replace("{stichting: foundation,", "{stiching: foundation,")
        (folder / path.name).write_text(text, encoding="utf-8")
    flows, found = check_flows(folder)
    assert set(flows) == {"initiative-profile"}, "the flow with the typo must not load"
    assert [str(p) for p in found] == [
        f"{folder}/subsidy-finder.yaml:{line(text, 'stiching')}: profile value 'stiching' is no "
        "answer of initiative-profile's legal_form question: use one of cooperatie, none, "
        "other, stichting, vereniging"
    ]
