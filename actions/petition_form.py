"""``validate_petition_form``: hands each user turn to ``bot.intake.form.process_turn``."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions._offers import story_before_choice
from actions._runtime import session_factory
from actions._tracker import channel_of, form_state, returning_from_interruption, today, user_turn
from bot.errors import PetitionError
from bot.intake.form import MAX_FAILURES_BEFORE_HUMAN, TurnResult, process_turn


def result_events(result: TurnResult) -> list[EventType]:
    events: list[EventType] = [SlotSet(slot, value) for slot, value in result.updates.items()]
    events += [
        SlotSet("form_failures", result.failures),
        SlotSet("suggested_category", result.suggested_category),
        SlotSet("consent_refusals", float(result.consent_refusals)),
    ]
    if result.outcome:
        events += [SlotSet("form_outcome", result.outcome), SlotSet("requested_slot", None)]
    else:
        events.append(SlotSet("requested_slot", result.next_slot))
    return events


def waiting_for_staff(tracker: Tracker) -> bool:
    """The citizen's request for staff is still open (False when the case store cannot say)."""
    from bot.handoff.service import waiting_for_staff as waiting

    try:
        return waiting(session_factory(), channel_of(tracker), tracker.sender_id)
    except (PetitionError, SQLAlchemyError):
        return False  # a nicety: the form goes on without it


def utter(dispatcher: CollectingDispatcher, result: TurnResult) -> None:
    for reply in result.replies:
        buttons = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        dispatcher.utter_message(text=reply.text, buttons=buttons or None)


class ValidatePetitionForm(Action):
    def name(self) -> str:
        return "validate_petition_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if returning_from_interruption(tracker):
            return [SlotSet("requested_slot", tracker.get_slot("requested_slot"))]
        state, turn = form_state(tracker), user_turn(tracker)
        if state.activating and not turn.text:
            turn = replace(turn, text=story_before_choice(tracker))  # "登记信访事项" after a story
        if state.failures.get(state.requested_slot or "", 0) >= MAX_FAILURES_BEFORE_HUMAN - 1:
            state = replace(state, human_requested=waiting_for_staff(tracker))  # no second "转人工"
        result = process_turn(state, turn, today())
        if result.reject:
            return []  # the form is rejected; a dialogue rule answers, then the form resumes
        utter(dispatcher, result)
        return result_events(result)
