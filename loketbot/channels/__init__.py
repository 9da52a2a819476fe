"""Channels translate a medium (Telegram, terminal, tests) to and from the dialogue core."""
