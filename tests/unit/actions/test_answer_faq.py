"""action_answer_faq: the selected FAQ answer, with the own-story offer where it helps."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import OWN_STORY_OFFER, story_before_choice
from actions.faq import ActionAnswerFaq
from bot.knowledge import get_topic
from tests.unit.actions.trackers import user_tracker


def tracker(text: str, key: str | None, events: list[dict[str, Any]] | None = None) -> Tracker:
    selector = {"faq": {"response": {"intent_response_key": key, "confidence": 0.97}}} if key else {}
    return user_tracker(text, "faq", confidence=0.95, events=events or (), response_selector=selector)


async def answer(t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerFaq().run(dispatcher, t, {}) == []
    return dispatcher.messages


async def test_general_question_gets_the_plain_answer() -> None:
    messages = await answer(tracker("对处理意见不服，多长时间内可以申请复查？", "faq/review_request"))
    assert [m["text"] for m in messages] == [get_topic("review_request").reply_text]
    assert not messages[0]["buttons"]


async def test_own_story_gets_the_answer_and_the_offer_and_the_button_carries_the_story() -> None:
    story = "前年镇里给的信访处理意见我一直不服，还能要求复查吗"
    messages = await answer(tracker(story, "faq/review_request"))
    assert messages[0]["text"].startswith(get_topic("review_request").reply_text)
    assert messages[0]["text"].endswith(OWN_STORY_OFFER)
    assert {"title": "帮我看看我的事", "payload": "/ask_legal_channel"} in messages[0]["buttons"]
    # the press that follows starts the consultation from the story
    history = [{"event": "user", "text": story}, {"event": "bot", "text": messages[0]["text"]}]
    assert story_before_choice(tracker("/ask_legal_channel", None, history)) == story


async def test_unknown_topic_gets_the_default_reply() -> None:
    messages = await answer(tracker("随便问问", "faq/no_such_topic"))
    assert [m.get("response") for m in messages] == ["utter_default"]
