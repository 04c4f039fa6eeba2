"""``action_route_stray``: a message outside any form that NLU read as an answer.

A story that ends with "where do I go?" starts the legal-channel consultation; a crime is told
to call 110 at once; a story without a question is offered the two things the assistant can do
with it (``actions._offers.story_before_choice`` then gives the story to the form the citizen
chooses, so it is not asked for again). A second press of "确认提交" right after the petition
was submitted (a double click) is told the number it already has, or that the kept petition
needs no second submission. ``action_fallback`` answers what the NLU could not place, and a
crime there too gets the 110 advice.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import STORY_OFFER
from actions._tracker import today, user_turn
from actions.status import ActionCheckStatus
from bot.cases.citizen_view import mentions_case_no
from bot.triage.dialogue import looks_like_channel_question, urgent_advice
from bot.triage.render import render_chat

NARRATIVE_MIN_CHARS = 20


class ActionRouteStray(Action):
    def name(self) -> str:
        return "action_route_stray"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = user_turn(tracker)
        text = turn.text
        if turn.intent == "affirm":
            again = _submitted_just_before(tracker)
            if again is not None:
                dispatcher.utter_message(text=again)
                return []
        if looks_like_channel_question(text):
            return [FollowupAction("legal_channel_form")]
        if said_urgent_advice(dispatcher, text):  # a crime: call 110 now, not a menu
            return []
        if len(text) >= NARRATIVE_MIN_CHARS:
            dispatcher.utter_message(
                text=STORY_OFFER,
                buttons=[
                    {"title": "登记信访事项", "payload": "/start_petition"},
                    {"title": "该走哪条途径", "payload": "/ask_legal_channel"},
                ],
            )
            return []
        dispatcher.utter_message(response="utter_what_next")
        return []


class ActionFallback(Action):
    """``action_fallback``: a message the NLU could not place. A crime still gets the 110 advice."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = user_turn(tracker).text
        if mentions_case_no(text):  # a bare case number: the citizen wants to know where it stands
            return await ActionCheckStatus().run(dispatcher, tracker, domain)
        if not said_urgent_advice(dispatcher, text):
            dispatcher.utter_message(response="utter_default")
        return []


def said_urgent_advice(dispatcher: CollectingDispatcher, text: str) -> bool:
    """Utter the police advice when ``text`` reports a crime; True when it did."""
    urgent = urgent_advice(text, today())
    if urgent is None:
        return False
    dispatcher.utter_message(text=render_chat(urgent, with_question=False))
    return True


SUBMITTED_ALREADY = (
    "您的信访事项已经提交过了，编号：{case_no}，不需要重复提交。"
    "办理进度有变化时我会在这里通知您，您也可以随时发送“查询进度”。"
)
KEPT_ALREADY = "您的信访事项已经收到并保存好了，不需要重复提交；登记好后编号会发到这里。"


def _submitted_just_before(tracker: Tracker) -> str | None:
    """The answer to a repeated confirmation when the previous turn submitted the petition, else None."""
    from actions.submit import KEPT

    said: list[str] = []
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return None
            seen_user = True
        elif not seen_user:
            continue
        elif kind == "bot":
            said.append(str(event.get("text") or ""))
        elif kind == "action" and event.get("name") not in (None, "action_listen"):
            if event.get("name") != "action_submit_petition":
                return None
            case_no = tracker.get_slot("case_no")
            if case_no and any(case_no in line for line in said):
                return SUBMITTED_ALREADY.format(case_no=case_no)
            if KEPT in said:
                return KEPT_ALREADY
            return None  # cancelled, redirected or refused: an ordinary stray answer
    return None
