"""Alembic migrations run from code: `upgrade(url)` at start-up, no alembic.ini needed."""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def database_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL; a plain file path means a SQLite file there."""
    text = str(url_or_path)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would eat a '%' of an escaped password
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url_or_path: str | Path, revision: str = "head") -> str:
    """Migrate the database to `revision` (default the newest); returns the URL used."""
    url = database_url(url_or_path)
    log.info("migrating %s to %s", _safe(url), revision)
    command.upgrade(alembic_config(url), revision)
    return url


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
