"""Bearer-token authentication of the back-office API.

``Authorization: Bearer <token>``. Tokens map to a :class:`Principal` (name, role); today
``BACKOFFICE_TOKEN`` is the admin and ``BACKOFFICE_STAFF_TOKEN`` (optional) a staff member.
Per-user tokens created with ``python -m bot token create`` (hashed in the database, scoped,
revocable, see :mod:`bot.backoffice.users`) work alongside them when the authenticator is given
the session factory. Endpoints only see ``Principal``.
An empty token is never accepted; comparison is constant-time (``hmac.compare_digest``).

Scopes of database tokens: ``read`` (GET, and the pure computations ``POST /api/intake/parse``
and ``POST /api/triage``), ``write`` (every other request), ``pii`` (the permission to see ID and
phone numbers in clear, for a staff user's token; admins have it by role). The environment
tokens have every scope of their role.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import sessionmaker

from bot.errors import Forbidden, Unauthorized
from bot.settings import Settings


class Role(str, Enum):
    STAFF = "staff"
    ADMIN = "admin"


#: POST endpoints that only compute an answer: a ``read`` token may call them
READ_ONLY_POSTS = frozenset({"/api/intake/parse", "/api/triage"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    #: None: every scope of the role (environment tokens, console sessions)
    scopes: frozenset[str] | None = None
    #: the department the person works for (identity policy of accusations: bot/cases/privacy.py)
    department_code: str | None = None

    @property
    def may_see_pii(self) -> bool:
        """Holds the permission to see ID and phone numbers in clear (个人信息保护法: least
        access): admins, and API tokens an admin gave the ``pii`` scope. What a principal
        actually sees of a case is decided by ``bot.cases.privacy.identity_access``."""
        return self.role is Role.ADMIN or (self.scopes is not None and "pii" in self.scopes)

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def __str__(self) -> str:
        return f"{self.role.value}:{self.name}"


class TokenAuthenticator:
    """A fixed set of bearer tokens, each standing for one principal."""

    def __init__(
        self, tokens: Iterable[tuple[str, Principal]], lookup: Callable[[str], Principal | None] | None = None
    ) -> None:
        self._tokens = [(token.encode("utf-8"), who) for token, who in tokens if token]
        self._lookup = lookup

    @classmethod
    def from_settings(cls, settings: Settings, session_factory: sessionmaker | None = None) -> TokenAuthenticator:
        """The environment tokens, plus the database tokens when ``session_factory`` is given."""
        lookup = None
        if session_factory is not None:
            factory = session_factory

            def lookup(token: str) -> Principal | None:
                return principal_for_api_token(factory, token)

        return cls(
            [
                (settings.backoffice_token, Principal("admin", Role.ADMIN)),
                (settings.backoffice_staff_token, Principal("staff", Role.STAFF)),
            ],
            lookup,
        )

    def authenticate(self, token: str) -> Principal | None:
        given = token.encode("utf-8")
        found: Principal | None = None
        for expected, who in self._tokens:  # no early exit: same work for every token
            if hmac.compare_digest(given, expected) and found is None:
                found = who
        if found is None and self._lookup is not None:
            found = self._lookup(token)
        return found


def principal_for_api_token(session_factory: sessionmaker, token: str) -> Principal | None:
    """A database API token (``bo_...``) as a principal, or None."""
    from bot.backoffice.users import authenticate_api_token

    identity = authenticate_api_token(session_factory, token)
    if identity is None:
        return None
    return Principal(identity.username, Role(identity.role), scopes=identity.scopes,
                     department_code=identity.department_code)


def required_scope(method: str, path: str) -> str:
    if method.upper() in ("GET", "HEAD", "OPTIONS") or path in READ_ONLY_POSTS:
        return "read"
    return "write"


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
    scope = required_scope(request.method, request.url.path)
    if not principal.has_scope(scope):
        raise Forbidden(f"token lacks scope {scope}", user_message="这个访问令牌没有进行该操作的权限。")
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
