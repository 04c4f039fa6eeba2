"""The atomic Redis ticket-lock store against the real Redis: tickets issued from many threads at
once are all distinct, finishing and updating from several servers never brings a finished
ticket back, a waiter whose ticket expired stops instead of hanging, and the lock goes away
when the last ticket is served."""
from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.dialogue.lock_store import AtomicRedisLockStore

HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"locktest{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.StrictRedis(host=HOST, port=PORT, db=1)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def make_store(prefix: str) -> AtomicRedisLockStore:
    config = EndpointConfig(url=HOST, type="bot.dialogue.lock_store.AtomicRedisLockStore",
                            port=PORT, db=1, key_prefix=prefix)
    return AtomicRedisLockStore(endpoint_config=config)


def test_built_from_an_endpoint_config_like_rasa_does(prefix: str) -> None:
    store = make_store(prefix)
    assert store.key_prefix.startswith(prefix + ":")
    assert store.red.connection_pool.connection_kwargs["port"] == PORT
    assert store.red.ping()


def test_tickets_issued_concurrently_are_all_distinct(prefix: str) -> None:
    stores = [make_store(prefix) for _ in range(8)]  # eight "servers", one connection each
    tickets: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(len(stores))

    def take(store: AtomicRedisLockStore) -> None:
        start.wait()
        for _ in range(25):
            number = store.issue_ticket("c1", lock_lifetime=60)
            with guard:
                tickets.append(number)

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tickets) == 200
    assert len(set(tickets)) == 200
    lock = stores[0].get_lock("c1")
    assert lock is not None and len(lock.tickets) == 200


def test_finishing_while_others_update_never_resurrects_a_ticket(prefix: str) -> None:
    stores = [make_store(prefix) for _ in range(4)]
    numbers = [stores[0].issue_ticket("c2", lock_lifetime=60) for _ in range(40)]
    stop = threading.Event()

    def keep_updating(store: AtomicRedisLockStore) -> None:  # what waiting servers do every second
        while not stop.is_set():
            store.update_lock("c2")

    updaters = [threading.Thread(target=keep_updating, args=(s,)) for s in stores[1:]]
    for t in updaters:
        t.start()
    try:
        for number in numbers[:-1]:
            stores[0].finish_serving("c2", number)
    finally:
        stop.set()
        for t in updaters:
            t.join()
    lock = stores[0].get_lock("c2")
    assert lock is not None
    assert [t.number for t in lock.tickets] == [numbers[-1]]
    stores[0].cleanup("c2", numbers[-1])
    assert stores[0].get_lock("c2") is None  # last ticket served: the lock is gone


def test_a_saved_lock_expires_in_redis_after_its_last_ticket(prefix: str) -> None:
    store = make_store(prefix)
    store.issue_ticket("c3", lock_lifetime=5)
    ttl = store.red.ttl(store.key_prefix + "c3")
    assert 5 < ttl <= 5 + 30 + 1


def test_messages_of_one_conversation_are_served_in_order(prefix: str) -> None:
    store = make_store(prefix)
    order: list[str] = []

    def tickets() -> int:
        lock = store.get_lock("c4")
        return len(lock.tickets) if lock is not None else 0

    async def until(queued: int) -> None:
        while tickets() < queued:
            await asyncio.sleep(0.005)

    async def handle(name: str, arrive_after: int, hold_until: int = 0) -> None:
        await until(arrive_after)  # arrive once the others hold or wait (no timing guesses)
        async with store.lock("c4", lock_lifetime=30, wait_time_in_seconds=0.02):
            order.append(f"{name}:start")
            await until(hold_until)
            await asyncio.sleep(0.05)
            order.append(f"{name}:end")

    async def scenario() -> None:
        await asyncio.wait_for(asyncio.gather(handle("c", 2), handle("b", 1), handle("a", 0, hold_until=3)), 20)

    asyncio.run(scenario())
    assert order == ["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]
    assert store.get_lock("c4") is None


def test_a_waiter_whose_ticket_expired_gives_up_instead_of_hanging(prefix: str) -> None:
    store = make_store(prefix)
    store.issue_ticket("c5", lock_lifetime=60)  # someone holds the conversation for a long time

    async def wait_briefly() -> None:
        async with store.lock("c5", lock_lifetime=0.3, wait_time_in_seconds=0.05):
            raise AssertionError("must not get the lock while it is held")

    started = time.monotonic()
    with pytest.raises(LockError):
        asyncio.run(asyncio.wait_for(wait_briefly(), timeout=10))
    assert time.monotonic() - started < 5


def test_rasas_own_store_reads_what_ours_wrote(prefix: str) -> None:
    ours = make_store(prefix)
    number = ours.issue_ticket("c6", lock_lifetime=60)
    theirs = RedisLockStore(host=HOST, port=PORT, db=1, key_prefix=prefix)
    lock = theirs.get_lock("c6")
    assert lock is not None and lock.now_serving == number


def test_one_uncontended_message_costs_three_redis_round_trips(prefix: str) -> None:
    store = make_store(prefix)
    calls: list[str] = []

    async def one_message() -> None:
        client, _ = store._async_client()
        async with store.lock("warm", lock_lifetime=30):  # scripts loaded once per client
            pass
        original = client.execute_command

        async def counting(*args: object, **kwargs: object) -> object:
            calls.append(str(args[0]))
            return await original(*args, **kwargs)

        client.execute_command = counting
        async with store.lock("c7", lock_lifetime=30, wait_time_in_seconds=0.02):
            pass

    asyncio.run(one_message())
    assert calls == ["EVALSHA", "GET", "EVALSHA"]  # issue, check, finish
    assert store.get_lock("c7") is None


def test_the_event_loop_runs_while_a_lock_round_trip_is_under_way(prefix: str) -> None:
    store = make_store(prefix)
    ticks: list[int] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        for _ in range(20):
            async with store.lock("c9", lock_lifetime=30, wait_time_in_seconds=0.02):
                pass
        stop.set()
        await task

    asyncio.run(scenario())
    assert len(ticks) > 20  # the other task ran during the lock's Redis calls


def test_numbers_restart_after_every_ticket_expired_as_in_rasa(prefix: str) -> None:
    store = make_store(prefix)
    assert store.issue_ticket("c8", lock_lifetime=0.05) == 0
    assert store.issue_ticket("c8", lock_lifetime=0.05) == 1
    time.sleep(0.1)
    assert store.issue_ticket("c8", lock_lifetime=60) == 0  # TicketLock: no live ticket -> 0
    lock = store.get_lock("c8")
    assert lock is not None and [t.number for t in lock.tickets] == [0]
    assert lock.conversation_id == "c8"
