"""The event broker fills the NLU inbox: events in, masked and grouped rows out (both databases)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.settings import Settings
from bot.training.broker import InboxEventBroker
from bot.training.capture import sender_hash
from bot.training.models import InboxItem

KEY = "test-hash-key"


def user(sender: str, text: str, intent: str = "greet", confidence: float = 0.95, **extra: Any) -> dict[str, Any]:
    event = {
        "event": "user", "sender_id": sender, "text": text, "timestamp": 1_790_000_000.0,
        "input_channel": extra.pop("channel", "rest"), "message_id": extra.pop("message_id", f"{sender}:{text}"),
        "parse_data": {"intent": {"name": intent, "confidence": confidence},
                       "intent_ranking": extra.pop("ranking", [{"name": intent, "confidence": confidence}])},
    }
    event.update(extra)
    return event


@pytest.fixture
def broker(db_engine: Any, db_url: str) -> Iterator[InboxEventBroker]:
    instance = InboxEventBroker(db_url, threshold=0.5, hash_key=KEY)
    yield instance
    instance.shutdown()


def rows(session_factory: sessionmaker) -> list[InboxItem]:
    with transaction(session_factory) as s:
        return list(s.execute(select(InboxItem).order_by(InboxItem.id)).scalars())


def publish(broker: InboxEventBroker, *events: dict[str, Any]) -> None:
    for event in events:
        broker.publish(event)
    assert broker.flush(20), "the inbox worker did not finish"


def test_low_confidence_fallback_and_corrections_are_captured_masked(
    broker: InboxEventBroker, session_factory: sessionmaker
) -> None:
    publish(
        broker,
        user("alice", "你好"),  # confident: not captured
        user("alice", "我叫张三，电话13812345678，那个事咋样了", intent="check_status", confidence=0.31,
             channel="telegram"),
        user("bob", "啥时候给个说法", intent="nlu_fallback", confidence=0.35,
             ranking=[{"name": "nlu_fallback", "confidence": 0.35}, {"name": "faq", "confidence": 0.28}]),
        user("carol", "我要查一下我的那个事", intent="faq", confidence=0.92),
        {"event": "bot", "sender_id": "carol", "text": "信访是……"},
        user("carol", "不是这个意思", intent="deny", confidence=0.4),
        user("dave", "/affirm", intent="affirm", confidence=1.0),
    )
    found = rows(session_factory)
    assert [(r.reason, r.predicted_intent, r.channel) for r in found] == [
        ("low_confidence", "check_status", "telegram"), ("fallback", "faq", "rest"), ("corrected", "faq", "rest")]
    first = found[0]
    assert "张三" not in first.text_masked and "13812345678" not in first.text_masked
    assert first.text_masked == "我叫某某，电话138****5678，那个事咋样了"
    assert first.confidence == pytest.approx(0.31) and first.status == "new"
    assert first.sender_hash == sender_hash(KEY, "telegram", "alice") and "alice" not in first.sender_hash
    assert found[1].confidence == pytest.approx(0.28)
    assert found[2].text_masked == "我要查一下我的那个事"


def test_a_captured_message_that_is_corrected_keeps_one_row(
    broker: InboxEventBroker, session_factory: sessionmaker
) -> None:
    publish(broker, user("a", "那个证明怎么开", intent="faq", confidence=0.2, message_id="m1"),
            user("a", "你理解错了", intent="deny", confidence=0.9, message_id="m2"))
    publish(broker, user("a", "那个证明怎么开", intent="faq", confidence=0.2, message_id="m1"))  # redelivered
    found = rows(session_factory)
    assert [(r.message_id, r.reason) for r in found] == [("m1", "corrected")]


def test_similar_messages_share_a_group(broker: InboxEventBroker, session_factory: sessionmaker) -> None:
    publish(
        broker,
        user("a", "我的信访件到哪一步了", intent="faq", confidence=0.2),
        user("b", "我的信访件到哪步了？", intent="faq", confidence=0.2),
        user("c", "讲个笑话听听", intent="faq", confidence=0.2),
        user("d", "我的信访件到哪一步了！！", intent="faq", confidence=0.3),
    )
    found = rows(session_factory)
    keys = [r.group_key for r in found]
    assert keys[0] == keys[1] == keys[3] != keys[2]


def test_a_name_recognised_later_is_masked_in_what_was_captured(
    broker: InboxEventBroker, session_factory: sessionmaker
) -> None:
    publish(
        broker,
        user("a", "王建国", intent="inform", confidence=0.3),
        {"event": "slot", "sender_id": "a", "name": "petitioner_name", "value": "王建国"},
        user("a", "王建国家里的地被占了怎么办", intent="ask_legal_channel", confidence=0.3),
    )
    assert [r.text_masked for r in rows(session_factory)] == ["某某", "某某家里的地被占了怎么办"]


def test_from_endpoint_config_reads_settings_and_shares_one_worker(
    db_engine: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INBOX_CONFIDENCE_THRESHOLD", "0.7")
    config = EndpointConfig(type="bot.training.broker.InboxEventBroker")
    first = asyncio.run(InboxEventBroker.from_endpoint_config(config))
    second = asyncio.run(InboxEventBroker.from_endpoint_config(config))  # what PUT /model does
    override = asyncio.run(InboxEventBroker.from_endpoint_config(
        EndpointConfig(type="bot.training.broker.InboxEventBroker", confidence_threshold=0.2)))
    try:
        assert first.threshold == 0.7 and override.threshold == 0.2
        assert first._worker is second._worker is not override._worker
        assert first.is_ready()
        first.publish(user("x", "办证要带什么", intent="faq", confidence=0.6))
        asyncio.run(first.close())  # close() flushes
        assert [r.text_masked for r in rows(sessionmakerish(db_engine))] == ["办证要带什么"]
        assert Settings.from_env().inbox_confidence_threshold == 0.7
    finally:
        first.shutdown()
        override.shutdown()


def sessionmakerish(engine: Any) -> sessionmaker:
    from bot.cases.db import make_session_factory

    return make_session_factory(engine)


def test_database_errors_do_not_stop_the_worker(tmp_path: Any) -> None:
    broken = InboxEventBroker(f"sqlite:///{tmp_path / 'no-tables.db'}", threshold=0.5, hash_key=KEY)
    try:
        broken.publish(user("a", "x", confidence=0.1))
        broken.publish(user("a", "y", confidence=0.1))
        assert broken.flush(20)  # both handled (and dropped with a warning), the worker is alive
    finally:
        broken.shutdown()


def test_only_events_the_capture_reads_reach_the_worker(
    broker: InboxEventBroker, session_factory: sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    submit = broker._worker.submit
    monkeypatch.setattr(broker._worker, "submit", lambda event: (queued.append(event["event"]), submit(event)))
    publish(
        broker,
        {"event": "action", "sender_id": "erin", "name": "action_listen"},
        {"event": "bot", "sender_id": "erin", "text": "请问您的姓名？"},
        {"event": "slot", "sender_id": "erin", "name": "phone", "value": "13812345678"},
        {"event": "active_loop", "sender_id": "erin", "name": "petition_form"},
        {"event": "slot", "sender_id": "erin", "name": "petitioner_name", "value": "李四"},
        {"event": "session_started", "sender_id": "erin"},
        user("erin", "李四的事咋办", intent="faq", confidence=0.2),
    )
    assert queued == ["slot", "session_started", "user"]
    [row] = rows(session_factory)
    assert row.text_masked == "某某的事咋办"  # the name slot still reached the worker
