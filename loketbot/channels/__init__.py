"""Channels: where a message enters. Telegram and the terminal, translated to the core's Inbound.

The only place a medium's library (python-telegram-bot) is imported. May import service and
everything below it; never web.
"""
