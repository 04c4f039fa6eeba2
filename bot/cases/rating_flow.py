"""The chat side of the satisfaction rating: which case, which score, what to answer.

Called by ``action_rate_case``; works on the case store only (no Rasa), so it is tested
against a real database without the dialogue engine.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import sessionmaker

from bot.cases.citizen_view import find_case_no
from bot.cases.notifications import RATING_TITLES, rating_buttons
from bot.cases.queue import do_rate_case
from bot.cases.rating_text import parse_rating
from bot.cases.service import cases_of_sender
from bot.cases.status import CaseStatus
from bot.errors import PetitionError

NOTHING_TO_RATE = "您目前没有已办结、待评价的信访事项。事项办结后，我会在这里请您评价。"
ASK = "请您为信访事项 {case_no} 的办理情况打个分（1分很不满意，5分很满意）："
THANKS = {
    5: "感谢您的{score}分好评！您的认可是对我们工作的鼓励。",
    4: "感谢您的评价（{score}分）！我们会继续把工作做好。",
    3: "感谢您的评价（{score}分）。我们会认真改进，争取做得更好。",
    2: "感谢您的评价（{score}分）。很抱歉没能让您满意，您的意见会转给承办单位改进。",
    1: "感谢您的评价（{score}分）。很抱歉这次办理没能让您满意，您的意见会转给承办单位改进；"
    "如对处理意见不服，可以在收到意见之日起30日内请求复查。",
}


@dataclass(frozen=True)
class RatingReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    rated: int | None = None
    case_no: str | None = None


def _entity(entities: Iterable[Mapping[str, Any]], name: str) -> str | None:
    for entity in entities:
        if entity.get("entity") == name and entity.get("value") not in (None, ""):
            return str(entity["value"])
    return None


def _case_to_rate(session_factory: sessionmaker, channel: str, sender_id: str) -> str | None:
    """The citizen's most recent closed case that has no rating yet."""
    for case in cases_of_sender(session_factory, channel, sender_id):
        if case.status == CaseStatus.CLOSED.value and case.satisfaction is None:
            return str(case.case_no)
    return None


def handle_rating(
    session_factory: sessionmaker, channel: str, sender_id: str, text: str,
    entities: Iterable[Mapping[str, Any]] = (),
) -> RatingReply:
    """Store the rating the citizen gave (button or words) or ask for one."""
    entities = list(entities)
    case_no = _entity(entities, "case_no") or find_case_no(text)
    try:
        case_no = case_no or _case_to_rate(session_factory, channel, sender_id)
        if case_no is None:
            return RatingReply(NOTHING_TO_RATE)
        score = parse_rating(text, entities)
        if score is None:
            return RatingReply(ASK.format(case_no=case_no), rating_buttons(case_no), case_no=case_no)
        do_rate_case(session_factory, case_no, channel, sender_id, score)
    except PetitionError as exc:
        return RatingReply(exc.user_message, case_no=case_no)
    return RatingReply(THANKS[score].format(score=score), rated=score, case_no=case_no)


__all__ = ["RATING_TITLES", "RatingReply", "handle_rating"]
