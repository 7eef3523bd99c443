"""The service's one settings class (environment variables with the OTKLIK_ prefix, or .env)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.paths import DEFAULT_ARTIFACT

ROLES = ("monitoring", "curator", "admin")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTKLIK_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # comma-separated token:role pairs; empty = no auth, loopback only
    api_tokens: str = ""
    database_url: str = "sqlite:///otklik.db"
    default_region: str = "omsk"
    model_path: Path = DEFAULT_ARTIFACT
    # limits (documented in the README; 413/422 beyond them)
    max_text_chars: int = 20_000
    max_batch_posts: int = 1_000
    # the tagging thread tags at most this many queued posts in one pipeline call (service/batcher.py)
    tagging_batch: int = Field(256, ge=1, le=10_000)
    # how long (ms) a thread may hold the GIL while another waits for it (sys.setswitchinterval;
    # Python's default is 5): the event loop waits this long at most for the tagging thread, per
    # hand-over, to read a request or write an answer (BENCHMARKS.md, stop 17)
    gil_switch_interval_ms: float = Field(1.0, gt=0, le=100)
    # glibc malloc arenas per worker (service/malloc.py): with glibc's default (8 per core) a
    # worker's RSS rose ~3× faster under load; 0 leaves glibc's default
    malloc_arena_max: int = Field(2, ge=0, le=64)
    max_body_bytes: int = 16 * 1024 * 1024
    # personal data (post texts, author ids) is not logged unless this is set
    log_personal_data: bool = False
    log_json: bool = True
    # history retention for repeats/incidents (days); texts are never stored
    history_retention_days: int = Field(365, ge=1)
    history_enabled: bool = True
    # the newest posts kept in memory for repeat and incident lookups (older ones are read from the
    # database); ~2.6 KB each with their indexes, so the default bounds the mirror near 52 MB. With
    # the tiers below at their bounds too a worker stays near 540 MB, under #7's 600 (at 50,000 it
    # passed 600 in a soak); at a region's rate mirror and keys still hold the whole 72-hour window
    history_mirror_posts: int = Field(20_000, ge=100)
    # below a full mirror: the incident look-ups' keys of the window's older posts (~0.7 KB each,
    # storage/older.py) and light rows of authors' older posts for the repeats step (~0.25 KB
    # each, storage/authors.py); beyond these bounds lookups go to the database
    history_older_posts: int = Field(50_000, ge=0)
    history_author_rows: int = Field(100_000, ge=0)
    # a SQLite database's write-ahead log is checkpointed by a thread this often (0: only by the
    # writers themselves, on the tagging thread; storage/checkpoint.py)
    sqlite_checkpoint_seconds: float = Field(1.0, ge=0)

    @field_validator("api_tokens")
    @classmethod
    def _check_tokens(cls, value: str) -> str:
        parse_tokens(value)  # raises ValueError with the offending pair
        return value

    def tokens(self) -> dict[str, str]:
        return parse_tokens(self.api_tokens)

    @property
    def auth_enabled(self) -> bool:
        return bool(self.tokens())


def parse_tokens(value: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for n, pair in enumerate(p.strip() for p in value.split(",")):
        if not pair:
            continue
        token, sep, role = pair.rpartition(":")
        if not sep or not token:
            raise ValueError(f"OTKLIK_API_TOKENS item {n + 1}: expected token:role, got a value without ':'")
        if role not in ROLES:
            raise ValueError(f"OTKLIK_API_TOKENS item {n + 1}: expected role in {ROLES}, got {role!r}")
        tokens[token] = role
    return tokens


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
