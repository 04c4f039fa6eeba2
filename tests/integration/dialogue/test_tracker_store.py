"""The encrypted Rasa tracker store: nothing readable on disk, conversations survive a restart,
rows of the plain SQL store stay readable."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.tracker_store import EncryptedSQLTrackerStore
from bot.security.logmask import uninstall_pii_log_masking
from tests.pii_keys import use_test_keys

ID_NUMBER, PHONE = "11010519491231002X", "13812345678"
DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [inform]
slots:
  phone:
    type: text
    mappings: [{type: custom}]
  id_number:
    type: text
    mappings: [{type: custom}]
"""
)


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    uninstall_pii_log_masking()  # the store installs it, as in the Rasa server
    use_test_keys()


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(f"我叫张三，身份证{ID_NUMBER}，电话{PHONE}", {"name": "inform", "confidence": 0.9}))
    tracker.update(SlotSet("id_number", ID_NUMBER))
    tracker.update(SlotSet("phone", PHONE))
    return tracker


def store_at(path: Path, cls: type[SQLTrackerStore] = EncryptedSQLTrackerStore) -> SQLTrackerStore:
    return cls(domain=DOMAIN, dialect="sqlite", db=str(path))


async def test_event_data_is_encrypted_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store = store_at(path)
    tracker = conversation("citizen-1")
    await store.save(tracker)
    store.engine.dispose()

    raw = path.read_bytes()
    for secret in (ID_NUMBER, PHONE, "张三", ID_NUMBER.encode("unicode_escape").decode()):
        assert secret.encode("utf-8") not in raw, secret
    assert b"pii1:test1:" in raw

    restarted = store_at(path)  # a new server process
    loaded = await restarted.retrieve("citizen-1")
    assert loaded is not None
    assert loaded.get_slot("phone") == PHONE and loaded.get_slot("id_number") == ID_NUMBER
    assert loaded.latest_message is not None and PHONE in (loaded.latest_message.text or "")
    assert [e.as_dict()["event"] for e in loaded.events] == [e.as_dict()["event"] for e in tracker.events]

    loaded.update(SlotSet("phone", "13900000000"))  # the conversation goes on
    await restarted.save(loaded)
    again = await store_at(path).retrieve("citizen-1")
    assert again is not None and again.get_slot("phone") == "13900000000"
    assert await restarted.keys() == ["citizen-1"]


