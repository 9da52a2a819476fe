"""A local Telegram Bot API emulator and its tests."""

from tests.botapi.emulator import ApiError, BotApiEmulator, WebhookDelivery, parse_html

__all__ = ["ApiError", "BotApiEmulator", "WebhookDelivery", "parse_html"]
