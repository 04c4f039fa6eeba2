"""A story told outside any form is carried into the form the citizen then picks by button."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import STORY_OFFER, story_before_choice
from actions.legal import ValidateLegalChannelForm
from actions.petition_form import ValidatePetitionForm
from bot.intake.form import FORM_ORDER
from tests.unit.actions.trackers import user_tracker

STORY = "老板拖了我们半年的工资不给，我是在厂里做焊工的，今年三月辞职的"


def tracker(events: list[dict[str, Any]], payload: str, intent: str, loop: str, **slots: Any) -> Tracker:
    return user_tracker(payload, intent, slots={"requested_slot": None, **slots}, events=events, active_loop=loop)


def told(story: str = STORY, reply: str = STORY_OFFER) -> list[dict[str, Any]]:
    return [
        {"event": "user", "text": story},
        {"event": "action", "name": "action_route_stray"},
        {"event": "bot", "text": reply},
        {"event": "action", "name": "action_listen"},
    ]


def test_story_is_found_only_right_after_the_offer() -> None:
    assert story_before_choice(tracker(told(), "/ask_legal_channel", "ask_legal_channel", "legal_channel_form")) == STORY
    # typed text instead of a button: that text is the message, nothing to carry over
    assert story_before_choice(tracker(told(), "我想问问", "ask_legal_channel", "legal_channel_form")) == ""
    # the bot said something else in between
    other = told(reply="您好，请问有什么可以帮您？")
    assert story_before_choice(tracker(other, "/start_petition", "start_petition", "petition_form")) == ""
    # no story at all
    assert story_before_choice(tracker([], "/start_petition", "start_petition", "petition_form")) == ""


async def test_consultation_started_by_the_button_reasons_on_the_story() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(told(), "/ask_legal_channel", "ask_legal_channel", "legal_channel_form")
    events = await ValidateLegalChannelForm().run(dispatcher, t, {})
    state = next(e["value"] for e in events if e["name"] == "triage_info")
    # the story says what the matter is (wages) and that the job ended: not asked again
    assert state["pending"] != "dispute"
    assert state["text"] == STORY


async def test_petition_started_by_the_button_keeps_the_story_as_facts() -> None:
    dispatcher = CollectingDispatcher()
    slots = {s: None for s in FORM_ORDER}
    t = tracker(told(), "/start_petition", "start_petition", "petition_form", **slots)
    events = await ValidatePetitionForm().run(dispatcher, t, {})
    assert SlotSet("facts", STORY) in events
    assert any("记下了" in (m.get("text") or "") for m in dispatcher.messages)
