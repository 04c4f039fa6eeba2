"""Bearer-token authentication of the back-office API.

``Authorization: Bearer <token>``. Tokens map to a :class:`Principal` (name, role); today
``BACKOFFICE_TOKEN`` is the admin and ``BACKOFFICE_STAFF_TOKEN`` (optional) a staff member.
More tokens (per-user, hashed in the database, or SSO) plug in by giving the app another
:class:`TokenAuthenticator` (``app.state.authenticator``); endpoints only see ``Principal``.
An empty token is never accepted; comparison is constant-time (``hmac.compare_digest``).
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.errors import Forbidden, Unauthorized
from bot.settings import Settings


class Role(str, Enum):
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role

    @property
    def may_see_pii(self) -> bool:
        """Only admins see ID and phone numbers unmasked (个人信息保护法: least access)."""
        return self.role is Role.ADMIN

    def __str__(self) -> str:
        return f"{self.role.value}:{self.name}"


class TokenAuthenticator:
    """A fixed set of bearer tokens, each standing for one principal."""

    def __init__(self, tokens: Iterable[tuple[str, Principal]]) -> None:
        self._tokens = [(token.encode("utf-8"), who) for token, who in tokens if token]

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenAuthenticator:
        return cls(
            [
                (settings.backoffice_token, Principal("admin", Role.ADMIN)),
                (settings.backoffice_staff_token, Principal("staff", Role.STAFF)),
            ]
        )

    def authenticate(self, token: str) -> Principal | None:
        given = token.encode("utf-8")
        found: Principal | None = None
        for expected, who in self._tokens:  # no early exit: same work for every token
            if hmac.compare_digest(given, expected) and found is None:
                found = who
        return found


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <token>")


def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """FastAPI dependency: the caller, or :class:`bot.errors.Unauthorized` (401)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token", user_message="请先登录（缺少访问令牌）。")
    authenticator: TokenAuthenticator = request.app.state.authenticator
    principal = authenticator.authenticate(credentials.credentials)
    if principal is None:
        raise Unauthorized("invalid bearer token", user_message="访问令牌无效，请重新登录。")
    return principal


#: endpoint parameter type: ``principal: CurrentPrincipal``
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[..., Principal]:
    """Dependency factory: the caller must have one of ``roles`` (else 403)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency
