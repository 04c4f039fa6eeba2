"""``action_answer_faq``: a policy answer outside the petition form.

The answer is the FAQ topic the response selector chose (the same text as ``utter_faq``).
When the question told the citizen's own story on a topic where their own dates decide
(``bot.knowledge.general.offers_own_matter``), the answer ends with the offer to look at that
story: the consultation then starts from it (``actions._offers``).
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._offers import OWN_STORY_BUTTONS, OWN_STORY_OFFER
from actions._tracker import user_turn
from bot.knowledge import get_topic
from bot.knowledge.general import offers_own_matter, selected_topic


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic_id, _ = selected_topic(tracker.latest_message or {})
        try:
            topic = get_topic(topic_id or "")
        except KeyError:
            dispatcher.utter_message(response="utter_default")
            return []
        if offers_own_matter(user_turn(tracker).text, topic.id):
            dispatcher.utter_message(text=f"{topic.reply_text}\n\n{OWN_STORY_OFFER}", buttons=OWN_STORY_BUTTONS)
        else:
            dispatcher.utter_message(text=topic.reply_text)
        return []
