"""Bad input: any text, any button, forged or stale callback data (issue 6).

Properties (hypothesis) over the matcher, the dialogue core and the flow engine, then the
same inputs through the Desk on SQLite and PostgreSQL: every input gets a clear reply or a
refusal, nothing crashes, nothing is stored twice.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loketbot.channels.telegram import TEXT_LIMIT, TelegramChannel, render_html, split_text
from loketbot.content.flowfile import load_flows
from loketbot.content.knowledge import LANGS, Knowledge
from loketbot.conversation.dialogue import Dialogue
from loketbot.conversation.flows import FlowEngine, FlowState
from loketbot.conversation.state import (
    Conversation,
    FeedbackGiven,
    FollowUp,
    HandoffRequested,
    Inbound,
    Outcome,
    TicketInfo,
)
from loketbot.conversation.texts import KIND_LABELS, say
from loketbot.service.desk import Desk
from loketbot.service.tickets import Tickets, card
from loketbot.store.store import ChatKey, Store
from loketbot.understanding.matcher import Matcher

from .botapi.emulator import parse_html
from .conftest import ROOT, hand_off

# Few examples each: the whole file has to stay fast on a 2-core machine. CI may raise it.
EXAMPLES = int(os.environ.get("LOKETBOT_HYPOTHESIS_EXAMPLES", "60"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BUTTON_DATA_BYTES = 64  # Telegram refuses a keyboard with longer callback data

# Pieces people (and attackers) paste into a chat.
FRAGMENTS = [
    "<b>", "</b>", "<script>alert(1)</script>", "<a href='javascript:alert(1)'>x</a>", "&amp;",
    "&lt;", "&#0;", "&", "<", ">", "*vet*", "**vet**", "_schuin_", "`code`", "```\nblok\n```",
    "[klik](javascript:alert(1))", "||spoiler||", "\\", "\u200f", "\u200e", "\u202e", "\u202d",
    "\u2066", "\u200b", "\u200d", "\u00ad", "\ufeff", "\u00a0", "\x00", "\x07", "\x1b[31m",
    "\r\n", "\r", "\t", "\x7f", "\x85", "\ud800", "\udfff", "שלום", "مرحبا", "؟", "😀",
    "👨\u200d👩\u200d👧", "🇳🇱", "👍🏽", "²", "٣", "½", "Ⅻ", "{question}", "{0}", "{}", "%s",
    "/start", "/taal en", "/", "@", "1", "2", "99", "ja", "nee", "stop", "terug", "stichting",
    "vergunning", "buurtfeest", "subsidie", " ", "\n", "\n\n", ".", "?", "!",
]  # fmt: skip
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
RTL = st.characters(min_codepoint=0x0590, max_codepoint=0x06FF) | st.sampled_from(
    ["\u200f", "\u202b", "\u202e", "\u2067", " "]
)
TEXTS = st.one_of(
    st.text(max_size=120),  # any Unicode hypothesis makes (no lone surrogates)
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=12).map("".join),
    st.text(EMOJI | st.sampled_from(["\u200d", "\ufe0f", "🏽"]), min_size=1, max_size=30),
    st.text(RTL, min_size=1, max_size=60),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=20),
    st.text(st.characters(categories=["Cs", "Ll", "So"]), min_size=1, max_size=20),  # surrogates
    # 10,000 characters: one piece over and over.
    (st.sampled_from(FRAGMENTS) | st.text(min_size=1, max_size=12)).map(
        lambda piece: (piece * 10_000)[:10_000]
    ),
)
# What reaches a channel: Inbound has made it valid UTF-8 (the emulator's parser needs that).
SENDABLE = TEXTS.map(lambda text: text.encode("utf-8", "replace").decode("utf-8"))
STALE_TEXTS = {say(k, lang) for k in ("stale_button", "stale_button_flow") for lang in LANGS}
FLOWS = ROOT / "flows"


@pytest.fixture(scope="module")
def d(knowledge: Knowledge, matcher: Matcher) -> Dialogue:
    """The dialogue over the shipped knowledge and flows, on the session's matcher."""
    flows = load_flows(FLOWS, entry_ids=knowledge.by_id)
    return Dialogue(knowledge, matcher, flows=flows, expected_answer="2 werkdagen")


