"""The conversation core, pure: given the state and one incoming event, what the bot says and
which events follow (dialogue), the flow engine (flows), conversation state (state), texts.

No network, database or clock of its own. May import understanding and content; nothing above.
"""
