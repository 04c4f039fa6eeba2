"""legal_channel_form and action_legal_channel on tracker fixtures (no Rasa server)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.legal import ActionLegalChannel, ValidateLegalChannelForm
from bot.knowledge import get_topic


def tracker(text: str, *, key: str | None = None, confidence: float = 0.0, requested: str | None = None,
            active_loop: str = "legal_channel_form", **slots: Any) -> Tracker:
    selector = {"faq": {"response": {"intent_response_key": key, "confidence": confidence}}} if key else {}
    return Tracker(
        sender_id="citizen-legal-1",
        slots={"requested_slot": requested, **slots},
        latest_message={
            "text": text,
            "intent": {"name": "ask_legal_channel", "confidence": 0.93},
            "entities": [],
            "response_selector": selector,
        },
        events=[{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return events, dispatcher.messages


async def test_general_question_ends_the_form_with_an_faq_topic() -> None:
    events, messages = await run(
        ValidateLegalChannelForm(), tracker("医疗纠纷该走什么途径", key="faq/medical_dispute", confidence=0.99)
    )
    assert events == [
        SlotSet("triage_info", {"faq_topic": "medical_dispute"}),
        SlotSet("triage_answer", "done"),
        SlotSet("requested_slot", None),
    ]
    assert messages == []


async def test_own_story_starts_the_consultation() -> None:
    text = "我的案子法院已经受理正在审，这期间我还能再去信访吗"
    events, _ = await run(ValidateLegalChannelForm(), tracker(text, key="faq/matter_in_court", confidence=0.99))
    info = next(e for e in events if e["name"] == "triage_info")["value"]
    assert "faq_topic" not in info and info["text"] == text


async def test_the_answer_is_the_faq_reply_with_the_offer_to_look_at_the_own_matter() -> None:
    events, messages = await run(
        ActionLegalChannel(), tracker("医疗纠纷该走什么途径", triage_info={"faq_topic": "medical_dispute"})
    )
    assert events == [SlotSet("triage_info", None), SlotSet("triage_answer", None)]
    (message,) = messages
    assert message["text"].startswith(get_topic("medical_dispute").reply_text)
    assert "您自己的事" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/ask_legal_channel", "/start_petition"]


async def test_recommendation_still_follows_a_story() -> None:
    text = "公司拖欠我三个月工资，我上个月已经离职了，应该去哪里解决？"
    events, messages = await run(ActionLegalChannel(), tracker(text, triage_info={}))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["legal_channel"] == "labor_arbitration"
    assert "劳动争议调解仲裁法" in messages[0]["text"]
