"""Per-message bookkeeping of the channels takes the SQLite write lock only when it writes.

Every citizen message asks "does staff hold this chat?" and (REST) "is anything waiting for
this citizen?". Almost always the answer is no; taking ``BEGIN IMMEDIATE`` for that would queue
every chat message behind each other on SQLite. The statements sent to the database show it.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory, migrate
from bot.handoff.service import divert_citizen_message, do_request_human
from bot.outbox.service import take_held_for_reply
from tests.integration.outbox.helpers import NOW, queue


@pytest.fixture
def statements(tmp_path) -> Iterator[tuple[sessionmaker, list[str]]]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(engine)
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        seen.append(statement)

    yield make_session_factory(engine), seen
    engine.dispose()


def _write_locks(seen: list[str]) -> int:
    return sum(1 for s in seen if s.strip().upper().startswith("BEGIN IMMEDIATE"))


def test_nothing_held_and_no_handoff_means_no_write_lock(statements) -> None:  # type: ignore[no-untyped-def]
    factory, seen = statements
    seen.clear()
    assert not divert_citizen_message(factory, "rest", "u-quiet", "你好", now=NOW).held
    assert take_held_for_reply(factory, "rest", "u-quiet", now=NOW) == []
    assert any(s.strip().upper() == "BEGIN" for s in seen), seen  # the listener sees the BEGINs
    assert _write_locks(seen) == 0, seen


def test_the_write_path_still_runs_when_there_is_something_to_do(statements) -> None:  # type: ignore[no-untyped-def]
    factory, seen = statements
    do_request_human(factory, "rest", "u-busy", reason="想找人工", now=NOW)
    queue(factory, recipient="u-busy", channel="rest")
    seen.clear()
    diversion = divert_citizen_message(factory, "rest", "u-busy", "还在吗", now=NOW)
    assert diversion.handoff_id is not None
    taken = take_held_for_reply(factory, "rest", "u-busy", now=NOW)
    assert len(taken) == 1
    assert _write_locks(seen) == 2


def test_a_contact_seen_moments_ago_is_not_written_again(statements) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sqlalchemy import select

    from bot.cases.db import transaction
    from bot.outbox.models import Contact, OutboxMessage
    from bot.outbox.service import INBOUND_REFRESH, record_inbound

    factory, seen = statements
    first = record_inbound(factory, "rest", "u-chatty", NOW, release_held=False)
    assert first.first_time
    seen.clear()
    again = record_inbound(factory, "rest", "u-chatty", NOW + timedelta(seconds=5), release_held=False)
    assert (again.first_time, again.previous_inbound_at, again.released) == (False, NOW, 0)
    assert _write_locks(seen) == 0

    # something was sent to them since: written, so the buttons they answer are found as before
    message_id = queue(factory, recipient="u-chatty", channel="rest")
    with transaction(factory, write=True) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        row.state, row.sent_at = "sent", NOW + timedelta(seconds=6)
    seen.clear()
    record_inbound(factory, "rest", "u-chatty", NOW + timedelta(seconds=8), release_held=False)
    assert _write_locks(seen) == 1

    # long enough after the last recorded message: written again
    later = NOW + timedelta(seconds=8) + INBOUND_REFRESH + timedelta(seconds=1)
    seen.clear()
    record_inbound(factory, "rest", "u-chatty", later, release_held=False)
    assert _write_locks(seen) == 1
    with transaction(factory) as session:
        stored = session.execute(select(Contact.last_inbound_at).where(Contact.sender_id == "u-chatty")).scalar_one()
    assert stored == later

    # a held message waiting to be released is never skipped
    held_id = queue(factory, recipient="u-chatty", channel="rest")
    with transaction(factory, write=True) as session:
        held = session.get(OutboxMessage, held_id)
        assert held is not None
        held.state = "held"
    seen.clear()
    released = record_inbound(factory, "rest", "u-chatty", later + timedelta(seconds=1))
    assert released.released == 1 and _write_locks(seen) == 1


def test_one_read_answers_the_usual_message(statements) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from bot.handoff.service import glance_inbound
    from bot.outbox.service import record_inbound

    factory, seen = statements
    new = glance_inbound(factory, "rest", "u-glance", release_held=False, now=NOW)
    assert (new.handoff_open, new.quiet, new.waiting) == (False, None, False)  # first message: record it
    record_inbound(factory, "rest", "u-glance", NOW, release_held=False)
    seen.clear()
    usual = glance_inbound(factory, "rest", "u-glance", release_held=False, now=NOW + timedelta(seconds=3))
    assert not usual.handoff_open and not usual.waiting
    assert usual.quiet is not None and usual.quiet.previous_inbound_at == NOW
    assert [s.strip().upper() for s in seen].count("BEGIN") == 1 and _write_locks(seen) == 0

    do_request_human(factory, "rest", "u-glance", reason="想找人工", now=NOW)
    assert glance_inbound(factory, "rest", "u-glance", release_held=False, now=NOW).handoff_open
    queue(factory, recipient="u-glance", channel="rest")
    busy = glance_inbound(factory, "rest", "u-glance", release_held=False, now=NOW + timedelta(seconds=3))
    assert busy.waiting and busy.handoff_open


async def test_the_recorder_skips_the_checks_the_glance_answered(statements) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.contacts import ContactRecorder
    from bot.settings import Settings

    factory, _ = statements
    recorder = ContactRecorder(Settings(), factory)
    calls: list[str] = []
    real_call = recorder._call

    async def counting(what, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(what)
        return await real_call(what, fn, *args, **kwargs)

    recorder._call = counting  # type: ignore[method-assign]
    await recorder.inbound("rest", "u-rec", release_held=False)  # first message: written
    assert calls == ["glance_inbound", "record_inbound"]
    assert await recorder.take_held("rest", "u-rec") == [] and not await recorder.divert("rest", "u-rec", "你好")
    assert calls == ["glance_inbound", "record_inbound"]  # nothing open, nothing waiting: no more reads

    calls.clear()
    await recorder.inbound("rest", "u-rec", release_held=False)  # moments later: one read in all
    assert await recorder.take_held("rest", "u-rec") == [] and not await recorder.divert("rest", "u-rec", "好")
    assert calls == ["glance_inbound"]

    # a handoff held by staff and a message waiting: both found, as before
    from bot.handoff.service import do_take_over

    handoff = do_request_human(factory, "rest", "u-rec", reason="人工")
    do_take_over(factory, handoff.id, "staff1")
    calls.clear()
    await recorder.inbound("rest", "u-rec", release_held=False)
    taken = await recorder.take_held("rest", "u-rec")
    assert [m["text"] for m in taken] and await recorder.divert("rest", "u-rec", "您好")
    assert calls == ["glance_inbound", "take_held_for_reply", "divert_citizen_message"]

    # without a glance of this message (another path), the checks read the database themselves
    calls.clear()
    assert await recorder.divert("rest", "u-rec", "还在吗")
    assert calls == ["divert_citizen_message"]
