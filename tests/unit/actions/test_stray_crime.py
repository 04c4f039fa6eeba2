"""action_route_stray and action_fallback: a crime told outside any form gets the police advice."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import STORY_OFFER
from actions.stray import ActionFallback, ActionRouteStray
from bot.cases.citizen_view import MALFORMED_CASE_NO
from tests.unit.actions.trackers import user_tracker


def tracker(text: str) -> Tracker:
    return user_tracker(text, "inform", confidence=0.6)


async def reply(text: str) -> list[dict[str, object]]:
    dispatcher = CollectingDispatcher()
    assert await ActionRouteStray().run(dispatcher, tracker(text), {}) == []
    return dispatcher.messages


async def test_a_theft_is_told_to_call_110() -> None:
    messages = await reply("昨晚有人撬了我家的门偷了东西")
    assert len(messages) == 1 and "110" in str(messages[0]["text"]) and "刑事诉讼法" in str(messages[0]["text"])


async def test_a_story_without_a_crime_still_gets_the_two_buttons() -> None:
    messages = await reply("物业每个月多收我们两百块停车费，问了好几次都不给任何说法")
    assert messages[0]["text"] == STORY_OFFER


async def test_fallback_gives_the_police_advice_for_a_crime_and_the_default_otherwise() -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionFallback().run(dispatcher, tracker("手机被抢了"), {}) == []
    assert "110" in str(dispatcher.messages[0]["text"])
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, tracker("啊啊啊"), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_default"]


async def test_a_malformed_case_number_the_nlu_cannot_place_gets_the_format() -> None:
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, user_tracker("XF-2026-000001", "nlu_fallback"), {})
    assert [m["text"] for m in dispatcher.messages] == [MALFORMED_CASE_NO]
