"""Answers given to the wrong question: kept, acknowledged, and the question asked again.

Found by trying the form as a new user: a story told at the consent question was dropped (the
form later asked for the facts again); a phone number sent when the ID number was asked was
stored silently under an error message about ID numbers; the same phone number sent at the
address question became the address.
"""
from __future__ import annotations

import pytest

from bot.intake.form import process_turn
from tests.unit.intake.test_form import TODAY, VALID_ID, open_form, state, texts, turn

STORY = "我们小区旁边那个工地天天晚上十一二点还在打桩，吵得孩子没法睡觉，跟工地说了也没用"


def test_a_story_at_the_consent_question_is_kept_as_the_facts() -> None:
    result = process_turn(state("consent"), turn(STORY, "inform", 0.6), TODAY)
    assert result.updates["facts"] == STORY
    assert "记下" in texts(result)
    assert "请回复“同意”" not in texts(result)
    assert result.next_slot == "consent"  # still asked, nothing is registered without it


def test_after_consent_the_kept_story_is_not_asked_for_again() -> None:
    kept = process_turn(state("consent"), turn(STORY), TODAY).updates
    result = process_turn(state("consent", **kept), turn("同意", "affirm"), TODAY)
    assert result.updates["consent"] is True
    assert result.next_slot != "facts"


def test_a_story_at_the_type_question_is_kept_and_sets_the_type() -> None:
    report = "我要举报村支书贪污扶贫款，他把全村的扶贫款都装进了自己腰包，大家都敢怒不敢言"
    result = process_turn(state("petition_type", consent=True), turn(report), TODAY)
    assert result.updates["facts"] == report
    assert result.updates["petition_type"] == "accusation"
    assert result.next_slot == "petitioner_name"


def test_a_story_that_names_no_type_is_kept_and_the_type_asked_again() -> None:
    result = process_turn(state("petition_type", consent=True), turn(STORY), TODAY)
    assert result.updates["facts"] == STORY
    assert result.next_slot == "petition_type"


@pytest.mark.parametrize("text", ["同", "我叫王芳，电话13800001111"])
def test_short_or_personal_replies_at_consent_are_not_taken_as_the_story(text: str) -> None:
    result = process_turn(state("consent"), turn(text), TODAY)
    assert "facts" not in result.updates


def test_a_story_does_not_replace_facts_already_given() -> None:
    result = process_turn(state("consent", facts="早先说过的经过，已经记下来了，有三十个字以上的内容在这里。"),
                          turn(STORY), TODAY)
    assert "facts" not in result.updates


def test_a_phone_number_at_the_id_question_is_kept_as_the_phone() -> None:
    result = process_turn(state("id_number", consent=True, petition_type="grievance", petitioner_name="林晓峰"),
                          turn("13912345678"), TODAY)
    assert result.updates["phone"] == "13912345678"
    assert "已记下您的联系电话" in texts(result)
    assert "18位" not in texts(result)  # no error about ID numbers for a phone number
    assert result.next_slot == "id_number"


@pytest.mark.parametrize("text", [VALID_ID, f"身份证号：{VALID_ID}", f"我的身份证是 {VALID_ID.lower()}"])
def test_an_id_number_at_the_type_question_is_kept(text: str) -> None:
    result = process_turn(state("petition_type", consent=True), turn(text), TODAY)
    assert result.updates["id_number"] == VALID_ID
    assert "已记下您的身份证号码" in texts(result)
    assert result.next_slot == "petition_type"


def test_the_asked_number_with_another_one_answers_the_question() -> None:
    result = process_turn(state("id_number", consent=True), turn(f"身份证{VALID_ID}，电话13800001111"), TODAY)
    assert result.updates["id_number"] == VALID_ID
    assert result.updates["phone"] == "13800001111"
    assert "已记下" not in texts(result)
    assert result.next_slot != "id_number"


@pytest.mark.parametrize("text", ["13912345678", "12345", "Room 5"])
def test_an_address_needs_chinese_words(text: str) -> None:
    result = process_turn(state("address", consent=True, phone="13912345678"), turn(text), TODAY)
    assert "address" not in result.updates
    assert "住址" in texts(result)
    assert result.next_slot == "address"


def test_after_a_request_for_staff_the_form_does_not_offer_it_again() -> None:
    waiting = state("petition_type", consent=True)
    waiting.failures = {"petition_type": 2}
    waiting.human_requested = True
    result = process_turn(waiting, turn("有人吗"), TODAY)
    assert "工作人员已经收到" in texts(result)
    assert "可以回复“转人工”" not in texts(result)
    assert all(not reply.buttons for reply in result.replies)

    waiting.human_requested = False
    assert "可以回复“转人工”" in texts(process_turn(waiting, turn("有人吗"), TODAY))


def test_a_short_complete_story_that_starts_the_form_is_the_facts() -> None:
    story = "我们村三十多户的土地被镇政府征收了，补偿款到现在没发"
    result = open_form(story)
    assert result.updates["facts"] == story
    assert result.updates["people_count"] == 30


@pytest.mark.parametrize("text", ["你好，我想登记一个信访事项，需要准备什么材料吗", "我想反映一下物业的问题"])
def test_a_question_or_a_topic_alone_is_not_the_facts(text: str) -> None:
    assert "facts" not in open_form(text).updates


def test_a_story_with_a_question_word_inside_is_still_the_facts() -> None:
    story = "村里不知道为什么把我家的地收回去了，也没有给任何说法和补偿"
    assert open_form(story).updates["facts"] == story


def test_a_suggestion_is_not_asked_when_it_happened() -> None:
    s = state("respondent", consent=True, petition_type="suggestion", petitioner_name="周建国", id_number=VALID_ID,
              phone="13501234567", address="北京市朝阳区望京街道", issue_region="北京市朝阳区")
    result = process_turn(s, turn("没有"), TODAY)
    assert result.updates["occurred_on"] == "2026-11"  # the month it is made
    assert result.next_slot == "facts"
    grievance = process_turn(state("respondent", consent=True, petition_type="grievance"), turn("没有"), TODAY)
    assert "occurred_on" not in grievance.updates


def test_after_failures_the_id_number_may_be_left_out() -> None:
    stuck = state("id_number", consent=True, petition_type="grievance", petitioner_name="周建国")
    stuck.failures = {"id_number": 2}
    offer = process_turn(stuck, turn("北京市朝阳区"), TODAY)
    assert "暂不提供" in texts(offer)
    assert [b.title for r in offer.replies for b in r.buttons] == ["暂不提供", "转人工"]

    skipped = process_turn(stuck, turn("暂不提供"), TODAY)
    assert skipped.updates["id_number"] == ""
    assert "核实身份" in texts(skipped)
    assert skipped.next_slot == "phone"  # not asked again


def test_the_summary_shows_a_left_out_id_number_as_not_filled() -> None:
    from bot.intake.summary import display_value

    assert display_value("id_number", "") == "（未填写）"


def test_leaving_out_the_id_number_is_not_taken_for_a_policy_question() -> None:
    stuck = state("id_number", consent=True, petition_type="grievance", petitioner_name="周建国")
    result = process_turn(stuck, turn("暂不提供", "faq", 0.9), TODAY)
    assert not result.reject and result.updates["id_number"] == ""