def json_round_trip(conv: Conversation) -> Conversation:
    """What the store does with the state: JSON out, UTF-8 bytes, JSON back in."""
    raw = json.dumps(conv.to_json(), ensure_ascii=False)
    assert "\x00" not in raw and "\\u0000" not in raw, "PostgreSQL refuses NUL in text and JSON"
    return Conversation.from_json(json.loads(raw.encode("utf-8").decode("utf-8")))


def check(d: Dialogue, before: Conversation, inbound: Inbound, out: Outcome) -> None:
    """What holds after every step, whatever came in."""
    assert out.replies, f"no reply to {inbound!r}"
    for reply in out.replies:
        assert reply.text.strip(), f"an empty message in reply to {inbound!r}"
        reply.text.encode("utf-8")  # sendable: no lone surrogates
        for button in reply.buttons:
            assert button.label.strip()
            assert 0 < len(button.data.encode("utf-8")) <= BUTTON_DATA_BYTES, button
    for event in out.events:
        if isinstance(event, HandoffRequested):
            assert before.mode == "handoff_context", "a handoff only after the user confirmed"
            assert event.question.strip()
        elif isinstance(event, FeedbackGiven):
            assert not d.knowledge.by_id[event.entry_id].is_anchor
        elif isinstance(event, FollowUp):
            assert inbound.ticket is not None and event.ticket == inbound.ticket.number
    assert json_round_trip(out.conversation) == out.conversation


# -- the matcher ------------------------------------------------------------------------------


@FAST
@given(text=TEXTS, lang=st.sampled_from([None, "nl", "en", "xx"]))
def test_matcher_decides_on_any_text(matcher: Matcher, text: str, lang: str | None) -> None:
    match = matcher.match(text, lang)
    assert 0.0 <= match.score <= 100.0
    assert match.action in ("answer", "flow", "clarify", "handoff", "redirect")
    assert match.lang in LANGS
    if lang in LANGS:
        assert match.lang == lang
    if match.action in ("answer", "flow", "clarify", "redirect"):
        assert match.intent in matcher.knowledge.by_id
    if match.action == "redirect":
        assert matcher.knowledge.by_id[str(match.intent)].is_anchor
    if match.action == "clarify":
        assert len(match.alternatives) > 1


QUESTIONS = {
    "wat is een stichting": "legal-form-stichting",
    "moet ik een vergunning hebben voor een buurtfeest": "permit-street-party",
    "How do I register at the chamber of commerce?": "legal-form-kvk",
}
DECORATIONS = [
    "<b>{}</b>", "*{}*", "_{}_", "`{}`", "{} 😀", "🙏 {}", "\u200f{}\u200f", "\ufeff{}",
    "{}\u200b", "<i>{}</i>!!!", "{}\x00", "  {}\n\n", "{}?",
]  # fmt: skip


@FAST
@given(
    question=st.sampled_from(sorted(QUESTIONS)),
    decoration=st.sampled_from(DECORATIONS),
    inside=st.sampled_from(["", "\u00ad", "\u200b", "\u200d", "\u200e"]),
)
def test_markup_and_invisible_characters_do_not_change_the_answer(
    matcher: Matcher, question: str, decoration: str, inside: str
) -> None:
    # Copied text carries soft hyphens and zero-width characters inside words.
    words = question.split()
    longest = max(words, key=len)
    half = len(longest) // 2
    broken = question.replace(longest, longest[:half] + inside + longest[half:])
    match = matcher.match(decoration.format(broken))
    assert match.intent == QUESTIONS[question], match


# -- the dialogue core ------------------------------------------------------------------------

