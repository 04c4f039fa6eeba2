"""Policy FAQ with legal citations: the source of the FAQ training data.

``faq.yml`` holds every topic (answer in our own words, citations, training and held-out
phrases). ``load_faq()`` validates and returns the topics; ``python -m bot.knowledge.export``
writes the Rasa retrieval-intent data (``nlu_data/nlu/faq.yml``), the responses
(``nlu_data/responses/faq.yml``) and the held-out set (``bench/data/faq_heldout.yml``).
"""

from bot.knowledge.loader import (
    DEFAULT_FAQ_PATH,
    clear_cache,
    get_topic,
    load_faq,
    topic_for_intent,
)
from bot.knowledge.model import KNOWN_LAWS, Citation, FaqTopic

__all__ = [
    "DEFAULT_FAQ_PATH",
    "KNOWN_LAWS",
    "Citation",
    "FaqTopic",
    "clear_cache",
    "get_topic",
    "load_faq",
    "topic_for_intent",
]
