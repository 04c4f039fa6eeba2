"""Console users, login, sessions and API tokens (service layer of the staff console).

- Passwords: argon2id (argon2-cffi), rehashed on login when the parameters change.
- Login: limited per client IP (failed attempts in a sliding window) and per user name
  (``max_failures`` wrong passwords lock the name for ``lockout`` minutes, also for names that
  do not exist, so the answer never tells whether an account exists). Password checks run
  outside the write transaction; counters are updated atomically.
- Sessions: random 256-bit cookie value, stored as its SHA-256; idle and absolute expiry;
  one CSRF token per session.
- API tokens: ``bo_`` + random value, stored as SHA-256, bound to a user, limited to scopes
  (``read``, ``write``, ``pii``), optionally expiring, revocable; a disabled user's tokens stop.
  Only admins create tokens (console or CLI); ``pii`` is their grant of clear ID and phone numbers.

Every change writes a :class:`UserEvent` audit row in the same transaction (``do_*``).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.backoffice.user_models import ApiToken, LoginAttempt, User, UserEvent, WebSession
from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.errors import Conflict, InvalidInput, NotFound, PetitionError, Unauthorized
from bot.settings import Settings

ROLES = ("staff", "admin")
ROLE_LABELS = {"staff": "工作人员", "admin": "管理员"}
#: read: GET requests and pure computations; write: changes; pii: may see ID and phone numbers in clear
SCOPES = ("read", "write", "pii")
SCOPE_LABELS = {"read": "查看", "write": "办理（修改）", "pii": "查看完整身份证号和电话（管理员本来就有）"}
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "bo_"
SESSION_TOUCH_SECONDS = 60  # last_seen is written at most once a minute per session
TOKEN_TOUCH_SECONDS = 300
ATTEMPT_RETENTION = timedelta(days=2)
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
_DEPARTMENT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


# --------------------------------------------------------------------------- errors


class LoginFailed(Unauthorized):
    code = "login_failed"
    user_message = "用户名或密码不正确，请重新输入。"


class LoginThrottled(PetitionError):
    """Too many attempts: from this address, or for this user name (lockout)."""

    code = "too_many_attempts"
    http_status = 429
    user_message = "登录尝试次数过多，请稍后再试。"

    def __init__(self, detail: str = "", *, retry_after: int = 60, user_message: str | None = None) -> None:
        super().__init__(detail, user_message=user_message)
        self.retry_after = max(1, int(retry_after))


# --------------------------------------------------------------------------- policy and values


@dataclass(frozen=True)
class AuthPolicy:
    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    ip_limit: int = 30
    window: timedelta = timedelta(minutes=15)
    session_idle: timedelta = timedelta(minutes=30)
    session_max_age: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthPolicy:
        return cls(
            max_failed_logins=max(1, settings.console_max_failed_logins),
            lockout=timedelta(minutes=max(1, settings.console_lockout_minutes)),
            ip_limit=max(1, settings.console_login_ip_limit),
            window=timedelta(minutes=max(1, settings.console_login_window_minutes)),
            session_idle=timedelta(minutes=max(1, settings.console_session_idle_minutes)),
            session_max_age=timedelta(hours=max(1, settings.console_session_max_hours)),
        )


@dataclass(frozen=True)
class ConsoleSession:
    """A valid console session and the user behind it (plain values, no ORM object)."""

    session_id: str
    user_id: int
    username: str
    display_name: str
    role: str
    department_code: str | None
    csrf_token: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"


@dataclass(frozen=True)
class LoginResult:
    token: str  # the cookie value (only the caller ever sees it)
    session: ConsoleSession


@dataclass(frozen=True)
class TokenIdentity:
    token_id: int
    username: str
    role: str
    scopes: frozenset[str]
    department_code: str | None = None


def _now(now: datetime | None) -> datetime:
    return to_utc(now) if now is not None else utcnow()


def hash_secret(value: str) -> str:
    """SHA-256 hex of a random token (tokens have 256 bits of entropy: no salt or stretching needed)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --------------------------------------------------------------------------- passwords


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(new_secret())


