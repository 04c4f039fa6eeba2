"""``action_legal_channel``: which legal channel fits the citizen's problem (诉访分离)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import today


class ActionLegalChannel(Action):
    def name(self) -> str:
        return "action_legal_channel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from bot.triage import triage
        from bot.triage.render import render_chat

        text = str((tracker.latest_message or {}).get("text") or "")
        if tracker.get_slot("facts"):
            text = f"{tracker.get_slot('facts')}\n{text}"
        result = triage(text, {}, today())
        dispatcher.utter_message(text=render_chat(result))
        return [
            SlotSet("legal_channel", result.legal_channel),
            SlotSet("legal_channel_alternatives", list(result.legal_channel_alternatives)),
        ]
