"""``action_check_status``: a citizen's own cases, found by number or by chat account."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import session_factory
from actions._tracker import channel_of
from bot.cases.citizen_view import MALFORMED_CASE_NO, find_case_no, mentions_case_no, status_message
from bot.errors import PetitionError


class ActionCheckStatus(Action):
    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from bot.cases.service import cases_of_sender

        text = str((tracker.latest_message or {}).get("text") or "")
        wanted = find_case_no(text)
        if not wanted and mentions_case_no(text):
            dispatcher.utter_message(text=MALFORMED_CASE_NO)
            return []
        try:
            own = cases_of_sender(session_factory(), channel_of(tracker), tracker.sender_id)
        except PetitionError as exc:
            dispatcher.utter_message(text=exc.user_message)
            return []
        if wanted:
            own = [case for case in own if case.case_no == wanted]
            if not own:
                dispatcher.utter_message(
                    text=f"没有在您的账号下找到编号为 {wanted} 的事项。为保护信访人信息，只能查询本账号登记的事项。"
                )
                return []
        dispatcher.utter_message(text=status_message(own))
        return []
