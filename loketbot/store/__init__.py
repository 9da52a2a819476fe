"""The database: SQLAlchemy models, Alembic migrations, the statements of one turn and the
queries of each concern (tickets, outbox, privacy, insight, suggestions).

`Store` is the entry point. Imports nothing of loketbot but errors and config.
"""
