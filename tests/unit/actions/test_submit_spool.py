"""action_submit_petition when the case database is down, and its idempotency key (service faked)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.submit as submit
from bot.cases.spool import SubmissionSpool
from bot.errors import StorageUnavailable
from bot.intake.form import FORM_ORDER

SENDER = "spool-unit-7"


def tracker(*user_stamps: float, sender: str = SENDER, channel: str = "telegram") -> Tracker:
    slots: dict[str, Any] = {s: None for s in FORM_ORDER}
    slots.update(consent=True, confirm=True, petitioner_name="裴思远", facts="地下车库积水", demand="排水",
                 id_number="320102197804123573", phone="13655501234")
    events: list[dict[str, Any]] = []
    for stamp in user_stamps:
        events.append({"event": "user", "text": "/affirm", "input_channel": channel, "timestamp": stamp})
        events.append({"event": "action", "name": "petition_form", "timestamp": stamp + 0.1})
    return Tracker(
        sender_id=sender, slots=slots, latest_message={"text": "/affirm", "intent": {"name": "affirm"}},
        events=events, paused=False, followup_action=None, active_loop={}, latest_action_name="petition_form",
    )


# ---- the key -----------------------------------------------------------------------------------


def test_the_same_confirming_message_gives_the_same_key() -> None:
    assert submit._idempotency_key(tracker(10.5)) == submit._idempotency_key(tracker(10.5))
    assert submit._idempotency_key(tracker(3.0, 10.5)) == submit._idempotency_key(tracker(1.0, 10.5))


def test_another_confirming_message_or_another_citizen_gives_another_key() -> None:
    key = submit._idempotency_key(tracker(10.5))
    assert key == f"telegram:{SENDER}:10.5"
    assert submit._idempotency_key(tracker(10.5, 99.0)) != key  # a later message confirms again
    assert submit._idempotency_key(tracker(10.5, sender="someone-else")) != key
    assert submit._idempotency_key(tracker(10.5, channel="wechat")) != key


# ---- the database is down ----------------------------------------------------------------------


@pytest.fixture
def down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SubmissionSpool:
    from bot.cases import service

    spool = SubmissionSpool(tmp_path / "spool")

    def unavailable(factory: Any, sub: Any) -> Any:
        raise StorageUnavailable("database unavailable: connection refused")

    monkeypatch.setattr(submit, "session_factory", lambda: "factory")
    monkeypatch.setattr(service, "do_submit_petition", unavailable)
    monkeypatch.setattr(submit, "_spool", lambda: spool)
    return spool


async def test_the_petition_is_kept_and_the_citizen_told(down: SubmissionSpool) -> None:
    dispatcher = CollectingDispatcher()
    events = await submit.ActionSubmitPetition().run(dispatcher, tracker(10.5), {})
    assert [m["text"] for m in dispatcher.messages] == [submit.KEPT]
    assert "编号" in submit.KEPT and "不需要再次提交" in submit.KEPT
    # the form is reset as after a normal submit; no case number yet (an older one must not linger)
    assert events == [*submit.reset_events(), SlotSet("case_no", None)]
    [entry] = down.entries()
    kept = down.submission(entry)
    assert kept.idempotency_key == f"telegram:{SENDER}:10.5"
    assert (kept.petitioner_name, kept.id_number, kept.phone, kept.channel, kept.sender_id) == (
        "裴思远", "320102197804123573", "13655501234", "telegram", SENDER)


async def test_the_same_message_twice_is_one_spool_entry(down: SubmissionSpool) -> None:
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        await submit.ActionSubmitPetition().run(dispatcher, tracker(10.5), {})
        assert [m["text"] for m in dispatcher.messages] == [submit.KEPT]
    assert len(down) == 1


async def test_when_even_the_spool_fails_the_slots_stay(down: SubmissionSpool, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: Any, **_kwargs: Any) -> bool:
        raise OSError("no space left on device")

    monkeypatch.setattr(SubmissionSpool, "put", full)
    dispatcher = CollectingDispatcher()
    events = await submit.ActionSubmitPetition().run(dispatcher, tracker(10.5), {})
    assert [m["text"] for m in dispatcher.messages] == [StorageUnavailable.user_message]
    assert events == []  # nothing reset: the citizen can confirm again
