"""The pure core: commands, answers with feedback, clarify, and the handoff conversation."""

from __future__ import annotations

from loketbot.conversation.dialogue import (
    Conversation,
    Dialogue,
    FeedbackGiven,
    HandoffRequested,
    Inbound,
    Outcome,
)


def say(d: Dialogue, conv: Conversation, text: str = "", button: str | None = None) -> Outcome:
    return d.step(conv, Inbound(text=text, button=button))


def test_start_welcomes_explains_and_mentions_privacy(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "/start")
    text = out.replies[0].text
    assert "loketbot" in text and "Privacy" in text and "/mens" in text
    labels = [b.label for b in out.replies[0].buttons]
    assert "Rechtsvorm" in labels and "Vraag aan een mens" in labels


def test_question_gets_answer_with_source_department_and_feedback(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "wat is een stichting?")
    reply = out.replies[0]
    assert "STICHTING" in reply.text
    assert "https://" in reply.text  # the official source
    assert "Afdeling:" in reply.text
    assert [b.data for b in reply.buttons] == [
        "fb:1:legal-form-stichting",
        "fb:0:legal-form-stichting",
    ]
    assert out.match is not None and out.match.intent == "legal-form-stichting"


def test_english_question_gets_english_answer(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "what is a stichting and when do we need one?")
    assert out.conversation.lang == "en"
    assert "More information" in out.replies[0].text


def test_helpful_feedback_is_recorded(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "wat is een stichting?").conversation
    out = say(dialogue, conv, button="fb:1:legal-form-stichting")
    assert out.events == (FeedbackGiven("legal-form-stichting", True),)
    assert out.conversation.mode == "idle"


def test_unhelpful_answer_offers_a_liaison_officer_and_hands_off(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "wat is een stichting?").conversation
    out = say(dialogue, conv, button="fb:0:legal-form-stichting")
    assert out.events == (FeedbackGiven("legal-form-stichting", False),)
    assert [b.data for b in out.replies[0].buttons] == ["h:yes", "h:no"]
    out = say(dialogue, out.conversation, button="h:yes")
    out = say(dialogue, out.conversation, button="h:skip")
    (event,) = out.events
    assert isinstance(event, HandoffRequested)
    assert event.question == "wat is een stichting?"


def test_unknown_question_hands_off_with_context(dialogue: Dialogue) -> None:
    conv = Conversation()
    out = say(dialogue, conv, "wie wint de wedstrijd van zondag")
    assert out.conversation.mode == "handoff_confirm"
    out = say(dialogue, out.conversation, "ja")  # typing works as well as tapping
    assert out.conversation.mode == "handoff_context"
    assert "wie wint de wedstrijd van zondag" in out.replies[0].text
    out = say(dialogue, out.conversation, "Ik woon in Feijenoord")
    (event,) = out.events
    assert isinstance(event, HandoffRequested)
    assert event.question == "wie wint de wedstrijd van zondag"
    assert event.context["extra"] == "Ik woon in Feijenoord"
    assert any(m["text"] == "wie wint de wedstrijd van zondag" for m in event.context["recent"])
    assert "candidates" in event.context
    assert out.conversation.mode == "idle"


def test_declined_handoff_sends_nothing(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "wie wint de wedstrijd van zondag")
    out = say(dialogue, out.conversation, button="h:no")
    assert out.events == ()
    assert out.conversation.mode == "idle"


def test_mens_uses_the_last_question(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "wat is een stichting?").conversation
    out = say(dialogue, conv, "/mens")
    assert out.conversation.mode == "handoff_context"
    out = say(dialogue, out.conversation, button="h:skip")
    (event,) = out.events
    assert isinstance(event, HandoffRequested) and event.question == "wat is een stichting?"


def test_mens_after_a_follow_up_read_alone_passes_on_both_questions(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "wat is een stichting?").conversation
    conv = say(dialogue, conv, "en een coöperatie?").conversation
    # The next follow-up is still read against "en een coöperatie?" alone.
    assert conv.last_question == "en een coöperatie?"
    conv = Conversation.from_json(conv.to_json())
    out = say(dialogue, conv, "/mens")
    out = say(dialogue, out.conversation, button="h:skip")
    (event,) = out.events
    assert isinstance(event, HandoffRequested)
    assert event.question == "wat is een stichting? — en een coöperatie?"


def test_mens_without_a_question_asks_for_it(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "/mens")
    assert out.conversation.mode == "handoff_question"
    out = say(dialogue, out.conversation, "Hoe zit het met de huur van ons buurthuis?")
    out = say(dialogue, out.conversation, button="h:skip")
    (event,) = out.events
    assert isinstance(event, HandoffRequested)
    assert event.question == "Hoe zit het met de huur van ons buurthuis?"


def test_asking_for_a_person_in_words_starts_a_handoff(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "geveltuin aanleggen").conversation
    out = say(dialogue, conv, "ik wil een echte persoon spreken")
    assert out.conversation.mode == "handoff_context"
    assert "geveltuin aanleggen" in out.replies[0].text


def test_clarify_offers_buttons_and_a_typed_number_picks(dialogue: Dialogue) -> None:
    conv = Conversation(mode="clarify", options=("legal-form-stichting", "legal-form-cooperatie"))
    out = say(dialogue, conv, "2")
    assert "COÖPERATIE" in out.replies[0].text.upper() or "COOPERATIE" in out.replies[0].text
    assert out.conversation.mode == "idle"


def test_opnieuw_resets_but_keeps_language(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "/taal en").conversation
    conv = say(dialogue, conv, "wie wint de wedstrijd van zondag").conversation
    out = say(dialogue, conv, "/opnieuw")
    assert out.conversation.mode == "idle" and out.conversation.lang == "en"
    assert out.conversation.history[-1][0] == "bot"


def test_taal_pins_the_language(dialogue: Dialogue) -> None:
    conv = say(dialogue, Conversation(), "/taal en").conversation
    out = say(dialogue, conv, "wat is een stichting")
    assert out.conversation.lang == "en"
    assert "More information" in out.replies[0].text


def test_stale_and_forged_buttons_are_refused_politely(dialogue: Dialogue) -> None:
    for data in ("h:yes", "e:no-such-entry", "fb:1:nope", "zzz", "k:evil"):
        out = say(dialogue, Conversation(), button=data)
        assert out.events == ()
        assert "eerder gesprek" in out.replies[0].text


def test_menu_buttons_lead_to_answers(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "/menu")
    out = say(dialogue, out.conversation, button="k:permit")
    assert any(b.data == "e:permit-event" for b in out.replies[0].buttons)
    out = say(dialogue, out.conversation, button="e:permit-event")
    assert out.replies[0].buttons[0].data == "fb:1:permit-event"


def test_unknown_command_and_empty_message(dialogue: Dialogue) -> None:
    assert "/help" in say(dialogue, Conversation(), "/bestaatniet").replies[0].text
    assert "tekst" in say(dialogue, Conversation(), "").replies[0].text


def test_state_survives_json_round_trip(dialogue: Dialogue) -> None:
    out = say(dialogue, Conversation(), "wie wint de wedstrijd van zondag")
    restored = Conversation.from_json(out.conversation.to_json())
    assert restored == out.conversation
    assert Conversation.from_json({"v": 999, "lang": "en"}) == Conversation(lang="en")
