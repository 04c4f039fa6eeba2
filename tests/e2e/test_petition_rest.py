"""A citizen files petitions through the REST channel of the real stack; staff read them back.

Rasa (trained model), the action server and the back-office run as real processes
(tests/rasa_fixtures.py). Each test is one conversation, as a citizen would type it.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

VALID_ID = "11010519491231002X"
CASE_NO = re.compile(r"XF\d{8}-\d{4}")


def new_sender() -> str:
    return f"citizen-{uuid.uuid4().hex[:10]}"


def chat(stack: Stack, sender: str, text: str) -> str:
    replies = stack.texts(sender, text)
    assert replies, f"no reply to {text!r}\n{stack.logs()}"
    return "\n".join(replies)


def slot(stack: Stack, sender: str, name: str) -> object:
    return stack.tracker(sender)["slots"].get(name)


def case_for(stack: Stack, reply: str) -> dict[str, object]:
    match = CASE_NO.search(reply)
    assert match, f"no case number in {reply!r}\n{stack.logs()}"
    response = stack.api("GET", f"/api/cases/{match.group(0)}", params={"reveal": "1"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_full_petition_with_correction_and_interruption(stack: Stack) -> None:
    sender = new_sender()
    last_year = datetime.now(ZoneInfo("Asia/Shanghai")).year - 1
    assert "同意" in chat(stack, sender, "我要投诉，公司拖欠我工资")
    assert "姓名" in chat(stack, sender, "同意")
    chat(stack, sender, "我叫王建国")
    chat(stack, sender, VALID_ID)
    chat(stack, sender, "13812345678")
    chat(stack, sender, "浙江省杭州市西湖区文三路8号")
    assert "单位" in chat(stack, sender, "与住址相同")
    # interruption: a policy question is answered, then the same question comes back
    answer = chat(stack, sender, "信访事项一般多长时间能办完？")
    assert "第三十四条" in answer and "单位" in answer
    chat(stack, sender, "杭州某某建筑公司")
    # correction mid-form in natural words
    corrected = chat(stack, sender, "电话写错了，应该是13912345678")
    assert "13912345678" in corrected
    chat(stack, sender, "去年三月")
    prompt = chat(stack, sender, "从去年三月开始公司就一直拖欠我们工资，一共三个月，老板一直说没钱")
    assert "劳动和社会保障" in prompt
    chat(stack, sender, "是的")
    chat(stack, sender, "要求补发拖欠的工资")
    chat(stack, sender, "三十多人")
    # 诉访分离: unpaid wages belong to labour arbitration; the citizen is told and chooses
    advice = chat(stack, sender, "没有")
    assert "劳动仲裁" in advice and "《劳动争议调解仲裁法》" in advice
    summary = chat(stack, sender, "仍然提交信访")
    assert "1. 信访类型" in summary and "13912345678" in summary
    # correction at the summary by number, then confirmation
    assert "电话" in chat(stack, sender, "改4")
    assert "13700001111" in chat(stack, sender, "13700001111")
    closing = chat(stack, sender, "确认提交")
    assert "编号" in closing and "前" in closing

    case = case_for(stack, closing)
    expected = {
        "status": "registered",
        "channel": "rest",
        "petition_type": "grievance",
        "petitioner_name": "王建国",
        "id_number": VALID_ID,
        "phone": "13700001111",
        "address": "浙江省杭州市西湖区文三路8号",
        "issue_region": "浙江省杭州市西湖区",
        "respondent": "杭州某某建筑公司",
        "occurred_on": f"{last_year}-03",
        "facts": "从去年三月开始公司就一直拖欠我们工资，一共三个月，老板一直说没钱",
        "category": "labor_social_security",
        "demand": "要求补发拖欠的工资",
        "people_count": 30,
        "prior_procedure": "none",
        "consent": True,
        "legal_channel": "labor_arbitration",
    }
    assert {k: case.get(k) for k in expected} == expected
    assert case["due_at"] and case["created_at"]
    # the whole chat is on the case, from the first message on (action calls carry older turns as text)
    said = [turn["text"] for turn in case["transcript"] if turn["role"] == "citizen"]
    assert said[:2] == ["我要投诉，公司拖欠我工资", "同意"] and said[-1] == "确认提交"
    assert any(turn["role"] == "assistant" and "姓名" in turn["text"] for turn in case["transcript"])
    listed = stack.api("GET", "/api/cases").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert case["case_no"] in [item["case_no"] for item in items]
    # the list masks identity data by default
    mine = next(item for item in items if item["case_no"] == case["case_no"])
    assert mine["id_number"] != VALID_ID and "*" in mine["id_number"]
    # the citizen can check progress in the same chat
    assert case["case_no"] in chat(stack, sender, "查询进度")


def test_four_fields_in_one_message_are_not_asked_again(stack: Stack) -> None:
    sender = new_sender()
    chat(stack, sender, "我想反映一个问题")
    chat(stack, sender, "同意")
    reply = chat(stack, sender, f"我叫李秀英，电话13912345678，身份证{VALID_ID}，住在浙江省杭州市西湖区文三路1号")
    assert "发生在哪里" in reply, reply
    slots = stack.tracker(sender)["slots"]
    assert slots["petitioner_name"] == "李秀英"
    assert slots["phone"] == "13912345678"
    assert slots["id_number"] == VALID_ID
    assert str(slots["address"]).startswith("浙江省杭州市西湖区")
    assert slots["requested_slot"] == "issue_region"


def test_invalid_id_three_times_offers_a_person(stack: Stack) -> None:
    sender = new_sender()
    chat(stack, sender, "我要投诉")
    chat(stack, sender, "同意")
    chat(stack, sender, "申诉求决")
    chat(stack, sender, "张三")
    for _ in range(3):
        replies = stack.send(sender, "110105194912310021")
        text = "\n".join(r.get("text", "") for r in replies)
        assert "身份证" in text
    buttons = [b["payload"] for r in replies for b in r.get("buttons") or []]
    assert "/request_human" in buttons
    assert slot(stack, sender, "id_number") is None


def test_cancel_confirms_and_stores_nothing(stack: Stack) -> None:
    sender = new_sender()
    before = stack.api("GET", "/api/cases").json()["total"]
    chat(stack, sender, "我要投诉")
    chat(stack, sender, "同意")
    assert "确定要取消" in chat(stack, sender, "算了，不办了")
    assert "不会保存" in chat(stack, sender, "确定取消")
    assert slot(stack, sender, "consent") is None
    assert stack.api("GET", "/api/cases").json()["total"] == before


def test_consent_refused_explains_and_stores_nothing(stack: Stack) -> None:
    sender = new_sender()
    before = stack.api("GET", "/api/cases").json()["total"]
    chat(stack, sender, f"我要举报村干部，我叫赵六，身份证{VALID_ID}")
    assert "身份" in chat(stack, sender, "不同意")
    assert "不会保存" in chat(stack, sender, "还是不同意")
    slots = stack.tracker(sender)["slots"]
    assert slots["id_number"] is None and slots["petitioner_name"] is None
    assert stack.api("GET", "/api/cases").json()["total"] == before


def test_traditional_characters_are_understood(stack: Stack) -> None:
    sender = new_sender()
    assert "同意" in chat(stack, sender, "我要舉報，村幹部貪污補償款")
    tracker = stack.tracker(sender)
    assert tracker["latest_message"]["intent"]["name"] == "start_petition"
    assert tracker["slots"]["petition_type"] == "accusation"


STRAY_STORY = "老板拖了我们半年的工资不给，我是在厂里做焊工的，今年三月辞职的"


def test_a_story_told_first_is_kept_whichever_button_the_citizen_presses(stack: Stack) -> None:
    # "登记信访事项": the story becomes the facts of the petition, not asked for again
    sender = new_sender()
    offer = chat(stack, sender, STRAY_STORY)
    assert "登记成信访事项" in offer
    chat(stack, sender, "/start_petition")
    assert slot(stack, sender, "facts") == STRAY_STORY
    # "该走哪条途径": the consultation reasons on the story (no "what kind of matter" question)
    sender = new_sender()
    chat(stack, sender, STRAY_STORY)
    reply = chat(stack, sender, "/ask_legal_channel")
    assert "您的问题主要属于哪一类" not in reply
    info = slot(stack, sender, "triage_info") or {}
    assert isinstance(info, dict) and info.get("text") == STRAY_STORY
