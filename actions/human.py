"""``action_request_human``: open a handoff so staff can take the chat over in the console."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import session_factory
from actions._tracker import channel_of
from bot.errors import PetitionError
from bot.handoff.chat import request_human_reply


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from bot.handoff.service import do_request_human

        text = str((tracker.latest_message or {}).get("text") or "")
        try:
            handoff = do_request_human(session_factory(), channel_of(tracker), tracker.sender_id, text)
            state: str | None = handoff.state
        except PetitionError:
            state = None
        dispatcher.utter_message(text=request_human_reply(state, text))
        return []
