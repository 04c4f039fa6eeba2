"""Legal-channel consultation (诉访分离): ``legal_channel_form`` and its final answer.

Outside a petition the citizen describes the problem, answers at most four short
questions with buttons, then gets the channel, the reason, the articles and the
deadline. Inside the petition form a question gets a one-shot answer and the form resumes.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import story_before_choice
from actions._tracker import today, user_turn
from bot.knowledge import get_topic
from bot.knowledge.general import faq_topic_for_channel_question
from bot.triage import dialogue
from bot.triage.render import render_chat

FORM = "legal_channel_form"
ENDING_INTENTS = frozenset({"cancel", "start_petition", "goodbye", "request_human"})
FOLLOW_UP = [
    {"title": "登记信访事项", "payload": "/start_petition"},
    {"title": "再问一个问题", "payload": "/ask_legal_channel"},
]
# After a general answer: look at the citizen's own matter next, or file it.
AFTER_GENERAL_ANSWER = [
    {"title": "帮我看看我的事", "payload": "/ask_legal_channel"},
    {"title": "登记信访事项", "payload": "/start_petition"},
]
OWN_MATTER_OFFER = "如果想让我看看您自己的事该走哪条途径，请点“帮我看看我的事”，再把经过告诉我。"


def _entity_value(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name:
            return str(entity.get("value"))
    return None


class ValidateLegalChannelForm(Action):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = user_turn(tracker)
        state = tracker.get_slot("triage_info") or {}
        day = today()
        if tracker.get_slot("requested_slot") is None or "pending" not in state:
            topic = faq_topic_for_channel_question(turn.text, tracker.latest_message or {})
            if topic is not None:  # a general question: answered from the FAQ, no questions asked
                return [
                    SlotSet("triage_info", {"faq_topic": topic}),
                    SlotSet("triage_answer", "done"),
                    SlotSet("requested_slot", None),
                ]
            state = dialogue.start(turn.text or story_before_choice(tracker))  # "该走哪条途径" after a story
        elif turn.intent in ENDING_INTENTS and turn.confidence >= 0.7:
            return [SlotSet("triage_info", state), SlotSet("requested_slot", None)]
        else:
            state = dialogue.answer(state, turn.text, _entity_value(tracker, "triage_answer"), day)
        question = dialogue.next_question(state, dialogue.result_of(state, day))
        if question is None:
            return [SlotSet("triage_info", state), SlotSet("triage_answer", "done"), SlotSet("requested_slot", None)]
        state = dialogue.ask(state, question)
        return [SlotSet("triage_info", state), SlotSet("triage_answer", None), SlotSet("requested_slot", "triage_answer")]


class ActionAskTriageAnswer(Action):
    """Asks the pending question with one button per option."""

    def name(self) -> str:
        return "action_ask_triage_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        state = tracker.get_slot("triage_info") or {}
        result = dialogue.result_of(state, today())
        question = next((q for q in result.questions if q.id == state.get("pending")), None)
        if question is None:
            dispatcher.utter_message(text="请您再多说一点情况，我帮您判断该走哪条途径。")
            return []
        buttons = [
            {"title": label, "payload": f'/inform{{"triage_answer":"{value}"}}'} for value, label in question.options
        ]
        dispatcher.utter_message(text=question.text, buttons=buttons)
        return []


class ActionLegalChannel(Action):
    """The recommendation: after the consultation form, or one-shot inside the petition form."""

    def name(self) -> str:
        return "action_legal_channel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        in_petition = (tracker.active_loop or {}).get("name") == "petition_form"
        state = tracker.get_slot("triage_info") or {}
        if not in_petition and state.get("faq_topic"):
            topic = get_topic(str(state["faq_topic"]))
            dispatcher.utter_message(text=f"{topic.reply_text}\n\n{OWN_MATTER_OFFER}", buttons=AFTER_GENERAL_ANSWER)
            return [SlotSet("triage_info", None), SlotSet("triage_answer", None)]
        if in_petition or "pending" not in state:
            text = user_turn(tracker).text
            if tracker.get_slot("facts"):
                text = f"{tracker.get_slot('facts')}\n{text}"
            state = dialogue.start(text)
        result = dialogue.result_of(state, today())
        if in_petition:
            dispatcher.utter_message(text=render_chat(result, with_question=False) + "\n\n我们接着登记。")
            return []
        dispatcher.utter_message(text=render_chat(result, with_question=False), buttons=FOLLOW_UP)
        return [
            SlotSet("legal_channel", result.legal_channel),
            SlotSet("legal_channel_alternatives", list(result.legal_channel_alternatives)),
            SlotSet("triage_info", None),
            SlotSet("triage_answer", None),
        ]
