"""``action_rate_case``: the citizen's 1–5 satisfaction rating of a closed case."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import session_factory
from actions._tracker import channel_of


class ActionRateCase(Action):
    def name(self) -> str:
        return "action_rate_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from bot.cases.rating_flow import handle_rating

        latest = tracker.latest_message or {}
        reply = handle_rating(
            session_factory(), channel_of(tracker), tracker.sender_id,
            str(latest.get("text") or ""), latest.get("entities") or [],
        )
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
        return []