TICKETS = st.none() | st.builds(
    TicketInfo,
    number=st.integers(1, 10**12),
    status=st.sampled_from(["open", "claimed", "answered", "closed"]),
    reopenable=st.booleans(),
)
COMMON = st.sampled_from(
    ["/start", "/menu", "/mens", "/opnieuw", "/taal", "/taal en", "/help", "/bla", "ja", "nee",
     "1", "2", "3", "wat is een stichting?", "vergunning buurtfeest", "ruimte huren"]
)  # fmt: skip


def forged_buttons(d: Dialogue) -> st.SearchStrategy[str]:
    """Callback data a client could send: real prefixes with real or made-up values, or junk."""
    words = st.sampled_from(
        sorted(d.knowledge.by_id)
        + sorted(d.engine.flows)
        + sorted({s for f in d.engine.flows.values() for s in f.steps})
        + ["", "0", "1", "²", "٣", "9" * 5000, "-1", "yes", "no", "human", "ask", "skip", "stop"]
        + ["back", "resume", "all", "nl", "en", "xx", "claim", "\x00", "\ud800", "<b>"]
    )
    kinds = st.sampled_from(["f", "fa", "fl", "fx", "e", "k", "lang", "fb", "h", "t", "tk", ""])
    return st.one_of(
        st.builds(
            lambda k, rest: ":".join([k, *rest]), kinds, st.lists(words | st.text(), max_size=3)
        ),
        st.text(max_size=70),
    )


@FAST
@given(data=st.data(), ticket=TICKETS)
def test_any_sequence_of_messages_and_buttons_gets_replies(
    d: Dialogue, data: st.DataObject, ticket: TicketInfo | None
) -> None:
    conv = Conversation()
    forged = forged_buttons(d)
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        how = data.draw(st.sampled_from(["text", "common", "press", "forged"]), label="how")
        if how == "press" and conv.offered:
            pressed = data.draw(st.sampled_from(conv.offered), label="press")
            inbound = Inbound(button=pressed.data, ticket=ticket)
        elif how == "forged":
            inbound = Inbound(button=data.draw(forged, label="button"), ticket=ticket)
        else:
            text = data.draw(TEXTS if how == "text" else COMMON, label="text")
            inbound = Inbound(text=text, ticket=ticket)
        out = d.step(conv, inbound)
        check(d, conv, inbound, out)
        conv = out.conversation


def start_state(d: Dialogue, data: st.DataObject) -> Conversation:
    """A conversation somewhere real: after a few steps a user could take."""
    ticket = TicketInfo(7, "answered", reopenable=True)
    opening = data.draw(
        st.sampled_from(["/menu", "/start", "wat is een stichting", "ruimte huren", "/mens",
                         "wie wint de wedstrijd", "ik heb nog een vraag"]),
        label="opening",
    )  # fmt: skip
    conv = d.step(Conversation(), Inbound(opening, ticket=ticket)).conversation
    for _ in range(data.draw(st.integers(0, 4), label="presses")):
        if not conv.offered:
            break
        pressed = data.draw(st.sampled_from(conv.offered), label="press")
        conv = d.step(conv, Inbound(button=pressed.data, ticket=ticket)).conversation
    return conv


def stale_buttons(d: Dialogue, conv: Conversation) -> list[str]:
    """Buttons that mean nothing in this state: old, of another flow or step, or made up."""
    junk = ["", "x", "zz:top", "f:no-such-flow", "fa:no-such-step:yes", "fl:back:no-such-step",
            "fl:jump", "fx:no-such-entry", "e:no-such-entry", "k:no-such-kind", "lang:xx",
            "fb:1:no-such-entry", "fb:2:legal-form-stichting", "h:maybe", "t:maybe",
            "t:yes:²", "t:yes:" + "9" * 5000, "tk:claim:1", "\x00", "<b>hoi</b>",
            "e:oos-case-status", "fb:0:oos-case-status", "fx:oos-case-status"]  # fmt: skip
    stale = list(junk)
    if conv.mode != "handoff_confirm":
        stale.append("h:yes")
    if conv.mode != "handoff_context":
        stale.append("h:skip")
    if conv.mode != "clarify":
        stale.append("h:ask")
    if not conv.mode.startswith("handoff"):
        stale.append("h:no")
    if conv.mode != "followup_confirm":
        stale += ["t:yes:7", "t:no"]
    else:
        stale.append("t:yes:8")  # the chat's ticket is 7
    flow = conv.flow
    for other in d.engine.flows.values():
        for step in other.steps:
            if flow is None or (other.id, step) != (flow.flow, flow.step):
                stale += [f"fa:{step}:yes", f"fl:back:{step}"]
    if flow is None:
        stale += ["fl:stop", "fl:resume", "fx:legal-form-stichting"]
    offered = {b.data for b in conv.offered}
    return [s for s in stale if s not in offered]


