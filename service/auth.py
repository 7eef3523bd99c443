"""Bearer tokens with a role. With no tokens configured, auth is off (the service then binds only to
loopback: see otklik.cli serve). Tokens are never logged."""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError

_bearer = HTTPBearer(auto_error=False)

# which roles may call each area
MONITORING = ("monitoring", "admin")
CURATOR = ("curator", "admin")
ANY_ROLE = ("monitoring", "curator", "admin")


def _role_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    tokens: dict[str, str] = request.app.state.tokens
    if not tokens:
        return "admin"  # auth disabled for local use
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "expected an Authorization: Bearer TOKEN header, got none")
    for token, role in tokens.items():
        if hmac.compare_digest(token.encode(), credentials.credentials.encode()):
            return role
    raise ApiError(401, "unauthorized", "expected a configured API token, got an unknown one")


def require(*roles: str):
    # async: a cheap check that should not cost a thread-pool round trip per request
    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> str:
        role = _role_of(request, credentials)
        if role not in roles:
            raise ApiError(403, "forbidden", f"expected a token with role {' or '.join(roles)}, got role {role}")
        request.state.role = role
        return role

    return dependency


MonitoringRole = Annotated[str, Depends(require(*MONITORING))]
CuratorRole = Annotated[str, Depends(require(*CURATOR))]
AnyRole = Annotated[str, Depends(require(*ANY_ROLE))]
