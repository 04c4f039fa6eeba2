"""Reading a rasa_sdk Tracker into the plain types of ``bot.intake.form``."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from bot.intake.form import FORM_ORDER, FormState, UserTurn

AUX_SLOTS = (
    "cancel_confirm",
    "form_outcome",
    "form_failures",
    "suggested_category",
    "category_prompt",
    "has_category_suggestion",
    "petition_summary",
    "channel_prompt",
    "consent_refusals",
    "triage_info",
    "legal_channel",
    "legal_channel_alternatives",
)


def today(tz: str = "Asia/Shanghai") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def user_turn(tracker: Tracker) -> UserTurn:
    message = tracker.latest_message or {}
    text = str(message.get("text") or "")
    intent = message.get("intent") or {}
    if text.startswith("/"):
        text = ""  # a button payload: its meaning is in the intent and entities
    return UserTurn(
        text=text,
        intent=str(intent.get("name") or ""),
        confidence=float(intent.get("confidence") or 0.0),
        entities=tuple(message.get("entities") or ()),
    )


def form_state(tracker: Tracker) -> FormState:
    failures = tracker.get_slot("form_failures") or {}
    return FormState(
        values={slot: tracker.get_slot(slot) for slot in (*FORM_ORDER, "legal_channel")},
        requested_slot=tracker.get_slot("requested_slot"),
        failures=dict(failures) if isinstance(failures, dict) else {},
        suggested_category=tracker.get_slot("suggested_category"),
        consent_refusals=int(tracker.get_slot("consent_refusals") or 0),
        # nothing asked yet: this is the message that started the form
        activating=tracker.get_slot("requested_slot") is None,
    )


def returning_from_interruption(tracker: Tracker) -> bool:
    """The form runs again after a rule answered something else: no new answer to read.

    Rasa calls the validation action again when it returns to the form after an
    interruption (a rule ran ``utter_faq`` say). Such a turn has another action
    between the latest user message and now; a fresh answer has none. At
    activation nothing has been asked yet, so the starting message is always read.
    """
    if tracker.get_slot("requested_slot") is None:
        return False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return False
        if kind == "action" and event.get("name") not in _FORM_PLUMBING:
            return True
    return False


_FORM_PLUMBING = frozenset({"action_listen", "petition_form", "action_extract_slots", "validate_petition_form"})


def channel_of(tracker: Tracker) -> str:
    return str(tracker.get_latest_input_channel() or "rest")


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """The user and bot turns of this conversation, oldest first."""
    turns: list[dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind in ("user", "bot") and event.get("text"):
            turns.append({"role": "citizen" if kind == "user" else "assistant",
                          "text": event.get("text"), "at": event.get("timestamp")})
    return turns
