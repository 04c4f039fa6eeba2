"""The submission spool with a real database: kept while it is down, stored once when it is back.

``session_factory`` runs each test on SQLite and PostgreSQL. The outage tests put
tests/tcp_proxy.py in front of PostgreSQL and stop it (connections cut, new ones refused), or
point at a closed port; the crash tests stop a drain between its steps with an exception no
code catches, as a killed process would.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

import bot.cases.spool as spool_module
from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory, migrate, transaction
from bot.cases.models import Case
from bot.cases.service import PetitionSubmission, do_submit_petition, get_case
from bot.cases.spool import (
    DEDUPE_PREFIX,
    NOT_STORED,
    STORED_LATER_HEAD,
    SpoolRetry,
    SubmissionSpool,
    drain_spool,
    key_hash,
)
from bot.errors import StorageUnavailable
from bot.outbox.models import OutboxMessage
from bot.outbox.service import take_held_for_reply
from bot.security.crypto import KeyRing, generate_key_entry
from bot.settings import Settings
from tests.rasa_fixtures import free_port
from tests.tcp_proxy import TcpProxy

SPOOLED_AT = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
LATER = SPOOLED_AT + timedelta(minutes=5)
SENDER = "spool-drain-1"
KEY = f"rest:{SENDER}:1795400000.25"

#: matters that are not repeats of each other (each becomes its own case)
MATTERS = [
    ("小区地下车库长期积水，物业一直不处理。", "某某物业公司"),
    ("村里的路灯坏了半年没人修，晚上出行很危险。", "某某村委会"),
    ("孩子学校食堂饭菜质量差，价格却一直上涨。", "某某小学"),
    ("工厂夜里排放刺鼻废气，附近居民头晕。", "某某化工厂"),
    ("公交线路突然取消，老人去医院很不方便。", "某某公交公司"),
    ("医院检查时重复收费八百元，拒不退还。", "某某医院"),
]


class Crash(BaseException):
    """The process dies here (nothing in the product catches a BaseException)."""


def submission(key: str = KEY, sender: str = SENDER, matter: int = 0, **overrides: object) -> PetitionSubmission:
    facts, respondent = MATTERS[matter]
    base = PetitionSubmission(
        petitioner_name="裴思远", id_number="320102197804123573", phone="13655501234",
        address="江苏省南京市玄武区北京东路1号", issue_region="江苏省南京市玄武区", facts=facts,
        respondent=respondent, demand="请尽快处理。", consent=True, petition_type="grievance", category="housing",
        people_count=1, prior_procedure="none", channel="rest", sender_id=sender, conversation_id=sender,
        idempotency_key=key, transcript=[{"role": "citizen", "text": facts}],
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def spool(tmp_path: Path) -> SubmissionSpool:
    return SubmissionSpool(tmp_path / "spool")


def cases_with_key(factory: sessionmaker, key: str) -> list[Case]:
    with transaction(factory) as session:
        return list(session.execute(select(Case).where(Case.idempotency_key == key)).scalars())


def messages_to(factory: sessionmaker, recipient: str) -> list[OutboxMessage]:
    with transaction(factory) as session:
        return list(session.execute(
            select(OutboxMessage).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)
        ).scalars())


def all_cases(factory: sessionmaker) -> list[Case]:
    with transaction(factory) as session:
        return list(session.execute(select(Case).order_by(Case.id)).scalars())


# ---- storing, exactly once ---------------------------------------------------------------------


def test_a_drain_stores_one_case_and_queues_one_message(session_factory: sessionmaker,
                                                        spool: SubmissionSpool) -> None:
    assert spool.put(submission(), now=SPOOLED_AT)
    report = drain_spool(spool, session_factory, now=LATER)
    [case_no] = report.stored
    assert len(spool) == 0 and not report.database_down

    [case] = cases_with_key(session_factory, KEY)
    assert case.case_no == case_no and case.created_at == SPOOLED_AT  # when the citizen handed it in
    stored = get_case(session_factory, case_no)
    expected = submission()
    for name in ("petitioner_name", "id_number", "phone", "facts", "respondent", "category", "channel",
                 "sender_id", "petition_type", "issue_region"):
        assert getattr(stored, name) == getattr(expected, name), name
    assert [e.action for e in stored.events] == ["submit"]

    [message] = messages_to(session_factory, SENDER)
    assert message.channel == "rest" and message.case_id == case.id and message.state == "pending"
    assert message.text.startswith(STORED_LATER_HEAD) and case_no in message.text
    assert message.dedupe_key == DEDUPE_PREFIX + key_hash(KEY)

    # again: nothing left to do
    assert drain_spool(spool, session_factory, now=LATER).stored == []
    assert len(cases_with_key(session_factory, KEY)) == 1 and len(messages_to(session_factory, SENDER)) == 1
    # REST without a callback: the message comes in front of the reply to the next message
    assert [m.text for m in take_held_for_reply(session_factory, "rest", SENDER)] == [message.text]


@pytest.mark.parametrize("step", ["after_storing", "after_queueing"])
def test_a_crash_between_steps_never_makes_two_cases_or_two_messages(
    session_factory: sessionmaker, spool: SubmissionSpool, monkeypatch: pytest.MonkeyPatch, step: str,
) -> None:
    spool.put(submission(), now=SPOOLED_AT)
    with monkeypatch.context() as patched:
        def crash(*_args: object, **_kwargs: object) -> None:
            raise Crash(step)

        if step == "after_storing":  # the case is committed, the message not yet queued
            patched.setattr(spool_module, "_link_attachments", crash)
        else:  # the message is committed, the file not yet deleted
            patched.setattr(SubmissionSpool, "remove", crash)
        with pytest.raises(Crash):
            drain_spool(spool, session_factory, now=LATER)
    assert len(spool) == 1  # the entry survived the crash unchanged
    assert len(cases_with_key(session_factory, KEY)) == 1
    assert len(messages_to(session_factory, SENDER)) == (0 if step == "after_storing" else 1)

    report = drain_spool(spool, session_factory, now=LATER)
    assert len(report.stored) == 1 and len(spool) == 0
    [case] = cases_with_key(session_factory, KEY)
    [message] = messages_to(session_factory, SENDER)
    assert case.case_no in message.text and "登记成功" in message.text and "不会重复登记" not in message.text
    assert drain_spool(spool, session_factory, now=LATER).stored == []
    assert len(all_cases(session_factory)) == 1 and len(messages_to(session_factory, SENDER)) == 1


def test_two_drainers_at_once_store_each_petition_once(session_factory: sessionmaker, tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    for i in range(len(MATTERS)):
        SubmissionSpool(directory).put(submission(key=f"rest:c{i}:1.0", sender=f"c{i}", matter=i),
                                       now=SPOOLED_AT + timedelta(seconds=i))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def drainer() -> None:
        try:
            barrier.wait()
            drain_spool(SubmissionSpool(directory), session_factory, now=LATER)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    drain_spool(SubmissionSpool(directory), session_factory, now=LATER)  # whatever one of them postponed
    assert len(SubmissionSpool(directory)) == 0
    cases = all_cases(session_factory)
    assert sorted(c.sender_id or "" for c in cases) == [f"c{i}" for i in range(len(MATTERS))]
    for i in range(len(MATTERS)):
        [message] = messages_to(session_factory, f"c{i}")
        assert next(c.case_no for c in cases if c.sender_id == f"c{i}") in message.text


def test_the_idempotency_key_is_unique_in_the_schema(session_factory: sessionmaker) -> None:
    """The last line of defence behind ``do_submit_petition``'s look-up: the database refuses a copy."""
    first = do_submit_petition(session_factory, submission(key="k-first", matter=0))
    second = do_submit_petition(session_factory, submission(key="k-second", matter=1))
    assert first.case_no != second.case_no
    again = do_submit_petition(session_factory, submission(key="k-first", matter=0))
    assert (again.case_no, again.created) == (first.case_no, False)
    with pytest.raises(IntegrityError):
        with transaction(session_factory, write=True) as session:
            session.execute(update(Case).where(Case.case_no == second.case_no).values(idempotency_key="k-first"))