def check_password_policy(password: str, username: str = "") -> None:
    """At least 10 characters, not only one repeated character, not the user name."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password too short", user_message=f"密码至少需要{MIN_PASSWORD_LENGTH}个字符。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password too long", user_message=f"密码不能超过{MAX_PASSWORD_LENGTH}个字符。")
    if len(set(password)) < 4:
        raise InvalidInput("password too simple", user_message="密码过于简单，请混合使用不同的字母、数字或符号。")
    if username and username.lower() in password.lower():
        raise InvalidInput("password contains the user name", user_message="密码不能包含用户名。")


def normalize_username(value: str) -> str:
    return (value or "").strip().lower()


def _check_username(username: str) -> str:
    name = normalize_username(username)
    if not _USERNAME_RE.match(name):
        raise InvalidInput(
            f"invalid username {username!r}",
            user_message="用户名需为2到64位小写字母、数字或 _ . -，并以字母或数字开头。",
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", user_message="角色只能是 staff（工作人员）或 admin（管理员）。")
    return role


def _check_display_name(value: str | None, fallback: str) -> str:
    text = (value or "").strip() or fallback
    if len(text) > 100:
        raise InvalidInput("display name too long", user_message="姓名不能超过100个字符。")
    return text


def _check_department(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not _DEPARTMENT_RE.match(text):
        raise InvalidInput("invalid department code", user_message="部门编码只能包含字母、数字和 _ . -。")
    return text


def _audit(session: Session, at: datetime, actor: str, username: str, action: str,
           note: str | None = None, ip: str | None = None) -> None:
    session.add(UserEvent(at=at, actor=actor, username=username, action=action, note=note, ip=ip))


def _user_for_update(session: Session, username: str) -> User:
    user = session.execute(
        select(User).where(User.username == normalize_username(username)).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user {username!r} not found", user_message="没有找到这个用户。")
    return user


# --------------------------------------------------------------------------- accounts


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse a change that would leave no active admin (nobody could manage accounts)."""
    others = session.execute(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
    ).scalar_one()
    if not others:
        raise Conflict("last active admin", user_message="这是最后一个启用的管理员账号，不能停用或改为普通工作人员。")


def do_create_user(
    session_factory: sessionmaker,
    username: str,
    password: str,
    *,
    role: str = "staff",
    display_name: str | None = None,
    department_code: str | None = None,
    actor: str = "cli",
    now: datetime | None = None,
) -> User:
    name = _check_username(username)
    _check_role(role)
    check_password_policy(password, name)
    department = _check_department(department_code)
    shown = _check_display_name(display_name, name)
    password_hash = hash_password(password)
    at = _now(now)
    try:
        with transaction(session_factory, write=True) as session:
            if session.execute(select(User.id).where(User.username == name)).first() is not None:
                raise Conflict(f"user {name} exists", user_message="这个用户名已经存在。")
            user = User(
                username=name, display_name=shown, role=role, password_hash=password_hash, active=True,
                failed_logins=0, department_code=department, created_at=at, updated_at=at,
                password_changed_at=at,
            )
            session.add(user)
            _audit(session, at, actor, name, "user_created", f"role={role}" + (f" department={department}" if department else ""))
            session.flush()
            return user
    except IntegrityError:
        raise Conflict(f"user {name} exists", user_message="这个用户名已经存在。") from None


def do_set_password(
    session_factory: sessionmaker, username: str, password: str, *, actor: str = "cli", now: datetime | None = None
) -> None:
    """New password; ends every session of the user and lifts a lockout."""
    name = normalize_username(username)
    check_password_policy(password, name)
    password_hash = hash_password(password)
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        user = _user_for_update(session, name)
        user.password_hash = password_hash
        user.password_changed_at = at
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = at
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        _audit(session, at, actor, user.username, "password_changed")


