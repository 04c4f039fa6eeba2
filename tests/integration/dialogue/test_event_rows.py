"""The tracker store's prepared statements give the rows Rasa's own queries give (SQLite and
PostgreSQL)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.dialogue.tracker_store import EncryptedSQLTrackerStore
from bot.security.logmask import uninstall_pii_log_masking
from tests.db_fixtures import throwaway_postgres_database
from tests.integration.dialogue.test_tracker_store import DOMAIN
from tests.pii_keys import use_test_keys


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    uninstall_pii_log_masking()
    use_test_keys()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EncryptedSQLTrackerStore]:
    if request.param == "sqlite":
        instance = EncryptedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
        yield instance
        instance.engine.dispose()
        return
    with throwaway_postgres_database("event_rows") as url:
        parts = make_url(url)
        instance = EncryptedSQLTrackerStore(domain=DOMAIN, dialect="postgresql", url=parts.host or "127.0.0.1",
                                            port=parts.port or 5432, db=parts.database,
                                            username=parts.username or "postgres", password=parts.password)
        yield instance
        instance.engine.dispose()


def rasa_ids(store: EncryptedSQLTrackerStore, sender: str, all_sessions: bool = False) -> tuple[int, ...]:
    with store.session_scope() as session:
        return tuple(row.id for row in store._event_query(session, sender, fetch_events_from_all_sessions=all_sessions))


def turn(tracker: DialogueStateTracker, text: str, at: float) -> None:
    tracker.update(ActionExecuted("action_listen", timestamp=at))
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 0.9}, timestamp=at + 0.1))
    tracker.update(SlotSet("phone", "13812345678", timestamp=at + 0.2))


async def test_ids_and_rows_are_rasas_across_sessions_and_senders(store: EncryptedSQLTrackerStore) -> None:
    a, b = DialogueStateTracker("rows-a", DOMAIN.slots), DialogueStateTracker("rows-b", DOMAIN.slots)
    turn(a, "第一句", 1000.0)
    await store.save(a)
    assert store.rows.session_ids("rows-a") == rasa_ids(store, "rows-a")  # no session start yet: every row
    turn(b, "另一位", 1001.0)
    await store.save(b)
    a.update(ActionExecuted("action_session_start", timestamp=2000.0))
    a.update(SessionStarted(timestamp=2000.1))
    turn(a, "第二次来", 2001.0)
    await store.save(a)
    ids = store.rows.session_ids("rows-a")
    assert ids == rasa_ids(store, "rows-a") and len(ids) == 4  # from the session start on
    assert ids != rasa_ids(store, "rows-a", all_sessions=True)
    assert store.rows.session_ids("rows-b") == rasa_ids(store, "rows-b")
    assert store.rows.session_ids("nobody") == () == rasa_ids(store, "nobody")
    # the data of a range of one conversation's rows, another's rows in between left out
    every = rasa_ids(store, "rows-a", all_sessions=True)
    data = store.rows.data("rows-a", every[0], every[-1])
    assert [row_id for row_id, _ in data] == list(every)
    assert all(str(stored).startswith("pii1:") for _, stored in data)


async def test_inserted_ids_come_back_in_the_order_of_the_rows(store: EncryptedSQLTrackerStore) -> None:
    values = [{"sender_id": "rows-c", "type_name": "slot", "timestamp": 10.0 + i, "intent_name": None,
               "action_name": None, "data": f"row {i}"} for i in range(25)]
    ids = store.rows.insert(values)
    assert len(ids) == 25 and ids == sorted(ids)
    stored = dict(store.rows.data("rows-c", ids[0], ids[-1]))
    assert [stored[row_id] for row_id in ids] == [f"row {i}" for i in range(25)]
    assert store.rows.insert([]) == []
