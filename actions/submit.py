"""``action_submit_petition``: runs when the form ends; stores the case or discards."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import session_factory
from actions._tracker import AUX_SLOTS, channel_of, transcript
from bot.cases.submission import closing_message, submission_from_slots
from bot.errors import PetitionError
from bot.intake.form import FORM_ORDER

log = logging.getLogger(__name__)

CANCELLED = "好的，已取消本次登记，您填写的内容都不会保存。需要时随时找我。"
REDIRECTED = (
    "好的，这次先不提交。请按上面建议的途径办理，注意期限。"
    "需要法律帮助可以拨打12348法律援助热线；如果之后仍想反映，随时找我登记。"
)
CONSENT_REFUSED = (
    "好的，尊重您的决定，我们不会保存您提供的任何信息。"
    "不登记也可以继续向我咨询信访政策和法律途径；您也可以通过来信、来电或来访反映问题。"
)


def reset_events() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (*FORM_ORDER, *AUX_SLOTS)]


class ActionSubmitPetition(Action):
    def name(self) -> str:
        return "action_submit_petition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        outcome = tracker.get_slot("form_outcome")
        if outcome == "cancelled":
            dispatcher.utter_message(text=CANCELLED)
            return reset_events()
        if outcome == "redirected":
            dispatcher.utter_message(text=REDIRECTED)
            return reset_events()
        if outcome == "consent_refused" or tracker.get_slot("consent") is not True:
            dispatcher.utter_message(text=CONSENT_REFUSED)
            return reset_events()
        if tracker.get_slot("confirm") is not True:
            dispatcher.utter_message(text=CANCELLED)
            return reset_events()

        from bot.cases.service import do_submit_petition

        slots = {slot: tracker.get_slot(slot) for slot in (*FORM_ORDER, "legal_channel", "legal_channel_alternatives")}
        submission = submission_from_slots(
            slots,
            channel=channel_of(tracker),
            sender_id=tracker.sender_id,
            conversation_id=tracker.sender_id,
            idempotency_key=_idempotency_key(tracker),
            transcript=transcript(tracker),
            triage=tracker.get_slot("triage_info"),
        )
        try:
            result = do_submit_petition(session_factory(), submission)
        except PetitionError as exc:
            log.warning("submit failed: %s", exc.code)
            dispatcher.utter_message(text=exc.user_message)
            return []
        dispatcher.utter_message(text=closing_message(result.case_no, result.due_at, created=result.created))
        return [*reset_events(), SlotSet("case_no", result.case_no)]


def _idempotency_key(tracker: Tracker) -> str:
    """Same conversation + same confirming message = same case, however often it is retried."""
    stamp = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            stamp = str(event.get("timestamp") or "")
            break
    return f"{channel_of(tracker)}:{tracker.sender_id}:{stamp}"
