"""A second press of "确认提交" after the petition was submitted: the same number, no second case."""
from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.stray import KEPT_ALREADY, SUBMITTED_ALREADY, ActionRouteStray
from actions.submit import CANCELLED, KEPT

CASE = "XF20261123-0009"


def tracker(said_by_submit: str | None, case_no: str | None, *, last_action: str = "action_submit_petition") -> Tracker:
    events: list[dict[str, Any]] = [
        {"event": "user", "text": "/affirm", "parse_data": {"intent": {"name": "affirm"}}},
        {"event": "action", "name": "petition_form"},
        {"event": "action", "name": last_action},
    ]
    if said_by_submit is not None:
        events.append({"event": "bot", "text": said_by_submit})
    events += [
        {"event": "slot", "name": "confirm", "value": None},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "/affirm", "parse_data": {"intent": {"name": "affirm"}}},
    ]
    return Tracker(
        sender_id="double-1", slots={"case_no": case_no},
        latest_message={"text": "/affirm", "intent": {"name": "affirm", "confidence": 1.0}},
        events=events, paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


async def answer(t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    assert await ActionRouteStray().run(dispatcher, t, {}) == []
    return dispatcher.messages


async def test_after_a_stored_case_the_same_number_is_repeated() -> None:
    [message] = await answer(tracker(f"您的信访事项已登记成功。\n编号：{CASE}", CASE))
    assert message["text"] == SUBMITTED_ALREADY.format(case_no=CASE)


async def test_after_a_kept_petition_no_second_submission_is_needed() -> None:
    [message] = await answer(tracker(KEPT, None))
    assert message["text"] == KEPT_ALREADY


@pytest.mark.parametrize(("said", "last_action"), [
    (CANCELLED, "action_submit_petition"),  # a cancelled form: an earlier case number must not be shown
    (f"编号：{CASE}", "utter_greet"),  # the previous turn did not submit anything
])
async def test_otherwise_an_ordinary_stray_answer(said: str, last_action: str) -> None:
    [message] = await answer(tracker(said, CASE, last_action=last_action))
    assert message.get("response") == "utter_what_next"
