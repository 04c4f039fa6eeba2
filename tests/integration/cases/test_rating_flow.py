"""The chat's satisfaction rating (``handle_rating``) against a real case store."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import sessionmaker

from bot.cases.queue import do_case_action
from bot.cases.rating_flow import NOTHING_TO_RATE, handle_rating
from bot.cases.service import PetitionSubmission, do_submit_petition, get_case
from bot.cases.workflow import Actor

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
LI = Actor("li", "staff")


def closed_case(factory: sessionmaker, sender: str = "u1", facts: str = "小区门口的路灯坏了三个月没人修。") -> str:
    sub = PetitionSubmission(
        petitioner_name="李四", facts=facts, demand="请尽快修好。", consent=True, channel="telegram",
        sender_id=sender, category="urban_management",
    )
    no = do_submit_petition(factory, sub, now=NOW).case_no
    do_case_action(factory, no, "not_accept", LI, {"reason": "已由街道处理", "legal_channel": "regulator_report"})
    do_case_action(factory, no, "close", LI)
    return no


def test_button_payload_rates_the_named_case(session_factory: sessionmaker) -> None:
    no = closed_case(session_factory)
    reply = handle_rating(session_factory, "telegram", "u1", "/rate_case",
                          [{"entity": "case_no", "value": no}, {"entity": "rating", "value": 5}])
    assert reply.rated == 5 and "感谢" in reply.text
    assert get_case(session_factory, no).satisfaction == 5
    again = handle_rating(session_factory, "telegram", "u1", "5分", [{"entity": "case_no", "value": no}])
    assert again.rated is None and "评价过" in again.text


def test_words_rate_the_latest_closed_case_and_a_bare_request_gets_buttons(session_factory: sessionmaker) -> None:
    no = closed_case(session_factory)
    ask = handle_rating(session_factory, "telegram", "u1", "我要评价")
    assert ask.case_no == no and len(ask.buttons) == 5 and no in ask.buttons[0]["payload"]
    reply = handle_rating(session_factory, "telegram", "u1", "不太满意")
    assert reply.rated == 2 and get_case(session_factory, no).satisfaction == 2
    assert handle_rating(session_factory, "telegram", "u1", "满意").text == NOTHING_TO_RATE


def test_nobody_rates_someone_elses_case(session_factory: sessionmaker) -> None:
    no = closed_case(session_factory)
    reply = handle_rating(session_factory, "telegram", "intruder", f"{no} 1分")
    assert reply.rated is None and "本人" in reply.text
    assert get_case(session_factory, no).satisfaction is None
    assert handle_rating(session_factory, "wechat", "u1", "5分").text == NOTHING_TO_RATE