@FAST
@given(data=st.data())
def test_a_stale_or_forged_button_is_refused_kindly_and_changes_nothing(
    d: Dialogue, data: st.DataObject
) -> None:
    conv = start_state(d, data)
    pressed = data.draw(st.sampled_from(stale_buttons(d, conv)), label="button")
    inbound = Inbound(button=pressed, ticket=TicketInfo(7, "answered", reopenable=True))
    out = d.step(conv, inbound)
    check(d, conv, inbound, out)
    assert out.replies[0].text in STALE_TEXTS, out.replies
    assert out.events == ()
    after = out.conversation
    assert (after.mode, after.question, after.flow) == (conv.mode, conv.question, conv.flow)
    if conv.flow is not None and conv.mode == "idle":  # and the question is asked again
        assert out.replies[-1].text == d.engine.ask_again(conv.flow, conv.lang).text


@pytest.mark.parametrize(
    ("state", "what"),
    [
        (FlowState("a-flow-that-was-removed", "q1"), "flow"),
        (FlowState("start-initiative", "a-step-that-was-removed"), "step"),
        (FlowState("start-initiative", "group", trail=("a-step-that-was-removed",)), "trail"),
    ],
)
@pytest.mark.parametrize(
    "inbound",
    [
        Inbound("ja"),
        Inbound("1"),
        Inbound("/help"),
        Inbound("/taal en"),
        Inbound("wat is een stichting"),
        Inbound(button="fl:back:group"),
        Inbound(button="fl:resume"),
        Inbound(button="fa:group:x"),
        Inbound(button="fx:legal-form-stichting"),
        Inbound(button="h:no"),
    ],
    ids=lambda inbound: inbound.button or inbound.text,
)
def test_a_flow_changed_by_a_reload_is_not_a_crash(
    d: Dialogue, state: FlowState, what: str, inbound: Inbound
) -> None:
    conv = Conversation(flow=state, offered=())
    if inbound.button == "h:no":
        conv = Conversation(flow=state, mode="handoff_confirm", question="[x]")
    out = d.step(conv, inbound)
    check(d, conv, inbound, out)
    flow = out.conversation.flow
    assert flow is None or d.engine.knows(flow), "a state the flows no longer have is dropped"
    if inbound.text.startswith("/") or inbound.button == "h:no":
        return  # not an answer to the flow: handled as if there were no flow
    if what == "flow":
        assert [r.text for r in out.replies] == [say("flow_gone", "nl")]
        assert flow is None
    else:  # the flow still exists: it starts again, and the user is told why
        assert out.replies[0].text == say("flow_changed", "nl")
        start = d.engine.flows["start-initiative"].start
        assert flow is not None and (flow.flow, flow.step, flow.answers) == (state.flow, start, ())


@FAST
@given(text=TEXTS)
def test_typed_text_while_choosing_never_crashes(d: Dialogue, text: str) -> None:
    # Typed numbers pick an option: "²", "٣" and 5,000 nines must not break int().
    menu = d.step(Conversation(), Inbound("/menu")).conversation
    clarify = Conversation(mode="clarify", question="x", options=("legal-form-stichting",))
    for conv in (menu, clarify):
        inbound = Inbound(text)
        check(d, conv, inbound, d.step(conv, inbound))


