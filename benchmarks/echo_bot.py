"""The bare python-telegram-bot echo bot the end-to-end benchmark compares loketbot with.

As in PTB's own examples/echobot.py: default settings, one text handler, run_polling.
The token and the Bot API URL come from ECHO_TOKEN and ECHO_API_URL.
Run: ECHO_TOKEN=123:ABC ECHO_API_URL=http://127.0.0.1:PORT/bot python benchmarks/echo_bot.py
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the user's text back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def main() -> None:
    """Poll the Bot API at ECHO_API_URL (default Telegram's) with ECHO_TOKEN until stopped."""
    application = (
        ApplicationBuilder()
        .token(os.environ["ECHO_TOKEN"])
        .base_url(os.environ.get("ECHO_API_URL", "https://api.telegram.org/bot"))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
