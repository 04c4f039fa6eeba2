"""Offers made on a citizen's story, and the story a button press on such an offer answers.

Two replies end with buttons that start a form about the message the citizen just sent: the
stray-story offer (登记信访事项 / 该走哪条途径) and a policy answer to a question that told the
citizen's own story (帮我看看我的事). The form then starts from that story instead of asking
for it again.
"""
from __future__ import annotations

from rasa_sdk import Tracker

STORY_OFFER = "我听明白了您的情况。您是想登记成信访事项，还是先了解这件事该走哪条法律途径？"
OWN_STORY_OFFER = "您说的是自己的事：点“帮我看看我的事”，我按您说的情况帮您看看该走哪条途径、期限到哪天。"
OWN_STORY_BUTTONS = [
    {"title": "帮我看看我的事", "payload": "/ask_legal_channel"},
    {"title": "登记信访事项", "payload": "/start_petition"},
]
_OFFERS = (STORY_OFFER, OWN_STORY_OFFER)


def story_before_choice(tracker: Tracker) -> str:
    """The story a button press answers: the free text the citizen sent just before an offer.

    Empty unless the latest message is a button payload pressed right after a reply that ends
    with one of the offers (any other message in between and nothing is carried over).
    """
    pressed = offered = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "")
            if not pressed:
                if not text.startswith("/"):
                    return ""
                pressed = True
                continue
            return text if offered and not text.startswith("/") else ""
        if kind == "bot" and pressed:
            if not str(event.get("text") or "").endswith(_OFFERS):
                return ""
            offered = True
    return ""
