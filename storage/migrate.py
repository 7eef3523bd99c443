"""Alembic migrations run from code: `upgrade(url)` at start-up, no alembic.ini needed."""
from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# the newest revision (tests/storage check it against the scripts): a database already there is
# opened without loading alembic and its scripts (~0.3 s of the service's start)
HEAD = "0002_review"


def database_url(url_or_path: str | Path) -> str:
    """A SQLAlchemy URL; a plain file path means a SQLite file there."""
    text = str(url_or_path)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would eat a '%' of an escaped password
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url_or_path: str | Path, revision: str = "head") -> str:
    """Migrate the database to `revision` (default the newest); returns the URL used."""
    url = database_url(url_or_path)
    if revision == "head" and current_revisions(url) == [HEAD]:
        return url
    from alembic import command

    log.info("migrating %s to %s", _safe(url), revision)
    command.upgrade(alembic_config(url), revision)
    return url


def current_revisions(url: str) -> list[str]:
    """The revisions recorded in the database (empty for a new one)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return []
            return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
