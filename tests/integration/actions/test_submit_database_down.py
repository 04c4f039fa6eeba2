"""action_submit_petition against a real case database: processed twice, and while the database is down.

The action runs in-process with a Tracker as the action server builds it; ``session_factory``
and the spool directory are swapped for the test's. The outage puts tests/tcp_proxy.py in
front of PostgreSQL and stops it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

import actions.submit as submit
from bot.cases.db import make_engine, make_session_factory, migrate, transaction
from bot.cases.models import Case
from bot.cases.spool import STORED_LATER_HEAD, SubmissionSpool
from bot.intake.form import FORM_ORDER
from bot.outbox.models import OutboxMessage
from tests.tcp_proxy import TcpProxy

CASE_NO = re.compile(r"XF\d{8}-\d{4}")


def tracker(sender: str, stamp: float, *, name: str, id_number: str, phone: str, facts: str) -> Tracker:
    slots: dict[str, Any] = {s: None for s in FORM_ORDER}
    slots.update(consent=True, confirm=True, petitioner_name=name, id_number=id_number, phone=phone, facts=facts,
                 demand="请尽快处理。", petition_type="grievance", category="housing", people_count=1)
    return Tracker(
        sender_id=sender, slots=slots, latest_message={"text": "/affirm", "intent": {"name": "affirm"}},
        events=[{"event": "user", "text": "/affirm", "input_channel": "rest", "timestamp": stamp}],
        paused=False, followup_action=None, active_loop={}, latest_action_name="petition_form",
    )


def first(sender: str = "act-db-a") -> Tracker:
    return tracker(sender, 1795400000.25, name="裴思远", id_number="320102197804123573", phone="13655501234",
                   facts="小区地下车库长期积水，物业一直不处理。")


def second() -> Tracker:
    return tracker("act-db-b", 1795400100.5, name="柯雨桐", id_number="330106198511204448", phone="13566602345",
                   facts="村里的路灯坏了半年没人修，晚上出行很危险。")


async def run(t: Tracker) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await submit.ActionSubmitPetition().run(dispatcher, t, {})
    return [m["text"] for m in dispatcher.messages], [dict(e) for e in events]


def cases(factory: sessionmaker) -> list[Case]:
    with transaction(factory) as session:
        return list(session.execute(select(Case).order_by(Case.id)).scalars())


def messages_to(factory: sessionmaker, recipient: str) -> list[str]:
    with transaction(factory) as session:
        return list(session.execute(
            select(OutboxMessage.text).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)
        ).scalars())


def use(monkeypatch: pytest.MonkeyPatch, factory: sessionmaker, spool: SubmissionSpool) -> None:
    monkeypatch.setattr(submit, "session_factory", lambda: factory)
    monkeypatch.setattr(submit, "_spool", lambda: spool)


async def test_the_same_confirming_message_processed_twice_is_one_case(
    session_factory: sessionmaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    use(monkeypatch, session_factory, SubmissionSpool(tmp_path / "spool"))
    texts, events = await run(first())
    again, _ = await run(first())  # e.g. Rasa retried the action call
    number = CASE_NO.search(texts[0])
    assert number and "登记成功" in texts[0]
    assert CASE_NO.findall(again[0]) == [number.group(0)] and "不会重复登记" in again[0]
    assert [c.case_no for c in cases(session_factory)] == [number.group(0)]
    assert {"event": "slot", "timestamp": None, "name": "case_no", "value": number.group(0)} in events


@pytest.mark.postgres
async def test_database_down_at_submit_then_back(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = make_url(pg_url)
    spool = SubmissionSpool(tmp_path / "spool")
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        engine = make_engine(make_url(pg_url).set(host="127.0.0.1", port=proxy.port))
        try:
            migrate(engine)
            factory = make_session_factory(engine)
            use(monkeypatch, factory, spool)

            proxy.stop()
            for _ in range(2):  # the same confirming message twice while the database is down
                texts, events = await run(first())
                assert texts == [submit.KEPT]
                assert events == [*submit.reset_events(), {"event": "slot", "timestamp": None, "name": "case_no",
                                                           "value": None}]
            assert len(spool) == 1

            proxy.start()
            # the next citizen's submit first stores what the spool kept (submitted earlier)
            texts, _ = await run(second())
            b_number = CASE_NO.findall(texts[0])
            assert len(b_number) == 1 and "登记成功" in texts[0]
            assert len(spool) == 0
            stored = cases(factory)
            assert [c.sender_id for c in stored] == ["act-db-a", "act-db-b"]
            a_number = stored[0].case_no
            assert a_number < b_number[0]  # numbered in the order the citizens submitted
            [notice] = messages_to(factory, "act-db-a")
            assert notice.startswith(STORED_LATER_HEAD) and a_number in notice

            # a third run of the first message (a late retry) finds the case: same number, nothing new
            texts, _ = await run(first())
            assert CASE_NO.findall(texts[0]) == [a_number]
            assert len(cases(factory)) == 2 and len(messages_to(factory, "act-db-a")) == 1
        finally:
            engine.dispose()
