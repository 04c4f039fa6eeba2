"""Which legal channel applies (诉访分离), asked over the REST channel of the real stack."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]


def consult(stack: Stack, story: str) -> tuple[str, dict[str, object]]:
    """Tell the story, answer every follow-up question with 不清楚, return the recommendation."""
    sender = f"consult-{uuid.uuid4().hex[:10]}"
    return until_recommendation(stack, sender, stack.send(sender, story))


def until_recommendation(stack: Stack, sender: str, replies: list[dict[str, Any]]) -> tuple[str, dict[str, object]]:
    """Answer every follow-up question with 不清楚; return the recommendation and the slots."""
    for _ in range(5):
        text = "\n".join(r.get("text") or "" for r in replies)
        if "建议您" in text or "依据" in text:
            return text, stack.tracker(sender)["slots"]
        buttons = [b for r in replies for b in r.get("buttons") or []]
        assert buttons, f"neither a recommendation nor a question: {text!r}\n{stack.logs()}"
        unknown = next((b for b in buttons if b["title"] == "不清楚"), buttons[-1])
        replies = stack.send(sender, unknown["payload"])
    raise AssertionError(f"no recommendation after the questions\n{stack.logs()}")


@pytest.mark.parametrize(
    ("story", "channel", "law"),
    [
        ("公司拖欠我三个月工资，我上个月已经离职了，应该去哪里解决？", "labor_arbitration", "劳动争议调解仲裁法"),
        ("我的官司法院已经立案了还在审理，我还能去信访吗？", "existing_procedure", "信访工作条例"),
    ],
)
def test_story_gets_channel_law_and_next_steps(stack: Stack, story: str, channel: str, law: str) -> None:
    text, slots = consult(stack, story)
    assert slots["legal_channel"] == channel, text
    assert law in text and "依据" in text
    assert "不构成" in text or "法律意见" in text  # information, not legal advice


def test_report_of_an_official_names_the_organ_and_the_law(stack: Stack) -> None:
    # Answered either as the FAQ on accusations or by the consultation: both must name
    # the discipline-inspection organs and cite the regulation.
    text, _ = consult(stack, "村支书贪污扶贫款，我想举报他，应该向哪里反映？")
    assert "纪检监察" in text and "第三十条" in text


def test_policy_question_gets_an_answer_with_the_article(stack: Stack) -> None:
    sender = f"faq-{uuid.uuid4().hex[:10]}"
    text = "\n".join(stack.texts(sender, "对信访处理意见不满意可以申请复查吗？多长时间内要提出？"))
    assert "复查" in text and "第三十五条" in text


def test_general_channel_question_gets_the_general_answer_and_the_offer(stack: Stack) -> None:
    # A general question ("where do such disputes go?") is answered from the FAQ with the law;
    # the citizen's own matter is one button away.
    sender = f"general-{uuid.uuid4().hex[:10]}"
    replies = stack.send(sender, "医疗纠纷该走什么途径")
    text = "\n".join(r.get("text") or "" for r in replies)
    assert "医疗纠纷预防和处理条例" in text and "依据" in text, text
    buttons = {b["title"]: b["payload"] for r in replies for b in r.get("buttons") or []}
    assert "帮我看看我的事" in buttons, replies
    assert stack.tracker(sender)["slots"]["legal_channel"] is None  # nothing was triaged

    follow = stack.send(sender, buttons["帮我看看我的事"])
    assert any(r.get("buttons") for r in follow), follow  # the consultation's first question


def test_own_story_in_a_policy_question_gets_the_answer_then_its_own_deadline(stack: Stack) -> None:
    sender = f"own-{uuid.uuid4().hex[:10]}"
    story = "区政府的房屋征收补偿决定我上周才拿到，给的钱太少了，能怎么办"
    replies = stack.send(sender, story)
    text = "\n".join(r.get("text") or "" for r in replies)
    buttons = [b for r in replies for b in r.get("buttons") or []]
    assert "帮我看看我的事" in [b["title"] for b in buttons], text
    # the consultation starts from the story: an administrative decision learned of last week
    text, slots = until_recommendation(stack, sender, stack.send(sender, "/ask_legal_channel"))
    assert slots["legal_channel"] == "administrative_review", text
    assert "截止日约为" in text and "行政复议法" in text


def test_a_crime_report_is_told_to_call_110(stack: Stack) -> None:
    text, slots = consult(stack, "我被电信诈骗了三万块钱")
    assert slots["legal_channel"] == "police", text
    assert "110" in text and "刑事诉讼法" in text
