"""``action_route_stray``: a message outside any form that NLU read as an answer.

A story that ends with "where do I go?" starts the legal-channel consultation; a
story without a question is offered the two things the assistant can do with it.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import user_turn
from bot.triage.dialogue import looks_like_channel_question

NARRATIVE_MIN_CHARS = 20


class ActionRouteStray(Action):
    def name(self) -> str:
        return "action_route_stray"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = user_turn(tracker).text
        if looks_like_channel_question(text):
            return [FollowupAction("legal_channel_form")]
        if len(text) >= NARRATIVE_MIN_CHARS:
            dispatcher.utter_message(
                text="我听明白了您的情况。您是想登记成信访事项，还是先了解这件事该走哪条法律途径？",
                buttons=[
                    {"title": "登记信访事项", "payload": "/start_petition"},
                    {"title": "该走哪条途径", "payload": "/ask_legal_channel"},
                ],
            )
            return []
        dispatcher.utter_response("utter_what_next")
        return []
