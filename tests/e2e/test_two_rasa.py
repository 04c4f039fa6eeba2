"""Scale-out: two Rasa servers share PostgreSQL (trackers, cases) and Redis (conversation locks).

The production topology (docker/compose.yml) without Docker: one action server, one
back-office, two Rasa servers on different ports with the same model, the tracker store type
of ``endpoints.yml`` pointed at a fresh PostgreSQL database, ``lock_store`` on Redis (our atomic ticket-lock store) with a key
prefix of its own, and a round-robin proxy (tests/proxy.py) in front. Several citizens file
petitions at the same time; each message goes to the next server, so every conversation moves
back and forth between the two. Then two messages of one conversation arrive at both servers
at the same moment, which only the shared lock keeps in one piece.
"""
from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bench import stack as stk
from bench.load import conversation
from tests.db_fixtures import throwaway_postgres_database
from tests.proxy import RoundRobinProxy

pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.postgres, pytest.mark.slow]

CASE_NO = re.compile(r"XF\d{8}-\d{4}")
CITIZENS = 4
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards): its SQLAlchemy URL."""
    with throwaway_postgres_database("two_rasa") as url:
        yield url


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}", pytrace=False)
    prefix = f"tworasa{uuid.uuid4().hex[:10]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def two_rasa(request: pytest.FixtureRequest, trained_model: Path, pg_database: str,
             redis_prefix: str) -> Iterator[stk.Stack]:
    url = make_url(pg_database)
    tracker_store: dict[str, Any] = {
        "dialect": "postgresql", "url": url.host or "127.0.0.1", "port": url.port or 5432,
        "db": url.database, "username": url.username or "postgres",
    }
    if url.password:
        tracker_store["password"] = url.password
    lock_store = {"type": "bot.dialogue.lock_store.AtomicRedisLockStore", "url": REDIS_HOST,
                  "port": REDIS_PORT, "db": 1, "key_prefix": redis_prefix}
    workdir = Path(tempfile.mkdtemp(prefix="two-rasa-"))
    spec = stk.StackSpec(model=trained_model, workdir=workdir, rasa_servers=2, tracker_store=tracker_store,
                         lock_store=lock_store, database_url=pg_database)
    try:
        running = stk.start(spec)
    except stk.StackError as exc:
        pytest.fail(f"the two-Rasa stack did not start: {exc}", pytrace=False)
    failures = request.session.testsfailed
    try:
        yield running
    finally:
        running.stop()
        if request.session.testsfailed > failures:
            print(f"logs kept in {workdir}\n{running.logs(150)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# ---- helpers -----------------------------------------------------------------------------------


def post(base: str, sender: str, message: str) -> list[str]:
    resp = httpx.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=120)
    assert resp.status_code == 200, f"{base}: {resp.status_code} {resp.text[:300]}"
    data = resp.json()
    assert isinstance(data, list)
    return [str(m["text"]) for m in data if m.get("text")]


def tracker(stack: stk.Stack, server: int, sender: str) -> dict[str, Any]:
    resp = httpx.get(f"{stack.rasa_urls[server]}/conversations/{sender}/tracker",
                     params={"token": stack.rasa_token}, timeout=60)
    resp.raise_for_status()
    result: dict[str, Any] = resp.json()
    return result


def turns(events: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(user text, bot texts until the next user message) for each user message, in order."""
    out: list[tuple[str, list[str]]] = []
    for event in events:
        if event.get("event") == "user":
            out.append((str(event.get("text")), []))
        elif event.get("event") == "bot" and out and event.get("text"):
            out[-1][1].append(str(event["text"]))
    return out


def identity(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event.get("event"), event.get("timestamp"), event.get("name"), event.get("text"), str(event.get("value")))


def petition(proxy_url: str, sender: str, number: int) -> list[tuple[str, list[str]]]:
    return [(message, post(proxy_url, sender, message)) for message in conversation(number)]


# ---- the test ----------------------------------------------------------------------------------


