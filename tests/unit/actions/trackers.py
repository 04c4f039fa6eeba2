"""A rasa_sdk Tracker whose latest event is one user message (unit tests of the actions)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker


def user_tracker(text: str, intent: str, *, confidence: float = 1.0, slots: dict[str, Any] | None = None,
                 events: Sequence[dict[str, Any]] = (), active_loop: str | None = None,
                 **message: Any) -> Tracker:
    """``events`` come before the message; ``message`` adds parse data (e.g. ``response_selector``)."""
    return Tracker(
        sender_id="citizen-unit-1",
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
                        **message},
        events=[*events, {"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
