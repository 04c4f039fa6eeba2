"""action_submit_petition links the citizen's pending files to the case (service calls faked)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.submit as submit
from bot.cases.status import CaseStatus
from bot.intake.form import FORM_ORDER

RESULT_KW = dict(case_no="XF20260302-0007", due_at=datetime(2026, 3, 9, tzinfo=timezone.utc),
                 status=CaseStatus.REGISTERED, created=True)


def confirmed_tracker() -> Tracker:
    slots: dict[str, Any] = {s: None for s in FORM_ORDER}
    slots.update(consent=True, confirm=True, petitioner_name="王建国", facts="电梯坏了", demand="修好")
    return Tracker(
        sender_id="4711", slots=slots, latest_message={"text": "/affirm", "intent": {"name": "affirm"}},
        events=[{"event": "user", "text": "/affirm", "input_channel": "telegram", "timestamp": 1.5}],
        paused=False, followup_action=None, active_loop={}, latest_action_name="petition_form",
    )


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    from bot.cases import attachments, service

    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(submit, "session_factory", lambda: "factory")
    monkeypatch.setattr(service, "do_submit_petition", lambda factory, sub: service.SubmitResult(**RESULT_KW))

    def link(factory: Any, case_no: str, **kwargs: Any) -> int:
        calls.append((case_no, kwargs))
        if kwargs.get("sender_id") == "boom":
            raise RuntimeError("disk gone")
        return 2

    monkeypatch.setattr(attachments, "link_pending_attachments", link)
    return calls


async def test_pending_files_are_linked_and_the_citizen_is_told(fake_store: list[Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await submit.ActionSubmitPetition().run(dispatcher, confirmed_tracker(), {})
    assert fake_store == [("XF20260302-0007", {"channel": "telegram", "sender_id": "4711"})]
    texts = [m["text"] for m in dispatcher.messages]
    assert "XF20260302-0007" in texts[0]
    assert texts[1] == submit.ATTACHMENTS_LINKED.format(count=2) and "2个文件/图片" in texts[1]
    assert ("case_no", "XF20260302-0007") in [(e.get("name"), e.get("value")) for e in events]


async def test_a_linking_failure_does_not_fail_the_submission(fake_store: list[Any]) -> None:
    tracker = confirmed_tracker()
    tracker.sender_id = "boom"
    dispatcher = CollectingDispatcher()
    events = await submit.ActionSubmitPetition().run(dispatcher, tracker, {})
    assert len(dispatcher.messages) == 1 and "XF20260302-0007" in dispatcher.messages[0]["text"]
    assert any(dict(e).get("name") == "case_no" for e in events)
