"""Console security: session cookie, CSRF, role checks and the security headers.

- Session cookie ``xf_session``: HttpOnly, SameSite=Lax, Path=/console, Secure when
  ``CONSOLE_COOKIE_SECURE`` is on (production behind HTTPS); the value is a random token whose
  SHA-256 is the session id in the database (:mod:`bot.backoffice.users`).
- CSRF: every POST carries the session's token in the ``csrf_token`` field (compared in
  constant time); the login form uses a double-submit cookie. A POST whose ``Origin`` names
  another site is refused as well.
- Headers on every ``/console`` response: a Content-Security-Policy without inline script,
  ``X-Frame-Options: DENY``, ``nosniff``, ``Referrer-Policy: same-origin``, no caching
  (pages show personal data).
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from sqlalchemy.orm import sessionmaker

from bot.backoffice.users import AuthPolicy, ConsoleSession, get_session
from bot.settings import Settings

SESSION_COOKIE = "xf_session"
LOGIN_CSRF_COOKIE = "xf_login_csrf"
COOKIE_PATH = "/console"
PREFIX = "/console"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
NO_STORE = (b"cache-control", b"no-store")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every response under ``/console`` (pure ASGI)."""

    def __init__(self, app: ASGIApp, prefix: str = PREFIX) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(SECURITY_HEADERS)]
                headers.extend(SECURITY_HEADERS)
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --------------------------------------------------------------------------- exceptions the console turns into pages


class LoginRequired(Exception):
    """No valid session: redirect to the login page (then back to ``next_path``)."""

    def __init__(self, next_path: str = "") -> None:
        super().__init__("login required")
        self.next_path = next_path


class ConsoleDenied(Exception):
    """A page-level refusal: forbidden role, failed CSRF check."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


# --------------------------------------------------------------------------- helpers


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def factory_of(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


def policy_of(request: Request) -> AuthPolicy:
    return AuthPolicy.from_settings(settings_of(request))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(value: str | None) -> str:
    """Only a path inside the console (no other host, no scheme-relative URL)."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//") or "\\" in value:
        return PREFIX + "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return PREFIX + "/"
    return value


def login_url(next_path: str = "") -> str:
    if next_path and next_path != PREFIX + "/":
        return f"{PREFIX}/login?next={quote(next_path, safe='/')}"
    return f"{PREFIX}/login"


def current_session(request: Request) -> ConsoleSession:
    """Dependency: the signed-in user, or :class:`LoginRequired`."""
    found = get_session(factory_of(request), request.cookies.get(SESSION_COOKIE), policy=policy_of(request))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "")
    request.state.console_session = found
    return found


def admin_session(request: Request) -> ConsoleSession:
    """Dependency: the signed-in user, who must be an admin."""
    found = current_session(request)
    if not found.is_admin:
        raise ConsoleDenied("这个页面只有管理员可以使用。")
    return found


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None  # an opaque origin ("null") is refused
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def tokens_match(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Posted:
    """A POST that passed the CSRF check: the user and the form fields."""

    session: ConsoleSession
    form: dict[str, str]
    lists: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        return self.form.get(name, default)


async def posted_form(request: Request) -> Posted:
    """Dependency for every console POST: a valid session and its CSRF token in the form."""
    session = current_session(request)
    form = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(key, value)
            lists.setdefault(key, []).append(value)
    if not _same_origin(request) or not tokens_match(values.get("csrf_token"), session.csrf_token):
        raise ConsoleDenied("页面已过期或来源不明，请刷新页面后重新操作。", 403)
    return Posted(session, values, lists)


async def posted_admin_form(request: Request) -> Posted:
    posted = await posted_form(request)
    if not posted.session.is_admin:
        raise ConsoleDenied("这个操作只有管理员可以进行。")
    return posted


def check_login_csrf(request: Request, given: str | None) -> bool:
    return _same_origin(request) and tokens_match(given, request.cookies.get(LOGIN_CSRF_COOKIE))
