"""Persistent stores of otklik (SQLAlchemy 2: SQLite by default, PostgreSQL by URL).

`open_store(url_or_path)` migrates the database to the newest revision and returns the history store.
"""
from .history import SqlHistoryStore, open_store
from .migrate import database_url, upgrade

__all__ = ["SqlHistoryStore", "open_store", "upgrade", "database_url"]