# ---- the database is down ----------------------------------------------------------------------


def via_proxy(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_kept_while_the_database_is_down_stored_once_when_it_is_back(pg_url: str, spool: SubmissionSpool) -> None:
    target = make_url(pg_url)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        engine = make_engine(via_proxy(pg_url, proxy))
        try:
            migrate(engine)
            factory = make_session_factory(engine)
            do_submit_petition(factory, submission(key="warm-up", sender="other", matter=1))  # a pooled connection

            proxy.stop()
            with pytest.raises(StorageUnavailable):
                do_submit_petition(factory, submission())
            assert spool.put(submission(), now=SPOOLED_AT)

            retry = SpoolRetry(base_seconds=10, max_seconds=40)
            report = drain_spool(spool, factory, retry=retry, now=LATER)
            assert report.database_down and report.postponed == 1 and report.stored == []
            [entry] = spool.entries()
            assert entry.attempts == 1 and "database unavailable" in (entry.last_error or "")
            assert 8 <= (entry.next_attempt_at - LATER).total_seconds() <= 12
            # not due yet: the next round does not even try
            assert drain_spool(spool, factory, retry=retry, now=LATER + timedelta(seconds=5)).waiting == 1
            second_try = entry.next_attempt_at
            drain_spool(spool, factory, retry=retry, now=second_try)
            [entry] = spool.entries()
            assert entry.attempts == 2 and 16 <= (entry.next_attempt_at - second_try).total_seconds() <= 24

            proxy.start()
            report = drain_spool(spool, factory, retry=retry, now=entry.next_attempt_at)
            assert len(report.stored) == 1 and len(spool) == 0
            [case] = cases_with_key(factory, KEY)
            assert case.case_no == report.stored[0] and case.created_at == SPOOLED_AT
            [message] = messages_to(factory, SENDER)
            assert case.case_no in message.text
            assert len(all_cases(factory)) == 2  # the warm-up and this one
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_a_closed_port_is_storage_unavailable(spool: SubmissionSpool) -> None:
    engine = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/test")
    try:
        factory = make_session_factory(engine)
        with pytest.raises(StorageUnavailable):
            do_submit_petition(factory, submission())
        spool.put(submission(), now=SPOOLED_AT)
        report = drain_spool(spool, factory, now=LATER)
        assert report.database_down and len(spool) == 1
    finally:
        engine.dispose()


# ---- entries that cannot be stored -------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_entry_of_another_key_ring_is_left_alone(session_factory: sessionmaker, tmp_path: Path) -> None:
    foreign = SubmissionSpool(tmp_path / "spool", KeyRing.parse(generate_key_entry("elsewhere")))
    foreign.put(submission(), now=SPOOLED_AT)
    spool = SubmissionSpool(tmp_path / "spool")
    report = drain_spool(spool, session_factory, now=LATER)
    assert report.unreadable == 1 and report.stored == [] and len(spool) == 1
    assert all_cases(session_factory) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_entry_the_rules_refuse_is_set_aside_and_the_citizen_told(session_factory: sessionmaker,
                                                                     spool: SubmissionSpool) -> None:
    spool.put(submission(category="no_such_category"), now=SPOOLED_AT)
    report = drain_spool(spool, session_factory, now=LATER)
    assert report.set_aside == 1 and len(spool) == 0
    assert [p.name for p in (spool.directory / "failed").iterdir()] == [spool.path_for(KEY).name]
    assert [m.text for m in messages_to(session_factory, SENDER)] == [NOT_STORED]
    assert all_cases(session_factory) == []


# ---- where the drainer runs --------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_backoffice_drains_the_spool(session_factory: sessionmaker, spool: SubmissionSpool) -> None:
    spool.put(submission(), now=SPOOLED_AT)
    settings = Settings(backoffice_token="t", submit_spool_dir=str(spool.directory),
                        submit_spool_poll_seconds=0.1, outbox_poll_seconds=0.1)
    with TestClient(create_app(settings, session_factory)):
        deadline = time.monotonic() + 30
        while len(spool) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(spool) == 0
    [case] = cases_with_key(session_factory, KEY)
    [message] = messages_to(session_factory, SENDER)
    assert case.case_no in message.text
