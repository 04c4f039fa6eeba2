"""The dispatcher against a real database (SQLite and PostgreSQL) and the Telegram stand-in Bot API."""
from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory, migrate
from bot.channels.senders import HoldingSender
from bot.channels.telegram_mapping import split_text
from bot.outbox.dispatcher import Dispatcher, RetryPolicy, claim_due, decide, finish
from bot.outbox.service import do_retry_failed, failed_messages, outbox_stats
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.integration.outbox.helpers import (
    NOW,
    case_events,
    make_case,
    queue,
    row,
    rows,
    telegram_sender,
)

TOKEN = "555:OUTBOX-test"
POLICY = RetryPolicy(base_seconds=10, max_seconds=600, max_attempts=3, jitter=0.0, lease_seconds=60)


@pytest.fixture(scope="module")
def standin() -> Iterator[TelegramStandIn]:
    server = TelegramStandIn(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def tg(standin: TelegramStandIn) -> TelegramStandIn:
    standin.clear()
    return standin


def dispatcher(session_factory: sessionmaker, standin: TelegramStandIn, *, read_timeout: float = 2.0,
               policy: RetryPolicy = POLICY, batch_size: int = 20) -> Dispatcher:
    senders = {"telegram": telegram_sender(standin.base_url, TOKEN, read_timeout=read_timeout),
               "rest": HoldingSender("no callback")}
    return Dispatcher(session_factory, senders, policy, batch_size=batch_size, rng=random.Random(0))


async def test_each_message_is_delivered_once_in_order(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    first = queue(session_factory, recipient="77", text="第一条")
    second = queue(session_factory, recipient="77", text="第二条",
                   buttons=[{"title": "满意", "payload": "/affirm"}])
    other = queue(session_factory, recipient="88", text="给另一位")
    d = dispatcher(session_factory, tg)
    report = await d.run_once(NOW)
    assert (report.sent, report.retried, report.failed) == (3, 0, 0)
    assert [m["text"] for m in tg.sent(77)] == ["第一条", "第二条"]
    assert tg.sent(77)[1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/affirm"
    assert [m["text"] for m in tg.sent(88)] == ["给另一位"]
    for message_id in (first, second, other):
        stored = row(session_factory, message_id)
        assert (stored.state, stored.attempts, stored.sent_at) == ("sent", 1, NOW)
    again = await d.run_once(NOW + timedelta(hours=1))
    assert again.total == 0 and len(tg.sent()) == 3
    await d.aclose()


async def test_future_messages_wait(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    queue(session_factory, text="稍后", at=NOW + timedelta(minutes=5))
    d = dispatcher(session_factory, tg)
    assert (await d.run_once(NOW)).total == 0
    assert (await d.run_once(NOW + timedelta(minutes=5))).sent == 1
    await d.aclose()


async def test_retry_after_a_server_error_then_delivered_once(session_factory: sessionmaker,
                                                              tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, text="状态更新")
    later = queue(session_factory, text="之后的消息")
    tg.fail_next(1, status=500)
    d = dispatcher(session_factory, tg)
    report = await d.run_once(NOW)
    assert (report.sent, report.retried) == (0, 1)  # the later message waits behind the failed one
    stored = row(session_factory, message_id)
    assert (stored.state, stored.attempts) == ("pending", 1)
    assert stored.next_attempt_at == NOW + timedelta(seconds=10)
    assert stored.last_error and "telegram" in stored.last_error
    assert row(session_factory, later).state == "pending" and tg.sent() == []

    assert (await d.run_once(NOW + timedelta(seconds=5))).total == 0  # not due yet
    report = await d.run_once(NOW + timedelta(seconds=10))
    assert report.sent == 2
    assert [m["text"] for m in tg.sent()] == ["状态更新", "之后的消息"]
    assert len(tg.failed_calls) == 1
    stored = row(session_factory, message_id)
    assert (stored.state, stored.attempts) == ("sent", 2)
    await d.aclose()


async def test_retry_after_a_timeout(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, text="超时之后再发")
    tg.fail_next(1, status=504, delay=1.0)  # longer than the client's read timeout
    d = dispatcher(session_factory, tg, read_timeout=0.3)
    assert (await d.run_once(NOW)).retried == 1
    assert "TimedOut" in (row(session_factory, message_id).last_error or "")
    assert (await d.run_once(NOW + timedelta(minutes=1))).sent == 1
    assert [m["text"] for m in tg.sent()] == ["超时之后再发"]
    await d.aclose()


async def test_failed_after_max_attempts_is_visible_to_staff(session_factory: sessionmaker,
                                                             tg: TelegramStandIn) -> None:
    case_id = make_case(session_factory)
    message_id = queue(session_factory, text="您的信访事项已受理。", case_id=case_id)
    tg.fail_next(3, status=502)
    d = dispatcher(session_factory, tg)
    at = NOW
    for expected in ("pending", "pending", "failed"):
        await d.run_once(at)
        assert row(session_factory, message_id).state == expected
        at += timedelta(hours=1)
    stored = row(session_factory, message_id)
    assert stored.attempts == 3 and stored.sent_at is None
    assert [m.id for m in failed_messages(session_factory)] == [message_id]
    assert failed_messages(session_factory, channel="wechat") == []
    assert [m.id for m in failed_messages(session_factory, case_id=case_id)] == [message_id]
    stats = outbox_stats(session_factory, now=at)
    assert stats.by_state["failed"] == 1 and stats.due == 0
    [event] = case_events(session_factory, case_id)
    assert event[0] == "message_failed" and event[1] == "outbox" and f"#{message_id}" in event[2]

    # staff ask for another try: delivered, audited
    do_retry_failed(session_factory, message_id, actor="staff:li", now=at)
    assert outbox_stats(session_factory, now=at).due == 1
    assert (await d.run_once(at)).sent == 1
    assert [e[0] for e in case_events(session_factory, case_id)] == ["message_failed", "message_retry"]
    assert [m["text"] for m in tg.sent()] == ["您的信访事项已受理。"]
    await d.aclose()


async def test_blocked_bot_fails_at_once(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, text="被拉黑")
    tg.fail_next(1, status=403)
    d = dispatcher(session_factory, tg)
    assert (await d.run_once(NOW)).failed == 1
    stored = row(session_factory, message_id)
    assert (stored.state, stored.attempts) == ("failed", 1)
    assert "Forbidden" in (stored.last_error or "")
    await d.aclose()


async def test_long_text_resumes_after_the_pieces_already_sent(session_factory: sessionmaker,
                                                                tg: TelegramStandIn) -> None:
    text = "\n".join(["办理意见第一部分。" * 40] * 12 + ["办理意见第二部分。" * 40] * 12)
    assert len(text) > 4096
    message_id = queue(session_factory, text=text)
    d = dispatcher(session_factory, tg)
    tg.fail_next(1, status=500)  # the first piece fails: nothing went out
    await d.run_once(NOW)
    assert tg.sent() == []
    tg.fail_next(1, status=500, after=1)  # now the first piece goes out and the second fails
    await d.run_once(NOW + timedelta(minutes=1))
    assert len(tg.sent()) == 1 and row(session_factory, message_id).parts_sent == 1
    await d.run_once(NOW + timedelta(minutes=2))
    pieces = [m["text"] for m in tg.sent()]
    assert len(pieces) == len(split_text(text)) == 3 and "\n".join(pieces) == text
    assert row(session_factory, message_id).state == "sent"
    await d.aclose()


async def test_expired_lease_is_reclaimed_and_the_late_outcome_ignored(session_factory: sessionmaker,
                                                                       tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, text="租约")
    [crashed] = claim_due(session_factory, NOW, 10, POLICY)  # a dispatcher that died after claiming
    d = dispatcher(session_factory, tg)
    assert (await d.run_once(NOW + timedelta(seconds=30))).total == 0  # lease still running
    report = await d.run_once(NOW + timedelta(seconds=61))
    assert report.sent == 1 and row(session_factory, message_id).attempts == 2
    late = decide(POLICY, crashed, None, NOW + timedelta(seconds=90), random.Random(0))
    assert finish(session_factory, crashed, late) is False
    assert [m["text"] for m in tg.sent()] == ["租约"]
    await d.aclose()


async def test_lease_expired_on_the_last_attempt_fails(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, text="最后一次")
    policy = RetryPolicy(max_attempts=1, lease_seconds=60)
    claim_due(session_factory, NOW, 10, policy)
    assert claim_due(session_factory, NOW + timedelta(seconds=61), 10, policy) == []
    stored = row(session_factory, message_id)
    assert stored.state == "failed" and "lease" in (stored.last_error or "")


async def test_no_sender_holds_the_message(session_factory: sessionmaker, tg: TelegramStandIn) -> None:
    message_id = queue(session_factory, channel="letter", recipient="x", text="来信渠道")
    rest_id = queue(session_factory, channel="rest", recipient="web-1", text="网页")
    d = dispatcher(session_factory, tg)
    assert (await d.run_once(NOW)).held == 2
    for mid in (message_id, rest_id):
        stored = row(session_factory, mid)
        assert (stored.state, stored.attempts) == ("held", 0)
    assert "letter" in (row(session_factory, message_id).last_error or "")
    await d.aclose()


def test_two_dispatchers_never_send_a_message_twice(db_url: str, standin: TelegramStandIn) -> None:
    """Two dispatchers (own engines, own threads, own event loops) on the same queue."""
    standin.clear()
    engines = [make_engine(db_url) for _ in range(2)]
    migrate(engines[0])
    factories = [make_session_factory(e) for e in engines]
    total = 60
    for i in range(total):
        queue(factories[0], recipient=str(1000 + i % 40), text=f"消息{i}")
    barrier = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def work(factory: sessionmaker) -> None:
        async def go() -> None:
            d = dispatcher(factory, standin, batch_size=5)
            barrier.wait(timeout=10)
            reports.append(await d.run_once(NOW))
            await d.aclose()
        try:
            asyncio.run(go())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f,)) for f in factories]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        texts = Counter(m["text"] for m in standin.sent())
        assert len(texts) == total and set(texts.values()) == {1}
        assert sum(r.sent for r in reports) == total and sum(r.lost for r in reports) == 0
        assert {r.state for r in rows(factories[0])} == {"sent"}
    finally:
        for e in engines:
            e.dispose()


async def test_run_forever_survives_a_database_outage_and_stops_on_request(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2")
    d = Dispatcher(make_session_factory(engine), {}, POLICY)
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="bot.outbox.dispatcher"):
        task = asyncio.create_task(d.run_forever(stop, interval=0.05))
        deadline = asyncio.get_running_loop().time() + 20
        while sum("round skipped" in r.getMessage() for r in caplog.records) < 2:
            assert not task.done() and asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    engine.dispose()
