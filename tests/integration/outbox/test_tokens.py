"""The shared token stores: one fetch however many processes ask at once (database and Redis)."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory
from bot.outbox.tokens import DbTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore, get_or_refresh

REDIS_URL = "redis://127.0.0.1:6379/0"
KEY = "wechat:access_token:wx-test"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-tokens-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def _race(stores: list[TokenStore]) -> tuple[list[str], int]:
    """Every store asks for the token at the same moment; (tokens seen, fetches made)."""
    fetches: list[int] = []
    lock = threading.Lock()

    def fetch() -> tuple[str, float]:
        with lock:
            fetches.append(1)
            number = len(fetches)
        time.sleep(0.3)  # a slow token endpoint: the others must wait, not fetch too
        return f"TOKEN-{number}", 7200

    barrier = threading.Barrier(len(stores))
    seen: list[str] = []
    errors: list[BaseException] = []

    def ask(store: TokenStore) -> None:
        try:
            barrier.wait(timeout=10)
            token = get_or_refresh(store, KEY, fetch)
            with lock:
                seen.append(token)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return seen, len(fetches)


def _check_store(make: Callable[[], TokenStore]) -> None:
    stores = [make() for _ in range(4)]
    seen, fetches = _race(stores)
    assert fetches == 1 and seen == ["TOKEN-1"] * 4
    # the API refused TOKEN-1: one new fetch; a store that still passes the old one as stale gets the new
    assert get_or_refresh(stores[0], KEY, lambda: ("TOKEN-2", 7200), stale="TOKEN-1") == "TOKEN-2"
    assert get_or_refresh(stores[1], KEY, lambda: ("TOKEN-3", 7200), stale="TOKEN-1") == "TOKEN-2"
    stores[2].delete(KEY)
    assert stores[3].get(KEY) is None


def test_database_store_fetches_once(db_url: str, session_factory: sessionmaker) -> None:
    engines = [make_engine(db_url) for _ in range(3)]  # separate pools, as separate processes have
    try:
        factories = iter([session_factory] + [make_session_factory(e) for e in engines])
        _check_store(lambda: DbTokenStore(next(factories)))
    finally:
        for engine in engines:
            engine.dispose()


def test_redis_store_fetches_once(redis_prefix: str) -> None:
    clients: list[redis.Redis] = []

    def make() -> TokenStore:
        clients.append(redis.Redis.from_url(REDIS_URL))
        return RedisTokenStore(clients[-1], prefix=redis_prefix)

    try:
        _check_store(make)
    finally:
        for client in clients:
            client.close()


def test_memory_store_fetches_once() -> None:
    shared = MemoryTokenStore()
    _check_store(lambda: shared)


def test_expired_tokens_are_not_returned(session_factory: sessionmaker, redis_prefix: str) -> None:
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)]
    db = DbTokenStore(session_factory, clock=lambda: now[0])
    ticks = [100.0]
    memory = MemoryTokenStore(clock=lambda: ticks[0])
    for store in (db, memory):
        store.set(KEY, "SHORT", 60)
        assert store.get(KEY) == "SHORT"
    now[0] += timedelta(seconds=61)
    ticks[0] += 61
    assert db.get(KEY) is None and memory.get(KEY) is None
    client = redis.Redis.from_url(REDIS_URL)
    try:
        RedisTokenStore(client, prefix=redis_prefix).set(KEY, "SHORT", 60)
        assert 0 < client.ttl(f"{redis_prefix}{KEY}") <= 60  # Redis expires it itself
    finally:
        client.close()


def test_a_crashed_lock_holder_does_not_block_forever(session_factory: sessionmaker) -> None:
    crashed, other = DbTokenStore(session_factory), DbTokenStore(session_factory)
    with crashed.lock(KEY, ttl=0.5) as acquired:
        assert acquired
        started = time.monotonic()
        with other.lock(KEY, ttl=5, wait=3) as second:
            assert second and time.monotonic() - started >= 0.4
