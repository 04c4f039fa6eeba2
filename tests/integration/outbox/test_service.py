"""Contacts, held messages and staff queries of the outbox service (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.outbox.models import Contact, OutboxMessage
from bot.outbox.service import (
    do_retry_failed,
    outbox_stats,
    record_inbound,
    take_held_for_reply,
)
from tests.integration.outbox.helpers import NOW, queue, row


def _set_state(session_factory: sessionmaker, message_id: int, state: str) -> None:
    with transaction(session_factory, write=True) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        message.state = state


def test_record_inbound_upserts_the_contact(session_factory: sessionmaker) -> None:
    first = record_inbound(session_factory, "wechat", "o1", NOW)
    assert first.first_time and first.previous_inbound_at is None and first.released == 0
    second = record_inbound(session_factory, "wechat", "o1", NOW + timedelta(hours=2))
    assert not second.first_time and second.previous_inbound_at == NOW
    late = record_inbound(session_factory, "wechat", "o1", NOW + timedelta(hours=1))  # out of order
    assert late.previous_inbound_at == NOW + timedelta(hours=2)
    record_inbound(session_factory, "telegram", "o1", NOW)
    with transaction(session_factory) as session:
        contacts = {(c.channel, c.sender_id): (c.first_seen_at, c.last_inbound_at)
                    for c in session.execute(select(Contact)).scalars()}
    assert contacts == {("wechat", "o1"): (NOW, NOW + timedelta(hours=2)), ("telegram", "o1"): (NOW, NOW)}
    with pytest.raises(InvalidInput):
        record_inbound(session_factory, "wechat", "", NOW)


def test_only_the_senders_held_messages_are_released(session_factory: sessionmaker) -> None:
    mine = queue(session_factory, channel="wechat", recipient="o1", text="a")
    other_person = queue(session_factory, channel="wechat", recipient="o2", text="b")
    other_channel = queue(session_factory, channel="telegram", recipient="o1", text="c")
    failed = queue(session_factory, channel="wechat", recipient="o1", text="d")
    for message_id in (mine, other_person, other_channel):
        _set_state(session_factory, message_id, "held")
    _set_state(session_factory, failed, "failed")
    later = NOW + timedelta(days=5)
    assert record_inbound(session_factory, "wechat", "o1", later).released == 1
    released = row(session_factory, mine)
    assert (released.state, released.next_attempt_at) == ("pending", later)
    assert [row(session_factory, i).state for i in (other_person, other_channel, failed)] == ["held", "held", "failed"]
    kept = record_inbound(session_factory, "wechat", "o2", later, release_held=False)
    assert kept.released == 0 and row(session_factory, other_person).state == "held"


def test_take_held_for_reply_marks_them_sent_in_order(session_factory: sessionmaker) -> None:
    a = queue(session_factory, channel="rest", recipient="u", text="一")
    b = queue(session_factory, channel="rest", recipient="u", text="二")
    c = queue(session_factory, channel="rest", recipient="u", text="三")
    _set_state(session_factory, a, "held")
    _set_state(session_factory, c, "sending")  # a dispatcher has it: not taken
    taken = take_held_for_reply(session_factory, "rest", "u", NOW)
    assert [m.text for m in taken] == ["一", "二"]
    assert [(row(session_factory, i).state, row(session_factory, i).sent_at) for i in (a, b)] == [
        ("sent", NOW), ("sent", NOW)]
    assert row(session_factory, c).state == "sending"
    assert take_held_for_reply(session_factory, "rest", "u", NOW) == []


def test_stats_and_retry_rules(session_factory: sessionmaker) -> None:
    due = queue(session_factory, text="due", at=NOW - timedelta(minutes=10))
    queue(session_factory, text="later", recipient="other", at=NOW + timedelta(minutes=10))
    stats = outbox_stats(session_factory, now=NOW)
    assert stats.by_state["pending"] == 2 and stats.due == 1
    assert stats.oldest_due_seconds == pytest.approx(600)
    assert stats.to_dict()["by_state"]["sent"] == 0
    with pytest.raises(Conflict):
        do_retry_failed(session_factory, due, actor="staff:x", now=NOW)
    with pytest.raises(NotFound):
        do_retry_failed(session_factory, 999_999, actor="staff:x", now=NOW)
