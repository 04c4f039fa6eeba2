"""The chat consultation: questions only for missing facts, at most four, answers by button or words."""
from __future__ import annotations

from datetime import date

import pytest

from bot.triage import dialogue
from bot.triage.model import Question

TODAY = date(2026, 11, 23)
YES_NO = Question("q", "？", (("yes", "是"), ("no", "否"), ("unknown", "不清楚")))


def test_a_complete_story_needs_no_question() -> None:
    state = dialogue.start("公司拖欠我三个月工资，我2026年10月离职了")
    result = dialogue.result_of(state, TODAY)
    assert result.legal_channel == "labor_arbitration"


def test_a_vague_story_asks_and_the_answer_is_used() -> None:
    state = dialogue.start("我有个事情想问问该找谁")
    first = dialogue.result_of(state, TODAY)
    question = dialogue.next_question(state, first)
    assert question is not None
    state = dialogue.ask(state, question)
    value = question.options[0][0]
    state = dialogue.answer(state, "", value, TODAY)
    assert state["answers"][question.id] == value
    assert state["pending"] is None
    assert question.id in state["asked"]


def test_never_more_than_four_questions() -> None:
    state = dialogue.start("说不清楚")
    for _ in range(6):
        question = dialogue.next_question(state, dialogue.result_of(state, TODAY))
        if question is None:
            break
        state = dialogue.answer(dialogue.ask(state, question), "不清楚", None, TODAY)
    assert len(state["asked"]) <= dialogue.MAX_QUESTIONS
    assert dialogue.next_question(state, dialogue.result_of(state, TODAY)) is None


def test_option_matching() -> None:
    assert dialogue.match_option(YES_NO, "", "no") == "no"
    assert dialogue.match_option(YES_NO, "是的", None) == "yes"
    assert dialogue.match_option(YES_NO, "没有", None) == "no"
    assert dialogue.match_option(YES_NO, "我也不清楚", None) == "unknown"
    assert dialogue.match_option(YES_NO, "今天天气好", None) is None


def test_an_unmatched_reply_adds_to_the_story() -> None:
    state = dialogue.ask(dialogue.start("被罚款了"), YES_NO)
    state = dialogue.answer(state, "是交警当场开的罚单，上周的事", None, TODAY)
    assert "交警" in state["text"]


def test_channel_questions_are_recognised_in_narratives() -> None:
    assert dialogue.looks_like_channel_question("公司拖欠我三个月工资，我上个月离职了，应该去哪里解决？")
    assert dialogue.looks_like_channel_question("被罚了款，是复议还是起诉呢？")
    assert not dialogue.looks_like_channel_question("我上个月已经离职了")
    assert not dialogue.looks_like_channel_question("去哪")


@pytest.mark.parametrize("text", ["昨晚有人撬了我家的门偷了东西", "刚才在街上被人抢了手机"])
def test_a_crime_gets_the_police_advice(text: str) -> None:
    result = dialogue.urgent_advice(text, date(2026, 11, 24))
    assert result is not None and result.legal_channel == "police" and "110" in result.where


@pytest.mark.parametrize("text", ["好的谢谢", "公司拖欠我三个月工资", "邻居的围墙占了我家地", "被"])
def test_no_police_advice_for_other_messages(text: str) -> None:
    assert dialogue.urgent_advice(text, date(2026, 11, 24)) is None