@pytest.mark.parametrize("typed", ["٢", "２"])
def test_a_number_in_another_script_picks_the_option(d: Dialogue, typed: str) -> None:
    menu = d.step(Conversation(), Inbound("/menu"))
    second = menu.replies[0].buttons[1]
    out = d.step(menu.conversation, Inbound(typed))
    assert out.replies == d.step(menu.conversation, Inbound(button=second.data)).replies


def test_inbound_text_is_made_safe_to_store(d: Dialogue) -> None:
    inbound = Inbound("a\x00b\x1b[31mc\r\nd\ud800e\u200ff\tg", button="fa:\x00x")
    assert inbound.text == "ab[31mc\nd\ufffde\u200ff\tg"  # RTL marks stay: they are writing
    assert inbound.button == "fa:x"
    assert Inbound("\ud83d\ude00").text == "😀"  # a surrogate pair from JSON is one emoji
    out = d.step(Conversation(), Inbound("\x00\x01\x02"))
    assert out.replies[0].text == say("text_only", "nl")


# -- the flow engine --------------------------------------------------------------------------

EVERY_KIND = """\
id: every-kind
title: {nl: Alles, en: Everything}
start: yn
steps:
  yn:
    ask: {nl: "Ja of nee?", en: "Yes or no?"}
    type: yesno
    save: yn
    next: count
  count:
    ask: {nl: "Hoeveel mensen?", en: "How many people?"}
    type: number
    min: 1
    max: 5000
    save: count
    next: area
  area:
    ask: {nl: "Welk gebied?", en: "Which area?"}
    type: area
    save: area
    next: pick
  pick:
    ask: {nl: "Kies", en: "Pick"}
    type: choice
    save: pick
    options:
      - {value: a, label: {nl: Eerste keuze, en: First choice}, next: free}
      - {value: b, label: {nl: Tweede, en: Second}, next: free}
  free:
    ask: {nl: "Vertel ({count} mensen in {area})", en: "Tell ({count} people in {area})"}
    type: text
    save: free
    next: split
  split:
    branch:
      - when: {count: {gte: 100}}
        next: big
      - next: done
  big:
    handoff: {nl: "Groot: {free}", en: "Big: {free}"}
  done:
    result: {nl: "Klaar: {pick}, {free}", en: "Done: {pick}, {free}"}
    entries:
      - id: legal-form-stichting
"""


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory, knowledge: Knowledge) -> FlowEngine:
    folder = tmp_path_factory.mktemp("flows")
    (folder / "every-kind.yaml").write_text(EVERY_KIND, encoding="utf-8")
    flows = load_flows(folder, entry_ids=knowledge.by_id)
    return FlowEngine(flows, knowledge)


ANSWERS = (
    TEXTS
    | st.sampled_from(
        [
            "ja",
            "nee",
            "9" * 400,
            "1e999",
            "1.000.000",
            "-5",
            "50",
            "٣٤",
            "²",
            "Charlois",
            "charlwa",
            "eerste",
            "a",
            "b",
            "Eerste keuze",
        ]
    )
    | st.integers().map(str)
)


@FAST
@given(
    step=st.sampled_from(["yn", "count", "area", "pick", "free"]),
    lang=st.sampled_from(LANGS),
    text=ANSWERS,
    pressed=st.none() | ANSWERS,
    failures=st.integers(0, 2),
)
def test_flow_engine_takes_any_answer(
    every_kind: FlowEngine, step: str, lang: str, text: str, pressed: str | None, failures: int
) -> None:
    answers = (("yn", "yes"), ("count", 120), ("area", "Charlois"), ("pick", "a"))
    state = FlowState("every-kind", step, answers, failures=failures)
    turn = every_kind.answer(state, lang, text=text, value=pressed)
    assert turn.prompts or turn.stuck
    assert all(p.text.strip() for p in turn.prompts)
    if turn.rejected:  # asked again, nothing stored; the third miss offers a person
        assert turn.state is not None and turn.state.step == step
        assert dict(turn.state.answers) == dict(answers)
        assert turn.stuck == (failures == 2)
    else:
        saved = turn.state or turn.final
        assert saved is not None
        value = dict(saved.answers)[step]
        assert len(str(value)) <= 1000
        if step == "count":
            assert isinstance(value, int) and 1 <= value <= 5000


