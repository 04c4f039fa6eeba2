"""validate_petition_form on tracker fixtures: exact events in, exact events out."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.petition_form import ValidatePetitionForm
from bot.intake.form import FORM_ORDER


def tracker(text: str, intent: str, *, requested: str | None, active: bool = True,
            latest_action: str = "action_listen", confidence: float = 0.98, **slots: Any) -> Tracker:
    values: dict[str, Any] = {s: None for s in FORM_ORDER}
    values.update(slots)
    values["requested_slot"] = requested
    return Tracker(
        sender_id="citizen-1",
        slots=values,
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []},
        events=[{"event": "user", "text": text}]
        + ([{"event": "action", "name": latest_action}] if latest_action != "action_listen" else []),
        paused=False,
        followup_action=None,
        active_loop={"name": "petition_form"} if active else {},
        latest_action_name=latest_action,
    )


async def run(t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ValidatePetitionForm().run(dispatcher, t, {})
    return events, dispatcher.messages


async def test_consent_answer_sets_slot_and_next_question() -> None:
    events, messages = await run(tracker("同意", "affirm", requested="consent"))
    assert events == [
        SlotSet("consent", True),
        SlotSet("form_failures", {}),
        SlotSet("suggested_category", None),
        SlotSet("consent_refusals", 0.0),
        SlotSet("requested_slot", "petition_type"),
    ]
    assert messages == []


async def test_invalid_phone_explains_and_asks_again() -> None:
    events, messages = await run(tracker("1234", "inform", requested="phone", consent=True))
    assert events == [
        SlotSet("form_failures", {"phone": 1}),
        SlotSet("suggested_category", None),
        SlotSet("consent_refusals", 0.0),
        SlotSet("requested_slot", "phone"),
    ]
    assert len(messages) == 1 and "例如" in messages[0]["text"]


async def test_policy_question_is_left_to_the_rules() -> None:
    events, messages = await run(tracker("信访多久答复", "faq", requested="phone", consent=True))
    assert events == [] and messages == []


async def test_returning_after_an_interruption_repeats_the_question() -> None:
    events, messages = await run(tracker("信访多久答复", "faq", requested="phone", latest_action="utter_faq"))
    assert events == [SlotSet("requested_slot", "phone")]
    assert messages == []


async def test_the_message_that_starts_the_form_is_read() -> None:
    t = tracker("我要投诉，我叫张三", "start_petition", requested=None, latest_action="petition_form")
    events, messages = await run(t)
    assert SlotSet("petitioner_name", "张三") in events
    assert events[-1] == SlotSet("requested_slot", "consent")
    assert "登记" in messages[0]["text"]


async def test_button_payload_text_is_not_parsed_as_an_answer() -> None:
    t = tracker('/inform{"petition_type":"accusation"}', "inform", requested="petition_type", consent=True)
    t.latest_message["entities"] = [{"entity": "petition_type", "value": "accusation"}]
    events, _ = await run(t)
    assert SlotSet("petition_type", "accusation") in events
    assert events[-1] == SlotSet("requested_slot", "petitioner_name")


async def test_cancel_confirmed_ends_the_form() -> None:
    events, _ = await run(tracker("确定取消", "affirm", requested="cancel_confirm", consent=True))
    assert events[-2:] == [SlotSet("form_outcome", "cancelled"), SlotSet("requested_slot", None)]


async def test_the_third_failure_asks_the_case_store_whether_staff_were_already_asked(monkeypatch) -> None:
    import actions.petition_form as module

    asked: list[str] = []

    def waiting(t: Tracker) -> bool:
        asked.append(t.sender_id)
        return True

    monkeypatch.setattr(module, "waiting_for_staff", waiting)
    await run(tracker("1234", "inform", requested="phone", consent=True))
    assert asked == []  # a first failure needs no lookup
    _, third = await run(tracker("1234", "inform", requested="phone", consent=True, form_failures={"phone": 2}))
    assert asked == ["citizen-1"]
    assert "工作人员已经收到" in third[0]["text"] and not third[0].get("buttons")

    monkeypatch.setattr(module, "waiting_for_staff", lambda t: False)
    _, offered = await run(tracker("1234", "inform", requested="phone", consent=True, form_failures={"phone": 2}))
    assert "可以回复“转人工”" in offered[0]["text"]
