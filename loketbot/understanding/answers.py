"""Yes and no as people type them: the words reading, the dialogue and the flows share.

Each reader takes the sets it needs and adds its own phrases ("ja graag", "neen").
"""

from __future__ import annotations

__all__ = ["AGREEING", "NO", "NO_SHORT", "OKAY", "YES", "YES_SHORT"]

# A plain yes or no, in Dutch and English.
YES = frozenset({"ja", "yes"})
NO = frozenset({"nee", "no"})
# Short and casual forms: a whole answer to a yes/no question, though reading does not count
# them as the start of an answer.
YES_SHORT = frozenset({"j", "y"})
NO_SHORT = frozenset({"n", "nope"})
# A firmer yes: a flow takes it as yes, reading as an answer rather than a question.
AGREEING = frozenset({"jazeker", "klopt", "natuurlijk"})
# Okay: yes to the dialogue's offers, and an answer rather than a question to reading.
OKAY = frozenset({"ok", "oke"})