# -- what Telegram gets ----------------------------------------------------------------------


@FAST
@given(text=SENDABLE, bold=st.booleans())
def test_rendered_html_shows_the_text_as_typed(text: str, bold: bool) -> None:
    rendered = render_html(text, bold_first_line=bold)
    # Telegram's parser (as the emulator models it) accepts it and shows the exact text (a bold
    # header drops a newline that ends the text; Telegram trims it anyway)...
    assert parse_html(rendered) in (text, text.removesuffix("\n") if bold else text)
    # ...and no tag comes from the text itself.
    tags = rendered.replace("<b>", "", 1).replace("</b>", "", 1) if bold else rendered
    assert "<" not in tags and ">" not in tags


@FAST
@given(text=SENDABLE, limit=st.sampled_from([16, 50, 200, TEXT_LIMIT]))
def test_split_parts_fit_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert parts and all(len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts) or not text.strip()
    assert "".join("".join(parts).split()) == "".join(text.split())


@FAST
@given(data=st.data())
def test_every_reply_reaches_telegram_whole(d: Dialogue, data: st.DataObject) -> None:
    """A reply to any input, split and rendered, is what the user reads, part by part."""
    conv = start_state(d, data)
    inbound = Inbound(data.draw(TEXTS, label="text"))
    for reply in d.step(conv, inbound).replies:
        parts = split_text(reply.text)
        assert all(len(p) <= TEXT_LIMIT for p in parts)
        shown = "".join(parse_html(render_html(p)) for p in parts)
        assert "".join(shown.split()) == "".join(reply.text.split())


# -- the Desk, on a real database -------------------------------------------------------------

NASTY = [
    "\x00", "a\x00b", "\ud800", "x" * 10_000, "😀" * 2000, "\u202eevil\u202c", "שלום, מה שלומך?",
    "<script>alert(1)</script>", "[klik](javascript:alert(1))", "*vet* _schuin_ `code`", "²",
    "9" * 5000, "{question}", "   ", "\u200f\u200e", "/taal xx", "/" + "x" * 300,
]  # fmt: skip
FORGED = [
    "", "\x00", "zz:top", "f:no-such-flow", "fa:group:x", "fl:back:group", "fl:stop", "fx:none",
    "e:no-such-entry", "fb:1:no-such-entry", "fb:0:" + "x" * 60, "h:yes", "h:skip", "h:no",
    "t:yes:1", "t:yes:²", "t:no", "tk:claim:1", "lang:xx", "k:none", "\ud800",
]  # fmt: skip
KEY = ChatKey("telegram", "4242")


def desk_for(store: Store, d: Dialogue) -> Desk:
    return Desk(
        store, d, officers_chat="-100500", splitters={"telegram": split_text}, flood_limit=None
    )


async def test_nasty_text_and_forged_buttons_are_answered_and_stored_once(
    store: Store, d: Dialogue
) -> None:
    desk = desk_for(store, d)
    # A 10,000-character question is over Telegram's limit: refused with one short line (and
    # the handoff echo quotes only its start). Then back to the start before the buttons:
    # "h:yes" right after an offer is not forged.
    texts = [*NASTY, "/opnieuw", "/mens", "lange vraag " * 900, "/opnieuw"]
    inbounds = [Inbound(text) for text in texts]
    inbounds += [Inbound(button=b) for b in FORGED]
    said: list[str] = []
    for update, inbound in enumerate(inbounds, 1000):
        replies = await desk.handle(KEY, inbound, update_id=update)
        assert replies and all(r.text.strip() for r in replies), inbound
        said += [r.text for r in replies]
        # Telegram delivers again when it did not see our "ok": a no-op.
        assert await desk.handle(KEY, inbound, update_id=update) == []
    transcript = await store.transcript(KEY, limit=10_000)
    heard = [m.text for m in transcript if m.direction == "in"]
    assert heard == [i.text if i.button is None else f"[{i.button}]" for i in inbounds], (
        "every message stored once: none lost, none twice"
    )
    assert [m.text for m in transcript if m.direction == "out"] == said
    assert "\x00" not in "".join(heard)
    rows = await store.outbox_rows(chat_id=KEY.external_id)
    assert len({r.key for r in rows}) == len(rows)
    assert len(rows) >= len(said)
    queued = "".join(str(r.payload["text"]) for r in rows)
    assert "".join(queued.split()) == "".join("".join(said).split()), "every reply queued once"
    for row in rows:
        assert len(str(row.payload["text"])) <= TEXT_LIMIT
        for _, data in row.payload["buttons"]:
            assert len(data.encode("utf-8")) <= BUTTON_DATA_BYTES
    assert await store.handoffs() == [], "no forged button hands anything off"