def do_set_active(
    session_factory: sessionmaker, username: str, active: bool, *, actor: str = "cli", now: datetime | None = None
) -> User:
    """Disable (sessions end, tokens stop working) or enable an account."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        user = _user_for_update(session, username)
        if user.active == active:
            return user
        if not active and user.role == "admin":
            _keep_an_admin(session, user)
        user.active = active
        user.updated_at = at
        if not active:
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        else:
            user.failed_logins = 0
            user.locked_until = None
        _audit(session, at, actor, user.username, "user_enabled" if active else "user_disabled")
        session.flush()
        return user


def do_update_user(
    session_factory: sessionmaker,
    username: str,
    *,
    display_name: str | None = None,
    role: str | None = None,
    department_code: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> User:
    """Change name, role or department (``department_code=""`` clears it). A role change ends sessions."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        user = _user_for_update(session, username)
        changes = []
        if display_name is not None and display_name.strip() and display_name.strip() != user.display_name:
            user.display_name = _check_display_name(display_name, user.username)
            changes.append("display_name")
        if role is not None and role != user.role:
            if user.role == "admin" and user.active:
                _keep_an_admin(session, user)
            user.role = _check_role(role)
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
            changes.append(f"role={role}")
        if department_code is not None:
            department = _check_department(department_code)
            if department != user.department_code:
                user.department_code = department
                changes.append(f"department={department or '-'}")
        if changes:
            user.updated_at = at
            _audit(session, at, actor, user.username, "user_updated", " ".join(changes))
        session.flush()
        return user


def do_unlock_user(session_factory: sessionmaker, username: str, *, actor: str, now: datetime | None = None) -> None:
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        user = _user_for_update(session, username)
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = at
        _audit(session, at, actor, user.username, "user_unlocked")


def get_user(session_factory: sessionmaker, username: str) -> User:
    with transaction(session_factory) as session:
        user = session.execute(select(User).where(User.username == normalize_username(username))).scalar_one_or_none()
        if user is None:
            raise NotFound(f"user {username!r} not found", user_message="没有找到这个用户。")
        return user


def list_users(session_factory: sessionmaker) -> list[User]:
    with transaction(session_factory) as session:
        return list(session.execute(select(User).order_by(User.username)).scalars())


def display_names(session_factory: sessionmaker) -> dict[str, str]:
    """Login → the name colleagues know (the login when no display name is set)."""
    return {u.username: u.display_name or u.username for u in list_users(session_factory)}


def count_users(session_factory: sessionmaker) -> int:
    with transaction(session_factory) as session:
        return int(session.execute(select(func.count()).select_from(User)).scalar_one())


def list_user_events(session_factory: sessionmaker, limit: int = 100, username: str | None = None) -> list[UserEvent]:
    with transaction(session_factory) as session:
        query = select(UserEvent).order_by(UserEvent.id.desc()).limit(limit)
        if username:
            query = query.where(UserEvent.username == normalize_username(username))
        return list(session.execute(query).scalars())


# --------------------------------------------------------------------------- login and sessions


def _to_console_session(row: WebSession, user: User) -> ConsoleSession:
    return ConsoleSession(
        session_id=row.id, user_id=user.id, username=user.username, display_name=user.display_name,
        role=user.role, department_code=user.department_code, csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def _failed_count(session: Session, column: Any, value: str, since: datetime) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(LoginAttempt).where(
                column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since
            )
        ).scalar_one()
    )


def _retry_seconds(until: datetime, at: datetime) -> int:
    return max(1, int((until - at).total_seconds()) + 1)


def _locked_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return f"密码错误次数过多，该账号已暂时锁定，请在{minutes}分钟后再试；如需立即解锁，请联系管理员。"


