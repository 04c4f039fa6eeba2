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
