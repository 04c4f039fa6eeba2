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
    active = (tracker.active_loop or {}).get("name")
    failures = tracker.get_slot("form_failures") or {}
    return FormState(
        values={slot: tracker.get_slot(slot) for slot in FORM_ORDER},
        requested_slot=tracker.get_slot("requested_slot"),
        failures=dict(failures) if isinstance(failures, dict) else {},
        suggested_category=tracker.get_slot("suggested_category"),
        consent_refusals=int(tracker.get_slot("consent_refusals") or 0),
        activating=not active,
    )


def returning_from_interruption(tracker: Tracker) -> bool:
    """The form runs again after a rule answered something else: no new answer to read."""
    active = (tracker.active_loop or {}).get("name")
    return bool(active) and tracker.latest_action_name != "action_listen"


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
