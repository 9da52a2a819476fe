"""How replies look in Telegram: split under the limit, escaped, buttons in rows."""

from __future__ import annotations

from loketbot.channels.telegram import TEXT_LIMIT, keyboard, render_html, split_text
from loketbot.config import load_settings
from loketbot.errors import ConfigError


def test_long_text_splits_on_paragraphs_under_the_limit() -> None:
    paragraph = "woord " * 150  # ~900 characters
    text = "\n\n".join(f"{n}. {paragraph}".strip() for n in range(12))
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p) <= TEXT_LIMIT for p in parts)
    assert all(p[0].isdigit() for p in parts)  # every part starts at a paragraph
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


def test_text_without_boundaries_is_cut_hard() -> None:
    parts = split_text("x" * 10_000)
    assert [len(p) for p in parts] == [TEXT_LIMIT, TEXT_LIMIT, 10_000 - 2 * TEXT_LIMIT]


def test_html_is_escaped() -> None:
    assert (
        render_html("<script>alert(1)</script> & co")
        == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
    )
    assert (
        render_html("Ticket <1>\nvraag", bold_first_line=True) == "<b>Ticket &lt;1&gt;</b>\nvraag"
    )


def test_short_buttons_share_a_row_long_ones_do_not() -> None:
    markup = keyboard([["Ja", "h:yes"], ["Nee", "h:no"], ["Een heel lange knoptekst hier", "x"]])
    assert markup is not None
    rows = [[b.text for b in row] for row in markup.inline_keyboard]
    assert rows == [["Ja", "Nee"], ["Een heel lange knoptekst hier"]]
    assert keyboard([]) is None


def test_settings_reject_bad_values_clearly() -> None:
    try:
        load_settings({"LOKETBOT_REOPEN_DAYS": "drie"})
    except ConfigError as exc:
        assert "LOKETBOT_REOPEN_DAYS" in str(exc)
    else:
        raise AssertionError("a bad number must be refused")
    settings = load_settings({"LOKETBOT_EXPECTED_ANSWER": "2 werkdagen"})
    assert settings.expected_answer == "2 werkdagen" and settings.reopen_days == 3
