"""The database: SQLAlchemy models, Alembic migrations, the statements of one turn and the
queries of each concern (tickets, outbox, privacy, insight, suggestions).

`Store` is the entry point. Imports nothing of loketbot but errors and config.
"""

# The shared-limits tables live in their own module; importing it here puts them in
# Base.metadata wherever the store is used, so migrations and models are compared whole.
from loketbot.store import guards as _guards  # noqa: F401
