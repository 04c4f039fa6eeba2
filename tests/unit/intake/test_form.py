"""The petition form's turn logic, without Rasa."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.intake.form import CANCEL_CONFIRM, FORM_ORDER, FormState, UserTurn, process_turn
from bot.intake.summary import SUMMARY_FIELDS

TODAY = date(2026, 11, 23)
VALID_ID = "11010519491231002X"
FILLED: dict[str, Any] = {
    "consent": True,
    "petition_type": "grievance",
    "petitioner_name": "张三",
    "id_number": VALID_ID,
    "phone": "13812345678",
    "address": "浙江省杭州市西湖区文三路1号",
    "issue_region": "浙江省杭州市西湖区",
    "respondent": "杭州某某建筑公司",
    "occurred_on": "2026-03",
    "facts": "今年三月起公司拖欠我们三个月工资，多次讨要没有结果。",
    "category": "labor_social_security",
    "demand": "要求补发拖欠的工资",
    "people_count": 1,
    "prior_procedure": "none",
    "channel_choice": "petition",
    "legal_channel": "labor_arbitration",
}


def state(asked: str | None, **values: Any) -> FormState:
    return FormState(values={**{s: None for s in FORM_ORDER}, **values}, requested_slot=asked)


def turn(text: str, intent: str = "inform", confidence: float = 0.95, **entities: str) -> UserTurn:
    ents = tuple({"entity": k, "value": v} for k, v in entities.items())
    return UserTurn(text=text, intent=intent, confidence=confidence, entities=ents)


def texts(result: Any) -> str:
    return "\n".join(r.text for r in result.replies)


def test_activation_introduces_and_asks_consent_first() -> None:
    s = state(None)
    s.activating = True
    result = process_turn(s, turn("我要投诉", "start_petition"), TODAY)
    assert "登记" in texts(result)
    assert result.next_slot == "consent"


def test_activation_reads_four_fields_from_one_message() -> None:
    s = state(None)
    s.activating = True
    message = f"我叫张三，电话13812345678，身份证{VALID_ID}，住在浙江省杭州市西湖区文三路1号"
    result = process_turn(s, turn(message, "start_petition"), TODAY)
    assert result.updates["petitioner_name"] == "张三"
    assert result.updates["phone"] == "13812345678"
    assert result.updates["id_number"] == VALID_ID
    assert result.updates["address"].startswith("浙江省杭州市西湖区")
    assert "issue_region" not in result.updates
    assert result.next_slot == "consent"


def test_four_fields_in_one_answer_are_not_asked_again() -> None:
    s = state("petitioner_name", consent=True, petition_type="grievance")
    message = f"我叫张三，电话13812345678，身份证{VALID_ID}，住在浙江省杭州市西湖区文三路1号"
    result = process_turn(s, turn(message), TODAY)
    assert {"petitioner_name", "phone", "id_number", "address"} <= set(result.updates)
    assert result.next_slot == "issue_region"


def test_consent_refused_twice_ends_the_form() -> None:
    first = process_turn(state("consent"), turn("不同意", "deny"), TODAY)
    assert first.next_slot == "consent" and first.outcome is None
    assert "不会保存" in texts(first)
    again = state("consent")
    again.consent_refusals = first.consent_refusals
    second = process_turn(again, turn("还是不同意", "deny"), TODAY)
    assert second.outcome == "consent_refused"


def test_consent_given() -> None:
    result = process_turn(state("consent"), turn("同意", "affirm"), TODAY)
    assert result.updates["consent"] is True
    assert result.next_slot == "petition_type"


def test_invalid_id_three_times_offers_a_human() -> None:
    s = state("id_number", consent=True, petition_type="grievance", petitioner_name="张三")
    for attempt in range(1, 4):
        result = process_turn(s, turn("110105194912310021"), TODAY)
        assert result.next_slot == "id_number"
        assert "id_number" not in result.updates
        assert result.failures["id_number"] == attempt
        buttons = [b.payload for r in result.replies for b in r.buttons]
        assert ("/request_human" in buttons) == (attempt == 3)
        s.failures = result.failures


def test_valid_id_after_failures_resets_the_counter() -> None:
    s = state("id_number", consent=True)
    s.failures = {"id_number": 2}
    result = process_turn(s, turn(VALID_ID.lower()), TODAY)
    assert result.updates["id_number"] == VALID_ID
    assert "id_number" not in result.failures


def test_natural_correction_mid_form_changes_the_field_and_repeats_the_question() -> None:
    s = state("address", consent=True, petition_type="grievance", petitioner_name="张三",
              id_number=VALID_ID, phone="13812345678")
    result = process_turn(s, turn("电话写错了，应该是13912345678", "correct_info"), TODAY)
    assert result.updates["phone"] == "13912345678"
    assert "address" not in result.updates
    assert result.next_slot == "address"
    assert "13912345678" in texts(result)


def test_correction_without_value_clears_the_field_and_asks_it() -> None:
    s = state("respondent", **{k: v for k, v in FILLED.items() if k in FORM_ORDER[:7]})
    result = process_turn(s, turn("我名字写错了", "correct_info"), TODAY)
    assert result.updates["petitioner_name"] is None
    assert result.next_slot == "petitioner_name"


def test_summary_edit_by_number_asks_the_field_again() -> None:
    s = state("confirm", **FILLED)
    number = SUMMARY_FIELDS.index("phone") + 1
    result = process_turn(s, turn(f"改{number}"), TODAY)
    assert result.updates["phone"] is None
    assert result.next_slot == "phone"
    s2 = state("phone", **{**FILLED, "phone": None})
    answered = process_turn(s2, turn("13912345678"), TODAY)
    assert answered.updates["phone"] == "13912345678"
    assert answered.next_slot == "confirm"
    assert "13912345678" in answered.updates["petition_summary"]


def test_summary_edit_with_value_changes_it_directly() -> None:
    s = state("confirm", **FILLED)
    number = SUMMARY_FIELDS.index("demand") + 1
    result = process_turn(s, turn(f"改{number} 要求公司补发工资并赔偿"), TODAY)
    assert result.updates["demand"] == "要求公司补发工资并赔偿"
    assert result.next_slot == "confirm"
    assert "要求公司补发工资并赔偿" in result.updates["petition_summary"]


def test_natural_correction_at_summary_shows_new_value_and_reasks_confirmation() -> None:
    s = state("confirm", **FILLED)
    result = process_turn(s, turn("电话不对，应该是13912345678", "correct_info"), TODAY)
    assert result.updates["phone"] == "13912345678"
    assert result.updates["confirm"] is None
    assert result.next_slot == "confirm"
    assert "13912345678" in result.updates["petition_summary"]


def test_confirmation_completes_the_form() -> None:
    result = process_turn(state("confirm", **FILLED), turn("确认提交", "affirm"), TODAY)
    assert result.outcome == "confirmed"
    assert result.updates["confirm"] is True


@pytest.mark.parametrize("intent", ["faq", "bot_challenge", "help", "ask_legal_channel"])
def test_questions_mid_form_are_interruptions(intent: str) -> None:
    result = process_turn(state("phone", consent=True), turn("信访事项多久能答复？", intent, 0.9), TODAY)
    assert result.reject


def test_a_long_narrative_is_facts_even_if_nlu_hesitates() -> None:
    story = "去年三月开始公司就一直拖欠我们十几个工人的工资，老板一直躲着不见人，我们找了劳动监察也没有结果"
    result = process_turn(state("facts", **{k: FILLED[k] for k in FORM_ORDER[:9]}),
                          turn(story, "ask_legal_channel", 0.6), TODAY)
    assert not result.reject
    assert result.updates["facts"] == story
    assert result.next_slot == "category"
    assert result.updates["has_category_suggestion"] is True
    assert "劳动和社会保障" in result.updates["category_prompt"]


def test_category_suggestion_accepted() -> None:
    s = state("category", **{k: FILLED[k] for k in FORM_ORDER[:10]})
    s.suggested_category = "labor_social_security"
    result = process_turn(s, turn("是的", "affirm"), TODAY)
    assert result.updates["category"] == "labor_social_security"
    assert result.next_slot == "demand"


def test_category_suggestion_rejected_lists_all() -> None:
    s = state("category", **{k: FILLED[k] for k in FORM_ORDER[:10]})
    s.suggested_category = "labor_social_security"
    result = process_turn(s, turn("不是", "deny"), TODAY)
    assert "category" not in result.updates
    assert result.next_slot == "category"
    assert result.updates["has_category_suggestion"] is False


def test_category_button_payload() -> None:
    s = state("category", **{k: FILLED[k] for k in FORM_ORDER[:10]})
    result = process_turn(s, turn("", "inform", category="environment"), TODAY)
    assert result.updates["category"] == "environment"


def test_issue_region_same_as_address() -> None:
    s = state("issue_region", **{k: FILLED[k] for k in FORM_ORDER[:6]})
    result = process_turn(s, turn("与住址相同"), TODAY)
    assert result.updates["issue_region"] == "浙江省杭州市西湖区"


def test_cancel_asks_then_discards() -> None:
    asked = process_turn(state("phone", consent=True), turn("不办了", "cancel", 0.9), TODAY)
    assert asked.next_slot == CANCEL_CONFIRM
    done = process_turn(state(CANCEL_CONFIRM, consent=True), turn("确定", "affirm"), TODAY)
    assert done.outcome == "cancelled"


def test_cancel_declined_resumes_the_same_question() -> None:
    result = process_turn(state(CANCEL_CONFIRM, consent=True, petition_type="suggestion"),
                          turn("继续填写", "deny"), TODAY)
    assert result.outcome is None
    assert result.updates[CANCEL_CONFIRM] is None
    assert result.next_slot == "petitioner_name"


def test_people_count_and_dates_use_the_parsers() -> None:
    s = state("people_count", **{k: FILLED[k] for k in FORM_ORDER[:12]})
    assert process_turn(s, turn("三十多户"), TODAY).updates["people_count"] == 30
    s = state("occurred_on", **{k: FILLED[k] for k in FORM_ORDER[:8]})
    assert process_turn(s, turn("去年三月"), TODAY).updates["occurred_on"] == "2025-03"


def test_prior_procedure_from_words_and_buttons() -> None:
    s = state("prior_procedure", **{k: FILLED[k] for k in FORM_ORDER[:13]})
    assert process_turn(s, turn("已经申请劳动仲裁了"), TODAY).updates["prior_procedure"] == "arbitration"
    assert process_turn(s, turn("没有", "deny"), TODAY).updates["prior_procedure"] == "none"
    payload = turn("", "inform", prior_procedure="litigation")
    assert process_turn(s, payload, TODAY).updates["prior_procedure"] == "litigation"
    last = process_turn(s, turn("没有"), TODAY)
    # unpaid wages belong to labour arbitration: the citizen is told before submitting
    assert last.next_slot == "channel_choice"
    assert last.updates["legal_channel"] == "labor_arbitration"
    assert "劳动" in last.updates["channel_prompt"]
    assert last.updates["triage_info"]["rule_id"]


def test_citizen_may_still_file_after_the_routing_advice() -> None:
    s = state("channel_choice", **FILLED)
    result = process_turn(s, turn("仍然提交", "affirm"), TODAY)
    assert result.updates["channel_choice"] == "petition"
    assert result.next_slot == "confirm" and "petition_summary" in result.updates


def test_citizen_may_take_the_other_channel_instead() -> None:
    s = state("channel_choice", **FILLED)
    assert process_turn(s, turn("不提交了", "deny"), TODAY).outcome == "redirected"


def test_a_suggestion_needs_no_routing_question() -> None:
    values = {**FILLED, "petition_type": "suggestion", "facts": "建议在小区门口增设一个公交站点，方便老人出行。",
              "demand": "增设公交站", "category": "transport"}
    s = state("prior_procedure", **{k: v for k, v in values.items() if k != "prior_procedure"})
    result = process_turn(s, turn("没有"), TODAY)
    assert result.updates["channel_choice"] == "petition"
    assert result.next_slot == "confirm"


def test_changing_the_facts_at_the_summary_checks_the_channel_again() -> None:
    s = state("confirm", **FILLED)
    number = SUMMARY_FIELDS.index("facts") + 1
    result = process_turn(s, turn(f"改{number} 建议在小区门口增设一个公交站点，方便老人出行"), TODAY)
    # a suggestion is a 信访 matter proper: the advice changes, no question is needed
    assert result.updates["legal_channel"] == "petition"
    assert result.updates["channel_choice"] == "petition"
    assert result.next_slot == "confirm"


def test_a_small_edit_keeps_the_routing_choice() -> None:
    s = state("confirm", **FILLED)
    result = process_turn(s, turn("改11 要求公司补发工资并赔偿"), TODAY)
    assert "channel_choice" not in result.updates
    assert result.next_slot == "confirm"


def test_a_closed_answer_is_not_taken_for_a_policy_question() -> None:
    s = state("channel_choice", **FILLED)
    result = process_turn(s, turn("仍然提交信访", "faq", 0.99), TODAY)
    assert not result.reject
    assert result.updates["channel_choice"] == "petition"
    declined = process_turn(s, turn("先走建议的途径，不提交了", "faq", 0.9), TODAY)
    assert declined.outcome == "redirected"


def test_form_order_matches_the_domain() -> None:
    from pathlib import Path

    import yaml

    domain = yaml.safe_load((Path(__file__).resolve().parents[3] / "domain.yml").read_text(encoding="utf-8"))
    assert list(FORM_ORDER) == domain["forms"]["petition_form"]["required_slots"]


def test_routing_advice_asks_no_question_the_form_cannot_take() -> None:
    s = state("prior_procedure", **{k: v for k, v in FILLED.items() if k not in ("prior_procedure", "channel_choice")})
    result = process_turn(s, turn("没有"), TODAY)
    assert "请再告诉我" not in result.updates["channel_prompt"]


def test_a_narrative_answer_is_facts_even_when_nlu_is_sure_of_something_else() -> None:
    story = "从去年三月开始公司就一直拖欠我们工资，一共三个月，老板一直说没钱"
    s = state("facts", **{k: FILLED[k] for k in FORM_ORDER[:9]})
    result = process_turn(s, turn(story, "faq", 0.95), TODAY)
    assert not result.reject
    assert result.updates["facts"] == story


def test_starting_with_a_where_question_answers_it_first() -> None:
    s = state(None)
    s.activating = True
    result = process_turn(s, turn("村支书贪污扶贫款，我想举报他，应该向哪里反映？", "start_petition"), TODAY)
    said = texts(result)
    assert "纪检监察" in said and "第三十条" in said
    assert result.next_slot == "consent"


@pytest.mark.parametrize(("asked", "text"), [("issue_region", "与住址相同"), ("respondent", "没有具体对象")])
def test_a_question_s_own_button_is_never_an_interruption(asked: str, text: str) -> None:
    s = state(asked, **{k: FILLED[k] for k in FORM_ORDER[:6]})
    result = process_turn(s, turn(text, "faq", 1.0), TODAY)
    assert not result.reject and asked in result.updates


def test_a_wrong_id_among_other_fields_is_explained_and_the_rest_kept() -> None:
    s = state("petitioner_name", petition_type="grievance", consent=True)
    bad_id = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    message = f"我叫王建华，电话13912345678，身份证{bad_id}，住浙江省杭州市西湖区文三路1号"
    result = process_turn(s, turn(message), TODAY)
    assert result.updates["petitioner_name"] == "王建华"
    assert result.updates["phone"] == "13912345678"
    assert "文三路" in result.updates["address"]
    assert "id_number" not in result.updates
    assert "校验位对不上" in texts(result)
    assert result.next_slot == "id_number"


def test_a_message_is_parsed_once_per_turn_and_without_a_category_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.intake.form as form
    from bot.intake.parse import parse_free_text

    calls: list[tuple[str, bool]] = []

    def counting(text: str, today: date, *, with_category: bool = True) -> dict[str, object]:
        calls.append((text, with_category))
        return parse_free_text(text, today, with_category=with_category)

    monkeypatch.setattr(form, "parse_free_text", counting)
    form._form_fields.cache_clear()
    message = "我叫李四，电话13912345678，公司拖欠工资三个月"
    result = process_turn(state("petitioner_name", consent=True), turn(message), TODAY)
    assert result.updates["petitioner_name"] == "李四" and result.updates["phone"] == "13912345678"
    assert "category" not in result.updates  # suggested and confirmed later, never assumed
    assert calls == [(message, False)]
    form._form_fields.cache_clear()


def test_the_parse_without_category_reads_the_same_fields() -> None:
    from bot.intake.parse import parse_free_text

    story = "我叫王建国，身份证11010519491231002X，住在浙江省杭州市西湖区文三路1号，去年三月起公司拖欠工资，要求补发"
    full = parse_free_text(story, TODAY)
    light = parse_free_text(story, TODAY, with_category=False)
    assert "category" in full and "category" not in light
    assert light == {k: v for k, v in full.items() if k != "category"}


def open_form(text: str) -> Any:
    """The turn result of the message that starts the form."""
    s = state(None)
    s.activating = True
    return process_turn(s, turn(text, "start_petition"), TODAY)


def test_a_narrative_opening_with_a_date_is_the_facts_and_the_date_is_kept() -> None:
    story = "物业从今年五月开始每月多收我们两百元停车费，问了也不给任何说法，整栋楼都有意见"
    result = open_form(story)
    assert result.updates["facts"] == story
    assert "occurred_on" in result.updates


def test_an_opening_with_personal_details_is_not_the_facts() -> None:
    s = state(None)
    s.activating = True
    message = "我叫张三，电话13812345678，我想反映一下我们村里道路的问题，请帮我登记一下"
    result = process_turn(s, turn(message, "start_petition"), TODAY)
    assert "facts" not in result.updates and result.updates["petitioner_name"] == "张三"