async def test_a_forged_followup_button_does_not_touch_another_chats_ticket(
    store: Store, d: Dialogue
) -> None:
    desk = desk_for(store, d)
    other = ChatKey("telegram", "1")
    theirs = await hand_off(desk, other, "wie wint de wedstrijd van zondag", "Feijenoord")
    for text in ("wie wint de wedstrijd van zaterdag", "ja", "Kralingen"):
        await desk.handle(KEY, Inbound(text))
    mine = (await store.handoffs())[-1]
    async with store.ticket(mine.ticket) as tx:
        tx.set_status("answered", officer="Anna", answer="Dat weten we niet.")
    asked = await desk.handle(KEY, Inbound("nog een vraag"))
    assert asked[0].text == say("followup_ask", "nl", ticket=mine.ticket)

    replies = await desk.handle(KEY, Inbound(button=f"t:yes:{theirs}"))
    assert replies[0].text == say("stale_button", "nl")
    assert [e.kind for e in await store.ticket_events(theirs)] == ["created"]
    replies = await desk.handle(KEY, Inbound(button=f"t:yes:{mine.ticket}"))
    assert replies[0].text == say("followup_added", "nl", ticket=mine.ticket)


async def test_a_long_question_still_gives_a_card_telegram_takes(store: Store, d: Dialogue) -> None:
    desk = desk_for(store, d)
    # A terminal user can paste anything; up to 4,096 characters (Telegram's limit) is read.
    question = "wie wint de wedstrijd van zondag " * 124
    await desk.handle(KEY, Inbound(question))
    await desk.handle(KEY, Inbound("ja"))
    await desk.handle(KEY, Inbound("extra " * 680))
    (record,) = await store.handoffs()
    assert record.question.strip() == question.strip()  # the console shows it all
    cards = [r for r in await store.outbox_rows(chat_id="-100500")]
    assert len(cards) == 1
    text = str(cards[0].payload["text"])
    assert len(text) <= TEXT_LIMIT and text.startswith(f"Ticket {record.ticket} ")
    assert len(card(record, d.knowledge).text) <= TEXT_LIMIT


async def test_ticket_buttons_are_refused_to_anyone_but_an_officer(
    store: Store, d: Dialogue
) -> None:
    desk = desk_for(store, d)
    number = await hand_off(desk, KEY, "wie wint de wedstrijd van zondag", "Feijenoord")
    await store.add_officer("Anna", telegram_id=501)
    await store.add_officer("Eddie", role="editor", telegram_id=503)
    tickets = Tickets(store, officers_chat="-100500")
    channel = TelegramChannel(
        token="4242:test-token",
        base_url="http://127.0.0.1:9/bot",  # never called: buttons only touch the store
        desk=desk,
        tickets=tickets,
        store=store,
        officers_chat="-100500",
    )
    for who in (502, 503):  # a stranger, an editor
        for action in ("claim", "close", "reopen"):
            said = await channel._card_button(who, f"tk:{action}:{number}")
            assert said.startswith("⛔ Alleen geregistreerde"), said
    forged = [f"tk:steal:{number}", "tk:claim:", "tk:claim:999999", "tk:", "tk:claim:-1"]
    forged += ["tk:claim:0", "tk:close:" + "9" * 20, "tk:reopen:" + "9" * 200]
    for data in forged:
        said = await channel._card_button(501, data)
        assert said.startswith("⛔") and "database" not in said, (data, said)
    after = await store.handoff(number)
    assert after is not None and (after.status, after.assigned_officer) == ("open", None)
    assert await channel._card_button(501, f"tk:claim:{number}") == f"Ticket {number} opgepakt."
    assert await channel._card_button(501, f"tk:claim:{number}") == (
        f"⛔ ticket {number} is claimed (by Anna)"
    )


