"""Opening the review store for the service (the lead's lifespan puts it in app.state.review)."""
from __future__ import annotations

from storage.review import ReviewStore, open_review_store

from ..settings import Settings
from .auth import WebSettings


def open_review(settings: Settings, web_settings: WebSettings | None = None) -> ReviewStore:
    """The review queue on OTKLIK_DATABASE_URL (migrated to head), with the text retention of the pages."""
    web_settings = web_settings or WebSettings()
    return open_review_store(settings.database_url, text_retention_days=web_settings.review_text_retention_days)
