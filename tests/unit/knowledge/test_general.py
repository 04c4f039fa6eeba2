"""Where a general policy question ends and the citizen's own matter begins."""
from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge.general import (
    MIN_CONFIDENCE,
    faq_topic_for_channel_question,
    is_general_question,
    offers_own_matter,
)


def parse(intent: str, key: str | None, confidence: float) -> dict[str, Any]:
    response = {"intent_response_key": key, "confidence": confidence} if key else {}
    return {"intent": {"name": intent, "confidence": 0.9}, "response_selector": {"faq": {"response": response}}}


@pytest.mark.parametrize(
    "text",
    [
        "举报干部违纪找纪委还是信访局",
        "医疗纠纷该走什么途径",
        "我想问一下对行政处罚不服应该复议还是直接起诉",
        "请问土地承包纠纷去哪里解决",
        "官员受贿我该向哪里举报",
    ],
)
def test_general_questions(text: str) -> None:
    assert is_general_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "我的官司法院已经立案了还在审理，我还能去信访吗？",
        "公司拖欠我三个月工资，应该去哪里解决？",
        "孩子在学校被老师体罚了，应该找教育局还是去法院",
        "去年被罚了款，不服该怎么办",
        "邻居占了地该找谁",
        "欠了2000元工钱找哪里",
        "我们村的承包地被收回了找哪里",
        "？",
    ],
)
def test_own_matters_are_not_general(text: str) -> None:
    assert not is_general_question(text)


def test_confident_general_channel_question_gets_the_faq_topic() -> None:
    text = "举报干部违纪找纪委还是信访局"
    assert faq_topic_for_channel_question(text, parse("ask_legal_channel", "faq/accusations_discipline", 0.95)) == (
        "accusations_discipline"
    )


@pytest.mark.parametrize(
    ("text", "data"),
    [
        # the selector is not sure enough
        ("举报干部违纪找纪委还是信访局", parse("ask_legal_channel", "faq/accusations_discipline", MIN_CONFIDENCE - 0.01)),
        # the citizen's own matter: the consultation reasons on its facts
        ("我的案子法院正在审，我还能去信访吗", parse("ask_legal_channel", "faq/matter_in_court", 0.99)),
        # other intents are never re-routed here
        ("举报干部违纪找纪委还是信访局", parse("start_petition", "faq/accusations_discipline", 0.99)),
        ("举报干部违纪找纪委还是信访局", parse("faq", "faq/accusations_discipline", 0.99)),
        # a button payload carries no question
        ("/ask_legal_channel", parse("ask_legal_channel", "faq/accusations_discipline", 0.99)),
        # no selector output at all
        ("举报干部违纪找纪委还是信访局", {"intent": {"name": "ask_legal_channel"}}),
    ],
)
def test_everything_else_stays_with_the_consultation(text: str, data: dict[str, Any]) -> None:
    assert faq_topic_for_channel_question(text, data) is None


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("区政府的房屋征收补偿决定我上周才拿到，给的钱太少了", "house_expropriation_compensation"),
        ("前年镇里给的信访处理意见我一直不服，还能要求复查吗", "review_request"),
        ("我在饭店干了两年，去年底被辞退，工资还欠着，仲裁还来得及吗", "labour_arbitration_limitation"),
    ],
)
def test_an_own_story_on_a_dated_topic_is_offered_the_consultation(text: str, topic: str) -> None:
    assert offers_own_matter(text, topic)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("对信访处理意见不满意可以申请复查吗？多长时间内要提出？", "review_request"),  # a general question
        ("我想问一下劳动仲裁的时效是多久", "labour_arbitration_limitation"),  # only the asking frame
        ("我家去年就开始信访了，信访要交钱吗", "petition_free"),  # a story, but nothing of it matters
        ("我的事", "civil_limitation"),  # too short to be a story
        ("/ask_legal_channel", "civil_limitation"),  # a button
    ],
)
def test_no_offer_for_general_questions_or_undated_topics(text: str, topic: str) -> None:
    assert not offers_own_matter(text, topic)