async def test_a_long_officers_answer_reaches_telegram_in_parts(store: Store, d: Dialogue) -> None:
    """The console takes answers of any length; Telegram takes 4,096 characters a message."""
    desk = desk_for(store, d)
    number = await hand_off(desk, KEY, "wie wint de wedstrijd van zondag", "Feijenoord")
    anna = await store.add_officer("Anna", telegram_id=501)
    tickets = Tickets(store, officers_chat=None, splitters={"telegram": split_text})
    answer = " ".join(f"zin{n} over de vergunning." for n in range(1200))  # ~27,000 characters
    await tickets.answer(number, anna, answer, key="once")
    await tickets.answer(number, anna, answer, key="once")  # a retried request
    parts = [str(r.payload["text"]) for r in await store.outbox_rows(chat_id=KEY.external_id)]
    answer_parts = [p for p in parts if "zin" in p]
    assert len(answer_parts) >= 7 and all(len(p) <= TEXT_LIMIT for p in answer_parts)
    words = " ".join(answer_parts).split()
    for word in ("zin0", "zin600", "zin1199"):
        assert words.count(word) == 1  # nothing lost, nothing twice


async def test_an_officers_answer_with_control_characters_reaches_the_initiator(
    store: Store, d: Dialogue
) -> None:
    desk = desk_for(store, d)
    number = await hand_off(desk, KEY, "wie wint de wedstrijd van zondag", "Feijenoord")
    anna = await store.add_officer("Anna", telegram_id=501)
    tickets = Tickets(store, officers_chat=None)
    await tickets.answer(number, anna, "Kijk op\x00 rotterdam.nl\r\n\ud800")
    after = await store.handoff(number)
    assert after is not None and after.answer == "Kijk op rotterdam.nl\n\ufffd"
    rows = await store.outbox_rows(chat_id=KEY.external_id)
    sent = next(r for r in reversed(rows) if "Kijk op" in str(r.payload["text"]))
    # The answer, then (issue 13) the question whether it helped, with two buttons.
    assert "Kijk op rotterdam.nl\n\ufffd\n\n" in str(sent.payload["text"])


async def test_a_ticket_button_with_a_strange_number_is_refused(store: Store, d: Dialogue) -> None:
    await store.add_officer("Anna", telegram_id=501)
    channel = TelegramChannel(
        token="4242:test-token",
        base_url="http://127.0.0.1:9/bot",
        desk=desk_for(store, d),
        tickets=Tickets(store, officers_chat=None),
        store=store,
        officers_chat=None,
    )
    for number in ("²", "9" * 5000, "٢"):
        assert (await channel._card_button(501, f"tk:claim:{number}")).startswith("⛔")


def test_flow_buttons_fit_in_telegram(d: Dialogue) -> None:
    """Every button the bot can make fits Telegram's 64 bytes (an answer of every entry too)."""
    for entry in d.knowledge.entries:
        out = d.step(Conversation(), Inbound(button=f"e:{entry.id}"))
        check(d, Conversation(), Inbound(button=f"e:{entry.id}"), out)
    for flow in d.engine.flows:
        for step in d.engine.flows[flow].steps.values():
            if step.kind == "ask":
                prompt = d.engine.ask_again(FlowState(flow, step.id, trail=("x",)), "nl")
                assert all(len(data.encode()) <= BUTTON_DATA_BYTES for _, data in prompt.options)
    assert all(len(f"k:{kind}") <= BUTTON_DATA_BYTES for kind in KIND_LABELS)
