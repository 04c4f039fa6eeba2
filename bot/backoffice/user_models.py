"""Tables of the staff console: users, web sessions, API tokens, login attempts, user audit.

Secrets are never stored: passwords as argon2 hashes, session cookies and API tokens as
SHA-256 hashes of random 256-bit values (a database leak does not hand out live sessions).
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.cases.models import Base, UTCDateTime


class User(Base):
    """A member of staff (``role`` staff) or an administrator (``role`` admin)."""

    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    #: staff | admin
    role = Column(String(16), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime, nullable=True)
    #: the department the user works for (routing, "my department" filters); optional
    department_code = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    last_login_at = Column(UTCDateTime, nullable=True)
    password_changed_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}{'' if self.active else ' disabled'}>"


class WebSession(Base):
    """One console login. ``id`` is the SHA-256 (hex) of the cookie value."""

    __tablename__ = "web_sessions"

    id = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)
    #: absolute end of the session, whatever the activity
    expires_at = Column(UTCDateTime, nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    ip = Column(String(64), nullable=True)
    user_agent = Column(String(300), nullable=True)

    user = relationship("User")


class ApiToken(Base):
    """A bearer token of the JSON API bound to a user, limited to ``scopes`` and revocable."""

    __tablename__ = "api_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    #: first characters of the token, to tell tokens apart in lists ("bo_a1b2c3")
    prefix = Column(String(16), nullable=False)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(100), nullable=True)
    #: space-separated scopes: read, write, pii
    scopes = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=True)
    revoked_at = Column(UTCDateTime, nullable=True)
    last_used_at = Column(UTCDateTime, nullable=True)

    user = relationship("User")


class LoginAttempt(Base):
    """Every console login attempt: the rate limits count these (shared by all replicas)."""

    __tablename__ = "login_attempts"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False)
    username = Column(String(64), nullable=False)
    ip = Column(String(64), nullable=False)
    success = Column(Boolean, nullable=False)

    __table_args__ = (
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_username_at", "username", "at"),
    )


class UserEvent(Base):
    """Audit row for accounts: created, password changed, disabled, locked, logins, tokens."""

    __tablename__ = "user_events"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    #: who did it: "admin:alice", "cli", "system", or the user themself
    actor = Column(String(200), nullable=False)
    #: the account concerned (kept as text: the audit outlives the account)
    username = Column(String(64), nullable=False, index=True)
    action = Column(String(64), nullable=False)
    note = Column(Text, nullable=True)
    ip = Column(String(64), nullable=True)
