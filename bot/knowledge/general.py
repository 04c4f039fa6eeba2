"""General policy questions that the NLU filed under ``ask_legal_channel``.

The line between "what does the law say about X" (the FAQ) and "where does *my* matter go"
(the legal-channel consultation) is drawn here, once, for the dialogue and the benchmark alike:

- a message that tells the citizen's own story (first person beyond the asking phrase, family
  members, amounts, dates) goes to the consultation, which reasons on those facts;
- a general question ("举报干部找哪里", "医疗纠纷走什么途径") for which the FAQ selector is
  confident gets that FAQ answer, with the offer to look at the citizen's own matter next;
- and the other way round: a question the NLU filed under ``faq`` that tells the citizen's own
  story, on a topic where their own dates decide (limitation periods, 复查 / 复核, review and
  litigation), gets the FAQ answer and the offer to look at that story (``offers_own_matter``).

Pure functions: no Rasa, no I/O.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.knowledge.model import RETRIEVAL_INTENT

#: The NLU intent whose general questions may be answered from the FAQ.
CHANNEL_INTENT = "ask_legal_channel"
#: Selector confidence from which its topic is trusted for a question the NLU did not call
#: ``faq``. Chosen on the ``ask_legal_channel`` *training* phrases (the selector never trains on
#: them): from 0.6 up the selected topic fits 28 of the 29 general questions among them; below
#: 0.6 wrong topics become common (e.g. 物业乱收费 → petition_free).
MIN_CONFIDENCE = 0.6

# Phrases that only frame the question; a 我 inside them is not a story.
_ASKING_FRAME = re.compile(
    r"我想问一?下?|请问|问一下|想问|我想咨询|我想了解|我想知道|我想请教|咨询一下|我(?:应该|应当|该|能|可以|要|想)?(?:向|去|找|到)"
    r"|我(?:应该|应当|该|能|可以|要)"
)
# Marks of the citizen's own matter: first person, family, amounts, dates and times.
_STORY = re.compile(
    r"[我俺咱]|本人|家里|老人|孩子|儿子|女儿|丈夫|妻子|老公|老婆|爱人|父亲|母亲|爸|妈|舅|姑|姨|叔|伯"
    r"|[哥姐弟妹]|邻居|\d|[一二三四五六七八九十两几半]+(?:个月|年|天|周|万|千|百|块|元|次)"
    r"|去年|今年|前年|上个?月|这个月|上周|前天|昨天|今天|最近|刚才"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")

#: FAQ topics whose rule depends on the citizen's own dates and facts: the consultation can add
#: their channel and their deadline to the general answer.
OWN_MATTER_TOPICS = frozenset({
    "review_request", "recheck_request", "no_reacceptance_after_recheck", "acceptance_refused",
    "matter_in_court", "retrial_effective_judgment", "petition_reply_not_suable", "civil_limitation",
    "labour_arbitration_limitation", "labour_arbitration_first", "labour_inspection",
    "work_injury_recognition", "social_insurance_dispute", "admin_review_deadline",
    "admin_review_prerequisite", "admin_litigation_deadline", "litigation_after_review",
    "rural_land_arbitration", "collective_land_expropriation", "house_expropriation_compensation",
    "consumer_complaint", "medical_dispute", "education_complaint", "peoples_mediation",
})
#: Fewest Chinese characters of a message that counts as a story
MIN_STORY_HAN = 8


def is_general_question(text: str) -> bool:
    """True when the message asks about the law in general rather than telling a story."""
    stripped = _ASKING_FRAME.sub("", text.strip())
    return len(_HAN.findall(stripped)) >= 2 and not _STORY.search(stripped)


def selected_topic(parse: Mapping[str, Any]) -> tuple[str | None, float]:
    """The FAQ topic id and confidence the response selector chose for a parsed message."""
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    response = selector.get("response") or {}
    key = str(response.get("intent_response_key") or "")
    prefix = f"{RETRIEVAL_INTENT}/"
    if not key.startswith(prefix):
        return None, 0.0
    return key[len(prefix):], float(response.get("confidence") or 0.0)


def faq_topic_for_channel_question(text: str, parse: Mapping[str, Any]) -> str | None:
    """The FAQ topic to answer a general ``ask_legal_channel`` question with, else ``None``.

    ``parse`` is Rasa's parse data of the message (``intent``, ``response_selector``).
    """
    intent = str((parse.get("intent") or {}).get("name") or "")
    if intent != CHANNEL_INTENT or not text.strip() or text.startswith("/"):
        return None
    topic, confidence = selected_topic(parse)
    if topic is None or confidence < MIN_CONFIDENCE or not is_general_question(text):
        return None
    return topic


def offers_own_matter(text: str, topic: str | None) -> bool:
    """True when an FAQ question tells the citizen's own story on a topic of ``OWN_MATTER_TOPICS``."""
    if topic not in OWN_MATTER_TOPICS or text.startswith("/"):
        return False
    stripped = _ASKING_FRAME.sub("", text.strip())
    return len(_HAN.findall(stripped)) >= MIN_STORY_HAN and bool(_STORY.search(stripped))
