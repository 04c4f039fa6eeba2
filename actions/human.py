"""``action_request_human``: tell the citizen how a person takes over."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

HANDOFF = (
    "需要人工帮助的话，您可以拨打12345政务服务便民热线，或在工作时间到当地信访接待场所。"
    "在这里登记的事项都会由工作人员办理，进展会在这里通知您；已填写的内容不会丢失。"
)


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=HANDOFF)
        return []
