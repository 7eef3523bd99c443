"""Curator accounts, sessions and CSRF for the curator pages.

Accounts come from `OTKLIK_CURATORS` ("login:pbkdf2hash:role,…", roles curator or admin; make a
hash with `otklik hash-password`). A session is a signed cookie (itsdangerous, key
`OTKLIK_SESSION_SECRET`) holding the login, the role and a per-session CSRF token that every POST
form must echo back. With no accounts configured and the service on a loopback address, a local
login "curator" without a password is allowed for requests from this machine only (the page says so).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

WEB_ROLES = ("curator", "admin")
LOCAL_LOGIN = "curator"
HASH_SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000
SESSION_COOKIE = "otklik_session"
LOGIN_COOKIE = "otklik_login"
COOKIE_PATH = "/curator"


class WebSettings(BaseSettings):
    """Settings of the curator pages (OTKLIK_ prefix, like service.settings.Settings)."""

    model_config = SettingsConfigDict(env_prefix="OTKLIK_", env_file=".env", extra="ignore")

    # comma-separated login:pbkdf2hash:role; empty = local passwordless login on loopback only
    curators: str = ""
    # key that signs the session cookies; empty = a random key per process (sessions end on restart)
    session_secret: str = ""
    session_hours: float = Field(12, gt=0, le=24 * 30)
    # days a decided post's text is kept (for the feedback export) before it is cleared
    review_text_retention_days: int = Field(90, ge=1)
    max_login_failures: int = Field(5, ge=1)

    @field_validator("curators")
    @classmethod
    def _check_curators(cls, value: str) -> str:
        parse_curators(value)  # raises ValueError naming the offending item
        return value

    def accounts(self) -> dict[str, "Account"]:
        return parse_curators(self.curators)


@dataclass(frozen=True)
class Account:
    login: str
    password_hash: str
    role: str


@dataclass(frozen=True)
class CuratorSession:
    login: str
    role: str
    csrf: str
    local: bool = False


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$ITERATIONS$SALT$HASH` (base64url, no ':' or ',' so it fits OTKLIK_CURATORS)."""
    if not password:
        raise ValueError("password: expected a non-empty string, got an empty one")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{HASH_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != HASH_SCHEME:
            return False
        expected = _unb64(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _unb64(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def hash_password_command(password: str, iterations: int = DEFAULT_ITERATIONS) -> str:
    """What `otklik hash-password` prints: the hash to put in OTKLIK_CURATORS as login:HASH:role."""
    return hash_password(password, iterations=iterations)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_curators(value: str) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for n, item in enumerate(p.strip() for p in value.split(",")):
        if not item:
            continue
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"OTKLIK_CURATORS item {n + 1}: expected login:pbkdf2hash:role, got {len(parts)} part(s)")
        login, password_hash, role = parts
        if role not in WEB_ROLES:
            raise ValueError(f"OTKLIK_CURATORS item {n + 1}: expected role in {WEB_ROLES}, got {role!r}")
        if not password_hash.startswith(HASH_SCHEME + "$") or password_hash.count("$") != 3:
            raise ValueError(f"OTKLIK_CURATORS item {n + 1}: expected a hash from `otklik hash-password` "
                             f"({HASH_SCHEME}$…), got another value")
        if login in accounts:
            raise ValueError(f"OTKLIK_CURATORS item {n + 1}: duplicate login {login!r}")
        accounts[login] = Account(login, password_hash, role)
    return accounts


def is_loopback(host: str | None) -> bool:
    # like service.app.is_loopback, without importing the app (`otklik hash-password` stays light)
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # a real hash to compare against for unknown logins, so a wrong login costs as much as a wrong password
    return hash_password("otklik-dummy", iterations=DEFAULT_ITERATIONS, salt=b"\0" * 16)


class Authenticator:
    """Checks passwords, signs and reads session cookies, counts failed logins."""

    def __init__(self, settings: WebSettings, service_host: str):
        self.settings = settings
        self.accounts = settings.accounts()
        self.service_host = service_host
        secret = settings.session_secret
        if not secret:
            secret = secrets.token_urlsafe(32)
            log.warning("OTKLIK_SESSION_SECRET is not set: curator sessions use a random key and end on restart")
        self._sessions = URLSafeTimedSerializer(secret, salt="otklik-curator-session")
        self._login_tokens = URLSafeTimedSerializer(secret, salt="otklik-curator-login")
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        if not self.accounts:
            if is_loopback(service_host):
                log.warning("no curator accounts (OTKLIK_CURATORS): local login %r without password, "
                            "from this machine only", LOCAL_LOGIN)
            else:
                log.warning("no curator accounts (OTKLIK_CURATORS) and the service is not on loopback: "
                            "the curator pages accept no login")

    @property
    def max_age(self) -> int:
        return int(self.settings.session_hours * 3600)

    def local_mode(self, client_host: str | None) -> bool:
        """Passwordless local login: no accounts, the service on loopback, the browser on this machine."""
        return not self.accounts and is_loopback(self.service_host) and is_loopback(client_host)

    def check_password(self, login: str, password: str) -> Account | None:
        account = self.accounts.get(login)
        ok = verify_password(password, account.password_hash if account else _dummy_hash())
        return account if ok and account is not None else None

    # failed logins: at most max_login_failures per login+client in 5 minutes
    def locked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < 300]
            self._failures[key] = recent
            return len(recent) >= self.settings.max_login_failures

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def issue(self, login: str, role: str, local: bool = False) -> str:
        return self._sessions.dumps({"u": login, "r": role, "c": secrets.token_urlsafe(24), "l": local})

    def read(self, cookie: str | None, client_host: str | None) -> CuratorSession | None:
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        login, role, csrf, local = data.get("u"), data.get("r"), data.get("c"), bool(data.get("l"))
        if role not in WEB_ROLES or not isinstance(login, str) or not isinstance(csrf, str):
            return None
        if local:
            if not self.local_mode(client_host):
                return None  # accounts were configured since, or the request is not local
        elif login not in self.accounts or self.accounts[login].role != role:
            return None  # the account was removed or its role changed
        return CuratorSession(login, role, csrf, local)

    def login_token(self) -> tuple[str, str]:
        """(token for the form, signed value for the login cookie): CSRF protection of the login form."""
        token = secrets.token_urlsafe(24)
        return token, self._login_tokens.dumps(token)

    def check_login_token(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        try:
            expected = self._login_tokens.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return isinstance(expected, str) and hmac.compare_digest(expected, token)


def check_csrf(session: CuratorSession, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())
