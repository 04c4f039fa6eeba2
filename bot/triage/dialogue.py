"""The chat's legal-channel consultation: free text first, then at most four short questions.

State is a plain dict (it lives in a Rasa slot between turns):
``{"text": str, "answers": {question_id: value}, "asked": [question_id, ...], "pending": id | None}``.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.triage.engine import triage
from bot.triage.model import Question, TriageResult

MAX_QUESTIONS = 4
UNKNOWN_WORDS = re.compile(r"不清楚|不知道|不确定|说不好|忘了|记不清|不晓得")
YES_WORDS = re.compile(r"^(是|对|有|嗯|没错|是的|对的|有的)")
NO_WORDS = re.compile(r"^(不是|没有|否|无|不|没)")


def start(text: str) -> dict[str, Any]:
    return {"text": text.strip(), "answers": {}, "asked": [], "pending": None}


def result_of(state: dict[str, Any], today: date) -> TriageResult:
    return triage(str(state.get("text") or ""), dict(state.get("answers") or {}), today)


def next_question(state: dict[str, Any], result: TriageResult) -> Question | None:
    """The first open question not asked yet, while fewer than four were asked."""
    asked = list(state.get("asked") or [])
    if len(asked) >= MAX_QUESTIONS:
        return None
    return next((q for q in result.questions if q.id not in asked), None)


def match_option(question: Question, text: str, payload_value: str | None) -> str | None:
    """The option value a reply chooses: a button payload, a label, 是/否 or 不清楚."""
    values = [v for v, _ in question.options]
    if payload_value in values:
        return payload_value
    reply = text.strip()
    if not reply:
        return None
    for value, label in question.options:
        if reply in (label, value) or (len(reply) >= 2 and reply in label):
            return value
    if UNKNOWN_WORDS.search(reply) and "unknown" in values:
        return "unknown"
    if NO_WORDS.search(reply) and "no" in values:
        return "no"
    if YES_WORDS.search(reply) and "yes" in values:
        return "yes"
    for value, label in question.options:
        if len(label) >= 2 and label in reply:
            return value
    return None


def answer(state: dict[str, Any], text: str, payload_value: str | None, today: date) -> dict[str, Any]:
    """Record a reply to the pending question; an unmatched longer reply adds to the story."""
    new = {**state, "answers": dict(state.get("answers") or {}), "asked": list(state.get("asked") or [])}
    pending = state.get("pending")
    question = next((q for q in result_of(state, today).questions if q.id == pending), None)
    value = match_option(question, text, payload_value) if question else None
    if question and value is not None:
        new["answers"][question.id] = value
    elif text.strip():
        new["text"] = f"{new.get('text', '')}\n{text.strip()}".strip()
    new["pending"] = None
    return new


def ask(state: dict[str, Any], question: Question) -> dict[str, Any]:
    return {**state, "pending": question.id, "asked": [*list(state.get("asked") or []), question.id]}


CHANNEL_QUESTION = re.compile(
    r"(去哪|找谁|找哪|哪个部门|哪个机关|哪里解决|哪里反映|哪里投诉|向哪|走什么|什么途径|什么程序|怎么办|怎么处理"
    r"|能不能|可不可以|是.{1,8}还是.{1,8}(呢|吗|？|\?)|该怎么)"
)


def looks_like_channel_question(text: str) -> bool:
    """A narrative that asks where to go, which NLU may have heard as a plain answer."""
    return len(text.strip()) >= 10 and bool(CHANNEL_QUESTION.search(text))


def urgent_advice(text: str, today: date) -> TriageResult | None:
    """The police advice for a message that reports a crime, whatever else it asks; else None.

    A citizen who writes "昨晚有人撬门偷了东西" outside any form is told to call 110 at once
    rather than offered the menu.
    """
    if len(text.strip()) < 3:  # "被偷了" is the shortest report worth reading
        return None
    result = triage(text, {}, today)
    return result if result.legal_channel == "police" else None