def do_login(
    session_factory: sessionmaker,
    username: str,
    password: str,
    *,
    ip: str,
    user_agent: str = "",
    policy: AuthPolicy | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check the password and open a session; every attempt is recorded.

    Raises :class:`LoginThrottled` (too many failures from this IP, or the name is locked)
    or :class:`LoginFailed` (wrong name or password, or a disabled account).
    """
    policy = policy or AuthPolicy()
    at = _now(now)
    name = normalize_username(username)[:64]
    ip = (ip or "unknown")[:64]

    # 1. limits, before any password work
    with transaction(session_factory) as session:
        if _failed_count(session, LoginAttempt.ip, ip, at - policy.window) >= policy.ip_limit:
            seconds = int(policy.window.total_seconds())
            raise LoginThrottled(f"ip {ip} over the login limit", retry_after=seconds,
                                 user_message=f"这台设备登录失败的次数过多，请在{seconds // 60}分钟后再试。")
        user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        if user is not None and user.locked_until is not None and user.locked_until > at:
            seconds = _retry_seconds(user.locked_until, at)
            raise LoginThrottled(f"user {name} locked", retry_after=seconds, user_message=_locked_message(seconds))
        if user is None and _failed_count(session, LoginAttempt.username, name, at - policy.lockout) >= policy.max_failed_logins:
            seconds = int(policy.lockout.total_seconds())
            raise LoginThrottled(f"unknown user {name} locked", retry_after=seconds, user_message=_locked_message(seconds))

    # 2. the password (slow on purpose; same work whether or not the user exists)
    if user is not None:
        ok = verify_password(user.password_hash, password or "") and bool(user.active)
    else:
        verify_password(_dummy_hash(), password or "")
        ok = False

    # 3. record the outcome
    with transaction(session_factory, write=True) as session:
        session.add(LoginAttempt(at=at, username=name, ip=ip, success=ok))
        if user is None:
            raise_after: PetitionError = LoginFailed(f"unknown user {name}")
        elif not ok:
            session.execute(
                update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
            )
            failures = session.execute(select(User.failed_logins).where(User.id == user.id)).scalar_one()
            note = None if user.active else "account disabled"
            _audit(session, at, "system", name, "login_failed", note, ip)
            if failures >= policy.max_failed_logins:
                session.execute(
                    update(User).where(User.id == user.id).values(failed_logins=0, locked_until=at + policy.lockout)
                )
                _audit(session, at, "system", name, "user_locked", f"{failures} failed logins", ip)
            raise_after = LoginFailed(f"wrong password for {name}")
        else:
            fresh = session.execute(select(User).where(User.id == user.id).with_for_update()).scalar_one()
            if _hasher().check_needs_rehash(fresh.password_hash):
                fresh.password_hash = hash_password(password)
            fresh.failed_logins = 0
            fresh.locked_until = None
            fresh.last_login_at = at
            token = new_secret()
            row = WebSession(
                id=hash_secret(token), user_id=fresh.id, created_at=at, last_seen_at=at,
                expires_at=at + policy.session_max_age, csrf_token=new_secret(), ip=ip,
                user_agent=(user_agent or "")[:300] or None,
            )
            session.add(row)
            _audit(session, at, name, name, "login", None, ip)
            session.flush()
            # housekeeping: old attempts and ended sessions
            session.execute(delete(LoginAttempt).where(LoginAttempt.at < at - ATTEMPT_RETENTION))
            session.execute(delete(WebSession).where(WebSession.expires_at < at))
            return LoginResult(token=token, session=_to_console_session(row, fresh))
    raise raise_after


def get_session(
    session_factory: sessionmaker, token: str | None, *, policy: AuthPolicy | None = None, now: datetime | None = None
) -> ConsoleSession | None:
    """The session of a cookie value, or None (unknown, idle too long, past its end, user disabled)."""
    if not token or len(token) > 200:
        return None
    policy = policy or AuthPolicy()
    at = _now(now)
    key = hash_secret(token)
    with transaction(session_factory) as session:
        found = session.execute(
            select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.id == key)
        ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= at or row.last_seen_at + policy.session_idle <= at or not user.active:
        with transaction(session_factory, write=True) as session:
            session.execute(delete(WebSession).where(WebSession.id == key))
        return None
    if (at - row.last_seen_at).total_seconds() >= SESSION_TOUCH_SECONDS:
        with transaction(session_factory, write=True) as session:
            session.execute(update(WebSession).where(WebSession.id == key).values(last_seen_at=at))
    return _to_console_session(row, user)


def do_logout(session_factory: sessionmaker, token: str | None, *, ip: str | None = None,
              now: datetime | None = None) -> None:
    if not token:
        return
    at = _now(now)
    key = hash_secret(token)
    with transaction(session_factory, write=True) as session:
        found = session.execute(
            select(User.username).join(WebSession, WebSession.user_id == User.id).where(WebSession.id == key)
        ).scalar_one_or_none()
        if found is None:
            return
        session.execute(delete(WebSession).where(WebSession.id == key))
        _audit(session, at, found, found, "logout", None, ip)


# --------------------------------------------------------------------------- API tokens


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = sorted({s.strip() for s in scopes if s and s.strip()})
    if not chosen:
        raise InvalidInput("no scope", user_message="请至少选择一个权限范围。")
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scopes {unknown}", user_message="权限范围只能是 read、write、pii。")
    return chosen


def do_create_token(
    session_factory: sessionmaker,
    username: str,
    scopes: Sequence[str],
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    actor: str = "cli",
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new API token for ``username``; the plain token is returned once and never stored."""
    chosen = _check_scopes(scopes)
    at = _now(now)
    token = TOKEN_PREFIX + new_secret()
    with transaction(session_factory, write=True) as session:
        user = _user_for_update(session, username)
        if not user.active:
            raise Conflict("user disabled", user_message="这个账号已停用，不能创建令牌。")
        row = ApiToken(
            token_hash=hash_secret(token), prefix=token[:10], user_id=user.id,
            name=(name or "").strip()[:100] or None, scopes=" ".join(chosen), created_at=at,
            expires_at=to_utc(expires_at) if expires_at else None,
        )
        session.add(row)
        session.flush()
        _audit(session, at, actor, user.username, "token_created", f"id={row.id} scopes={row.scopes}")
        return token, row


def do_revoke_token(session_factory: sessionmaker, token_id: int, *, actor: str = "cli",
                    now: datetime | None = None) -> ApiToken:
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        row = session.execute(select(ApiToken).where(ApiToken.id == token_id).with_for_update()).scalar_one_or_none()
        if row is None:
            raise NotFound(f"token {token_id} not found", user_message="没有找到这个令牌。")
        username = session.execute(select(User.username).where(User.id == row.user_id)).scalar_one()
        if row.revoked_at is None:
            row.revoked_at = at
            _audit(session, at, actor, username, "token_revoked", f"id={row.id}")
        session.flush()
        return row


def list_tokens(session_factory: sessionmaker, username: str | None = None) -> list[tuple[ApiToken, str]]:
    """(token row, username), newest first."""
    with transaction(session_factory) as session:
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
        if username:
            query = query.where(User.username == normalize_username(username))
        return [(row, name) for row, name in session.execute(query).all()]


def authenticate_api_token(
    session_factory: sessionmaker, token: str, *, now: datetime | None = None
) -> TokenIdentity | None:
    """The identity of a database API token, or None (unknown, revoked, expired, user disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    at = _now(now)
    key = hash_secret(token)
    with transaction(session_factory) as session:
        found = session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == key)
        ).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.active or (row.expires_at is not None and row.expires_at <= at):
        return None
    if row.last_used_at is None or (at - row.last_used_at).total_seconds() >= TOKEN_TOUCH_SECONDS:
        with transaction(session_factory, write=True) as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=at))
    return TokenIdentity(token_id=row.id, username=user.username, role=user.role,
                         scopes=frozenset(row.scopes.split()), department_code=user.department_code)
