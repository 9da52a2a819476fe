"""loketbot: a one-stop desk in Telegram for citizen initiatives in Rotterdam.

Where things live (imports only go down this list; `errors` and `config` are used by all):

- `channels/`, `web/`: where a message enters (Telegram, terminal) and where officers and
  editors work (the console, the webhook).
- `service/`: the running desk: one transaction per turn, the sender, tickets, officers, limits.
- `conversation/`: the pure dialogue core: what the bot says next, the flow engine, the texts.
- `understanding/`: the pure reading of a question: analysis, matching, evaluation.
- `content/`: knowledge and flow files: load, validate, edit.
- `store/`: the database: models, migrations, the statements of a turn and of each concern.
- `cli.py`, `server.py`: entry points that wire the rooms together.
"""
