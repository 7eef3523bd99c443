"""Alembic environment and revisions of the otklik database (history, then curator review)."""
