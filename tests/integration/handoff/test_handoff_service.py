"""Human handoff on SQLite and PostgreSQL: request, take over, relay, release."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.handoff.models import HandoffState
from bot.handoff.service import (
    divert_citizen_message,
    do_release,
    do_request_human,
    do_staff_message,
    do_take_over,
    get_handoff,
    list_handoffs,
    waiting_for_staff,
)
from bot.outbox.models import OutboxMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _outbox(session_factory: sessionmaker) -> list[OutboxMessage]:
    with transaction(session_factory) as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_request_is_idempotent_while_open(session_factory: sessionmaker) -> None:
    first = do_request_human(session_factory, "telegram", "42", "我要找人工", now=NOW)
    again = do_request_human(session_factory, "telegram", "42", "人工！", now=NOW)
    other = do_request_human(session_factory, "telegram", "43", None, now=NOW)
    assert again.id == first.id and other.id != first.id
    assert first.state == HandoffState.WAITING.value
    assert [h.id for h in list_handoffs(session_factory)] == [first.id, other.id]


def test_waiting_chat_still_goes_to_the_bot_but_is_recorded(session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "rest", "u1", "转人工", now=NOW)
    diversion = divert_citizen_message(session_factory, "rest", "u1", "还在吗", now=NOW)
    assert not diversion.held and diversion.handoff_id == handoff.id
    assert not divert_citizen_message(session_factory, "rest", "nobody", "你好").held
    texts = [m.text for m in get_handoff(session_factory, handoff.id).messages]
    assert texts == ["转人工", "还在吗"]


def test_take_over_silences_the_bot_and_relays_both_ways(session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "wechat", "openid-1", "我想问问进展", now=NOW)
    do_take_over(session_factory, handoff.id, "staff:li", "李老师", now=NOW + timedelta(minutes=1))
    assert divert_citizen_message(session_factory, "wechat", "openid-1", "好的，谢谢").held
    do_staff_message(session_factory, handoff.id, "staff:li", "您的事项正在办理中。", now=NOW + timedelta(minutes=2))
    out = _outbox(session_factory)
    assert [(m.channel, m.recipient, m.kind) for m in out] == [("wechat", "openid-1", "handoff")] * 2
    assert "李老师" in out[0].text and out[1].text == "您的事项正在办理中。"
    roles = [m.role for m in get_handoff(session_factory, handoff.id).messages]
    assert roles == ["citizen", "system", "citizen", "staff"]


def test_only_one_member_of_staff_can_hold_a_chat(session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "rest", "u2", None, now=NOW)
    do_take_over(session_factory, handoff.id, "staff:a", now=NOW)
    do_take_over(session_factory, handoff.id, "staff:a", now=NOW)  # repeat by the holder: no-op
    with pytest.raises(Conflict):
        do_take_over(session_factory, handoff.id, "staff:b", now=NOW)
    with pytest.raises(Conflict):
        do_staff_message(session_factory, handoff.id, "staff:b", "我来回答")
    with pytest.raises(Conflict):
        do_release(session_factory, handoff.id, "staff:b")
    assert len(_outbox(session_factory)) == 1


def test_release_gives_the_chat_back_to_the_bot(session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "telegram", "7", None, now=NOW)
    do_take_over(session_factory, handoff.id, "staff:a", now=NOW)
    do_release(session_factory, handoff.id, "staff:a", now=NOW + timedelta(minutes=5))
    do_release(session_factory, handoff.id, "staff:a")  # idempotent
    assert not divert_citizen_message(session_factory, "telegram", "7", "你好").held
    assert get_handoff(session_factory, handoff.id).state == HandoffState.CLOSED.value
    assert [m.dedupe_key for m in _outbox(session_factory)] == [
        f"handoff:{handoff.id}:taken", f"handoff:{handoff.id}:released",
    ]
    assert do_request_human(session_factory, "telegram", "7", None).id != handoff.id
    assert list_handoffs(session_factory, states=["closed"])[0].id == handoff.id


def test_bad_requests(session_factory: sessionmaker) -> None:
    with pytest.raises(NotFound):
        do_take_over(session_factory, 999, "staff:a")
    handoff = do_request_human(session_factory, "rest", "u3", None, now=NOW)
    do_take_over(session_factory, handoff.id, "staff:a", now=NOW)
    with pytest.raises(InvalidInput):
        do_staff_message(session_factory, handoff.id, "staff:a", "   ")
    with pytest.raises(InvalidInput):
        do_staff_message(session_factory, handoff.id, "staff:a", "长" * 5000)


def test_waiting_for_staff_while_the_request_is_open(session_factory: sessionmaker) -> None:
    assert not waiting_for_staff(session_factory, "rest", "w1")
    handoff = do_request_human(session_factory, "rest", "w1", "转人工", now=NOW)
    assert waiting_for_staff(session_factory, "rest", "w1")
    assert not waiting_for_staff(session_factory, "telegram", "w1")  # another chat account
    do_take_over(session_factory, handoff.id, "staff:a", now=NOW)
    assert waiting_for_staff(session_factory, "rest", "w1")
    do_release(session_factory, handoff.id, "staff:a", now=NOW + timedelta(minutes=5))
    assert not waiting_for_staff(session_factory, "rest", "w1")  # back with the bot: offered again
