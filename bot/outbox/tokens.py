"""A store for credentials every process must share (the WeChat access token).

WeChat hands out one valid access token per AppID: each fetch makes the previous token expire
(after a 5-minute grace period). So the token is fetched by one process at a time, under a lock,
and every process reads it from a shared place:

* :class:`RedisTokenStore` when ``REDIS_URL`` is set (``SET .. EX`` + a redis-py lock);
* :class:`DbTokenStore` otherwise: the ``shared_tokens`` table of the case database, with a
  lease (``lock_owner`` / ``lock_until``) as the lock;
* :class:`MemoryTokenStore` for one process only (tests, tools).

:func:`get_or_refresh` is the one way to read a token: cached value, else lock, read again
(another process may just have fetched it), else fetch and store.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.errors import UpstreamUnavailable
from bot.outbox.models import SharedToken
from bot.settings import Settings

log = logging.getLogger(__name__)

#: refresh this long before the token's own expiry (WeChat: 7200 s tokens)
REFRESH_MARGIN_SECONDS = 300
LOCK_TTL_SECONDS = 30.0
#: longer than the lock's TTL, so a crashed holder's lock runs out while others wait
LOCK_WAIT_SECONDS = 35.0
_POLL_SECONDS = 0.1


class TokenStore(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: float) -> None: ...

    def delete(self, key: str) -> None: ...

    def lock(self, key: str, *, ttl: float = LOCK_TTL_SECONDS,
             wait: float = LOCK_WAIT_SECONDS) -> AbstractContextManager[bool]:
        """Hold the refresh lock of ``key``; yields False when it could not be had within ``wait``."""
        ...


Fetch = Callable[[], tuple[str, float]]  # -> (token, expires_in seconds)


def get_or_refresh(store: TokenStore, key: str, fetch: Fetch, *, stale: str | None = None) -> str:
    """The shared token under ``key``; fetched (by this process, under the lock) only when there
    is none, or when the stored one is ``stale`` (the API just refused it)."""
    token = store.get(key)
    if token and token != stale:
        return token
    with store.lock(key) as acquired:
        token = store.get(key)
        if token and token != stale:
            return token  # another process refreshed it while we waited
        if not acquired:
            raise UpstreamUnavailable(f"token {key}: refresh lock busy")
        value, expires_in = fetch()
        store.set(key, value, max(60.0, float(expires_in) - REFRESH_MARGIN_SECONDS))
        log.info("token %s refreshed (valid %d s)", key, int(expires_in))
        return value


# ---- in process --------------------------------------------------------------------------------
class MemoryTokenStore:
    """One process only: a dict with expiry and a lock per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._guard:
            entry = self._data.get(key)
            if entry is None or entry[1] <= self._clock():
                return None
            return entry[0]

    def set(self, key: str, value: str, ttl_seconds: float) -> None:
        with self._guard:
            self._data[key] = (value, self._clock() + ttl_seconds)

    def delete(self, key: str) -> None:
        with self._guard:
            self._data.pop(key, None)

    @contextmanager
    def lock(self, key: str, *, ttl: float = LOCK_TTL_SECONDS, wait: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        acquired = lock.acquire(timeout=wait)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()


# ---- Redis -------------------------------------------------------------------------------------
class RedisTokenStore:
    """Shared through Redis: ``<prefix><key>`` with an expiry; the lock is ``<prefix>lock:<key>``."""

    def __init__(self, client: Any, prefix: str = "petition:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "petition:") -> RedisTokenStore:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5), prefix)

    def get(self, key: str) -> str | None:
        value = self.client.get(self.prefix + key)
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def set(self, key: str, value: str, ttl_seconds: float) -> None:
        self.client.set(self.prefix + key, value, ex=max(1, int(ttl_seconds)))

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    @contextmanager
    def lock(self, key: str, *, ttl: float = LOCK_TTL_SECONDS, wait: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
        from redis.exceptions import LockError

        lock = self.client.lock(f"{self.prefix}lock:{key}", timeout=ttl, blocking_timeout=wait)
        acquired = bool(lock.acquire())
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    lock.release()
                except LockError:  # it ran out meanwhile; someone else may hold it now
                    log.warning("token lock %s expired before release", key)


# ---- database ----------------------------------------------------------------------------------
class DbTokenStore:
    """Shared through the ``shared_tokens`` table; the lock is a lease on the key's row."""

    def __init__(self, session_factory: sessionmaker | Callable[[], sessionmaker],
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._factory_or_provider = session_factory
        self._clock = clock
        self._owner = uuid.uuid4().hex

    def _factory(self) -> sessionmaker:
        source = self._factory_or_provider
        return source if isinstance(source, sessionmaker) else source()

    def get(self, key: str) -> str | None:
        with transaction(self._factory()) as session:
            row = session.execute(
                select(SharedToken.value, SharedToken.expires_at).where(SharedToken.key == key)
            ).one_or_none()
        if row is None or row.value is None or row.expires_at is None or row.expires_at <= self._clock():
            return None
        return str(row.value)

    def _ensure_row(self, session: Any, key: str, at: datetime) -> SharedToken:
        row = session.execute(select(SharedToken).where(SharedToken.key == key).with_for_update()).scalar_one_or_none()
        if row is None:
            row = SharedToken(key=key, updated_at=at)
            session.add(row)
            session.flush()
        return row

    def set(self, key: str, value: str, ttl_seconds: float) -> None:
        at = self._clock()
        with transaction(self._factory(), write=True) as session:
            row = self._ensure_row(session, key, at)
            row.value = value
            row.expires_at = at + timedelta(seconds=ttl_seconds)
            row.updated_at = at

    def delete(self, key: str) -> None:
        at = self._clock()
        with transaction(self._factory(), write=True) as session:
            session.execute(update(SharedToken).where(SharedToken.key == key)
                            .values(value=None, expires_at=None, updated_at=at))

    def _try_lock(self, key: str, ttl: float) -> bool:
        at = self._clock()
        factory = self._factory()
        try:
            with transaction(factory, write=True) as session:
                self._ensure_row(session, key, at)
        except Exception:  # two processes created the row at once: it exists now
            log.debug("shared token row %s created concurrently", key, exc_info=True)
        with transaction(factory, write=True) as session:
            taken = session.execute(
                update(SharedToken)
                .where(SharedToken.key == key,
                       or_(SharedToken.lock_until.is_(None), SharedToken.lock_until <= at,
                           SharedToken.lock_owner == self._owner))
                .values(lock_owner=self._owner, lock_until=at + timedelta(seconds=ttl))
                .execution_options(synchronize_session=False)
            ).rowcount
        return taken == 1

    def _unlock(self, key: str) -> None:
        with transaction(self._factory(), write=True) as session:
            session.execute(
                update(SharedToken).where(SharedToken.key == key, SharedToken.lock_owner == self._owner)
                .values(lock_owner=None, lock_until=None)
                .execution_options(synchronize_session=False)
            )

    @contextmanager
    def lock(self, key: str, *, ttl: float = LOCK_TTL_SECONDS, wait: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
        deadline = time.monotonic() + wait
        acquired = self._try_lock(key, ttl)
        while not acquired and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)  # another process is fetching: poll until it is done or gone
            acquired = self._try_lock(key, ttl)
        try:
            yield acquired
        finally:
            if acquired:
                self._unlock(key)


def make_token_store(settings: Settings, session_factory: sessionmaker | Callable[[], sessionmaker]) -> TokenStore:
    """Redis when ``settings.redis_url`` is set, else the database (``session_factory`` may be a
    zero-argument provider, called on first use)."""
    if settings.redis_url:
        return RedisTokenStore.from_url(settings.redis_url)
    return DbTokenStore(session_factory)
