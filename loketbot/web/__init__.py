"""The web side: health, the Telegram webhook endpoint, and (later) the officers' console."""