async def test_rows_of_the_plain_sql_store_stay_readable(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    await store_at(path, SQLTrackerStore).save(conversation("old-citizen"))
    assert PHONE.encode() in path.read_bytes()
    loaded = await store_at(path).retrieve_full_tracker("old-citizen")
    assert loaded is not None and loaded.get_slot("phone") == PHONE


async def test_two_processes_see_each_others_events_and_only_new_rows_are_decrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.security import crypto

    path = tmp_path / "tracker.db"
    first, second = store_at(path), store_at(path)  # two Rasa server processes on one database
    await first.save(conversation("citizen-3"))
    assert await first.retrieve("citizen-3") is not None  # as Rasa does before every message

    opened: list[str] = []
    original = crypto.KeyRing.reveal

    def counting_reveal(self: crypto.KeyRing, value: str) -> str:
        opened.append(value)
        return original(self, value)

    monkeypatch.setattr(crypto.KeyRing, "reveal", counting_reveal)
    loaded = await second.retrieve("citizen-3")
    assert loaded is not None and len(opened) == len(loaded.events) == 4

    opened.clear()
    assert (await second.retrieve("citizen-3")) is not None
    assert opened == []  # nothing new: nothing decrypted again

    loaded.update(SlotSet("phone", "13900000000"))  # the next message lands on the other process
    await second.save(loaded)
    on_first = await first.retrieve("citizen-3")
    assert on_first is not None and on_first.get_slot("phone") == "13900000000"
    assert len(opened) == 1  # the first process decrypted only the row the second one wrote

    opened.clear()
    on_first.update(SlotSet("phone", "13700000000"))
    await first.save(on_first)
    back = await second.retrieve("citizen-3")
    assert back is not None and back.get_slot("phone") == "13700000000" and len(opened) == 1


async def test_deleted_conversations_are_not_served_from_memory(tmp_path: Path) -> None:
    from sqlalchemy import delete

    store = store_at(tmp_path / "tracker.db")
    await store.save(conversation("citizen-4"))
    assert await store.retrieve("citizen-4") is not None
    with store.session_scope() as session:  # retention removes the whole conversation
        session.execute(delete(store.SQLEvent).where(store.SQLEvent.sender_id == "citizen-4"))
        session.commit()
    assert await store.retrieve("citizen-4") is None


async def test_saves_after_a_load_write_each_event_once(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    store = store_at(tmp_path / "tracker.db")
    await store.save(conversation("citizen-5"))

    def stored() -> int:
        with store.session_scope() as session:
            return int(session.execute(
                select(func.count()).select_from(store.SQLEvent).where(store.SQLEvent.sender_id == "citizen-5")
            ).scalar_one())

    assert stored() == 4
    tracker = await store.retrieve("citizen-5")
    assert tracker is not None
    tracker.update(SlotSet("phone", "13900000000"))
    await store.save(tracker)  # counted from the load
    assert stored() == 5
    tracker.update(SlotSet("phone", "13700000000"))
    await store.save(tracker)  # a second save without a load: counted in the database
    await store.save(tracker)  # nothing new
    assert stored() == 6
    again = await store.retrieve("citizen-5")
    assert again is not None and again.get_slot("phone") == "13700000000" and len(again.events) == 6


async def test_the_tracker_saved_here_is_reused_only_while_the_database_agrees(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store, other = store_at(path), store_at(path)  # this Rasa process and another one
    await store.save(conversation("citizen-6"))
    tracker = await store.retrieve("citizen-6")  # a message: load …
    assert tracker is not None
    tracker.update(SlotSet("phone", "13900000000"))
    await store.save(tracker)  # … and save

    again = await store.retrieve("citizen-6")
    assert again is tracker  # the next message: no replay of the rows
    fresh = await store_at(path).retrieve("citizen-6")  # what a rebuild gives
    assert fresh is not None
    assert [e.as_dict() for e in fresh.events] == [e.as_dict() for e in again.events]
    assert fresh.current_slot_values() == again.current_slot_values()

    # a message that failed after changing the tracker and before its save: rebuilt from the rows
    again.update(SlotSet("phone", "13000000000"))
    rebuilt = await store.retrieve("citizen-6")
    assert rebuilt is not None and rebuilt is not again
    assert rebuilt.get_slot("phone") == "13900000000" and len(rebuilt.events) == 5
    rebuilt.update(SlotSet("id_number", ID_NUMBER))
    await store.save(rebuilt)

    # the other process writes the next turn: this one must not serve its own older copy
    theirs = await other.retrieve("citizen-6")
    assert theirs is not None
    theirs.update(SlotSet("phone", "13700000000"))
    await other.save(theirs)
    mine = await store.retrieve("citizen-6")
    # its own copy with the other process's rows applied after it: what a rebuild gives
    assert mine is rebuilt and mine.get_slot("phone") == "13700000000" and len(mine.events) == 7
    fresh = await store_at(path).retrieve("citizen-6")
    assert fresh is not None
    assert [e.as_dict() for e in fresh.events] == [e.as_dict() for e in mine.events]
    assert fresh.current_slot_values() == mine.current_slot_values()
    assert await store.retrieve("citizen-6") is mine  # and kept as such for the next message


async def test_a_kept_tracker_is_rebuilt_when_its_rows_are_no_longer_the_first(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store = store_at(path)
    await store.save(conversation("citizen-7"))
    tracker = await store.retrieve("citizen-7")
    assert tracker is not None
    tracker.update(SlotSet("phone", "13900000000"))
    await store.save(tracker)
    # retention deleted the conversation and another process started a new one with its rows
    with store.session_scope() as session:
        session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == "citizen-7").delete()
        session.commit()
    await store_at(path).save(conversation("citizen-7"))
    again = await store.retrieve("citizen-7")
    assert again is not None and again is not tracker
    assert len(again.events) == 4 and again.get_slot("phone") == PHONE