def test_conversations_move_between_two_servers_without_losing_events(two_rasa: stk.Stack) -> None:
    stack = two_rasa
    senders = [f"scale-{i}-{uuid.uuid4().hex[:8]}" for i in range(CITIZENS)]
    with RoundRobinProxy(stack.rasa_urls) as proxy, ThreadPoolExecutor(CITIZENS) as pool:
        numbers = {sender: 100 + i for i, sender in enumerate(senders)}  # own ID and phone each
        replies = dict(zip(senders, pool.map(lambda s: petition(proxy.url, s, numbers[s]), senders), strict=True))
        # every conversation was served by both servers
        for sender in senders:
            assert proxy.backends_of(sender) == {0, 1}, proxy.log

    case_numbers = []
    for sender in senders:
        closing = "\n".join(replies[sender][-1][1])
        found = CASE_NO.findall(closing)
        assert len(found) == 1, f"{sender}: no case number; the conversation: {replies[sender]}"
        case_numbers.append(found[0])
        one, two = tracker(stack, 0, sender), tracker(stack, 1, sender)
        assert one["events"] == two["events"], "the two servers see different trackers"
        events = one["events"]
        # no event stored twice, user messages complete and in order
        assert len({identity(e) for e in events}) == len(events)
        assert [t for t, _ in turns(events)] == list(conversation(numbers[sender]))
        # what the citizen was told is exactly what the tracker holds for each turn
        assert turns(events) == replies[sender]
    assert len(set(case_numbers)) == CITIZENS

    # every petition stored once
    resp = httpx.get(f"{stack.backoffice_url}/api/cases", params={"limit": 200},
                     headers={"Authorization": f"Bearer {stack.backoffice_token}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    listed = resp.json()
    items = listed["items"] if isinstance(listed, dict) else listed
    stored = [item["case_no"] for item in items]
    assert sorted(stored) == sorted(case_numbers)


def test_simultaneous_messages_of_one_conversation_on_both_servers(two_rasa: stk.Stack) -> None:
    """Both servers receive a message of the same conversation at once: the Redis lock makes
    one wait for the other, so both turns are stored whole, one after the other. (Without the
    shared lock both load the same tracker and the second save drops the other turn's events.)"""
    stack = two_rasa
    senders = [f"race-{i}-{uuid.uuid4().hex[:8]}" for i in range(6)]
    first, second = "我要投诉，公司拖欠我工资", "你是机器人吗？"
    barriers = {sender: threading.Barrier(2) for sender in senders}

    def at_once(server: int, sender: str, message: str) -> list[str]:
        barriers[sender].wait(timeout=60)
        return post(stack.rasa_urls[server], sender, message)

    for sender in senders:
        assert post(stack.rasa_urls[0], sender, "你好")
    with ThreadPoolExecutor(2 * len(senders)) as pool:
        futures = []
        for sender in senders:
            futures.append(pool.submit(at_once, 0, sender, first))
            futures.append(pool.submit(at_once, 1, sender, second))
        answers = [f.result() for f in futures]
    assert all(answers), answers
    for sender in senders:
        events = tracker(stack, 1, sender)["events"]
        assert len({identity(e) for e in events}) == len(events)
        user_texts = [t for t, _ in turns(events)]
        assert user_texts[0] == "你好"
        assert sorted(user_texts[1:]) == sorted([first, second]), (sender, user_texts)
        # each turn ran to its end (the bot listened again) before the next message was read
        listens_before_user = []
        last_action = None
        for event in events:
            if event.get("event") == "user":
                listens_before_user.append(last_action)
            elif event.get("event") == "action":
                last_action = event.get("name")
        assert listens_before_user[1:] == ["action_listen", "action_listen"], (sender, listens_before_user)


def test_a_conversation_held_in_redis_waits_on_both_servers(two_rasa: stk.Stack, redis_prefix: str) -> None:
    """While the conversation's lock is held in the shared Redis lock store (here by the test),
    neither server processes a message of it; once released, the waiting message is answered."""
    from bot.dialogue.lock_store import AtomicRedisLockStore

    stack = two_rasa
    store = AtomicRedisLockStore(host=REDIS_HOST, port=REDIS_PORT, db=1, key_prefix=redis_prefix)
    sender = f"held-{uuid.uuid4().hex[:8]}"
    assert post(stack.rasa_urls[0], sender, "你好")

    async def scenario() -> tuple[bool, list[list[str]]]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:
            async with store.lock(sender, lock_lifetime=60, wait_time_in_seconds=0.05):
                waiting = [loop.run_in_executor(pool, post, url, sender, "谢谢") for url in stack.rasa_urls]
                done, _ = await asyncio.wait(waiting, timeout=4)
                answered_while_held = bool(done)
            return answered_while_held, list(await asyncio.gather(*waiting))

    answered_while_held, replies = asyncio.run(scenario())
    assert not answered_while_held, "a server processed a message while the conversation was locked"
    assert all(replies), replies
    events = tracker(stack, 0, sender)["events"]
    assert [t for t, _ in turns(events)] == ["你好", "谢谢", "谢谢"]
