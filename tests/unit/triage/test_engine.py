"""triage(): answers over text, follow-up questions, "不清楚", errors, the API shape."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidField, PetitionError
from bot.triage import CHANNELS, TriageResult, evaluate, extract_facts, triage
from bot.triage.facts import TriageFacts
from bot.triage.model import TriageTableError, load_table, parse_table
from bot.triage.questions import MAX_QUESTIONS, QUESTIONS

TODAY = date(2026, 11, 23)
CONTRACT_KEYS = {
    "legal_channel", "legal_channel_alternatives", "questions", "explanation", "citations", "deadline",
    "rule_id", "table_version", "where", "disclaimer",
}


def qids(result: TriageResult) -> list[str]:
    return [q.id for q in result.questions]


def test_to_dict_matches_the_contract() -> None:
    body = triage("两周前交警罚了我200元", None, TODAY).to_dict()
    assert set(body) == CONTRACT_KEYS
    assert body["legal_channel"] == "administrative_review"
    assert body["legal_channel_alternatives"] == ["administrative_litigation"]
    assert {"label", "due_date", "days_left", "warning"} <= set(body["deadline"])
    assert all(set(c) == {"law", "article"} for c in body["citations"])
    for q in body["questions"]:
        assert set(q) == {"id", "text", "options"}
        assert {"value": "unknown", "label": "不清楚"} in q["options"]
    assert body["table_version"] == "2026-11-24.2"
    assert "法律意见" in body["disclaimer"]


def test_result_is_frozen() -> None:
    result = triage("公司欠我工资", None, TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.legal_channel = "police"  # type: ignore[misc]


def test_evaluate_is_pure() -> None:
    facts = TriageFacts(admin_act=True, known_date=date(2026, 11, 1))
    assert evaluate(facts, TODAY) == evaluate(facts, TODAY)


def test_today_defaults_to_the_real_date() -> None:
    assert triage("公司欠我工资").legal_channel == "labor_arbitration"


# --- answers override text


def test_answer_overrides_text_dispute() -> None:
    text = "邻居家的狗把我咬了"
    assert triage(text, None, TODAY).legal_channel == "civil_litigation"
    assert triage(text, {"arbitration_agreement": "yes"}, TODAY).legal_channel == "commercial_arbitration"
    assert triage(text, {"dispute": "crime"}, TODAY).legal_channel == "police"


def test_answer_overrides_text_date() -> None:
    text = "两周前交警罚了我200元"
    result = triage(text, {"known_date": "2026-07-01"}, TODAY)
    assert result.rule_id == "R09_admin_within_6m"
    assert result.deadline["due_date"] == "2027-01-01"


def test_answer_turns_off_a_fact_read_from_text() -> None:
    text = "我已经申请了劳动仲裁，公司欠我工资"
    assert triage(text, None, TODAY).legal_channel == "existing_procedure"
    assert triage(text, {"prior_procedure": "none"}, TODAY).legal_channel == "labor_arbitration"


@pytest.mark.parametrize("yes", ["yes", "是", "是的", True, "YES", "有"])
def test_yes_answers(yes: object) -> None:
    result = triage("交警罚了我款", {"review_mandatory": yes, "known_date": "2026-11-20"}, TODAY)
    assert result.rule_id == "R07_review_mandatory"


@pytest.mark.parametrize("no", ["no", "否", "没有", False, "不是"])
def test_no_answers(no: object) -> None:
    result = triage("交警罚了我款", {"review_mandatory": no, "known_date": "2026-11-20"}, TODAY)
    assert result.rule_id == "R08_admin_within_60d"


@pytest.mark.parametrize("kind", ["on_spot", "tax", "info_disclosure", "natural_resource"])
def test_review_mandatory_kinds(kind: str) -> None:
    result = triage("我对一个处罚决定不服", {"review_mandatory": kind, "known_date": "三天前"}, TODAY)
    assert result.legal_channel == "administrative_review"
    assert result.rule_id == "R07_review_mandatory"


def test_prior_procedure_codes_match_the_petition_slot() -> None:
    text = "朋友借了我五万块钱不还"
    assert triage(text, {"prior_procedure": "litigation"}, TODAY).legal_channel == "existing_procedure"
    assert triage(text, {"prior_procedure": "arbitration"}, TODAY).legal_channel == "existing_procedure"
    assert triage(text, {"prior_procedure": "effective_judgment"}, TODAY).legal_channel == "retrial"
    assert triage(text, {"prior_procedure": "petition_reply"}, TODAY).legal_channel == "civil_litigation"
    assert triage("我反映的问题", {"prior_procedure": "petition_reply"}, TODAY).legal_channel == "petition_review"


def test_employment_end_answer_moves_the_wage_deadline() -> None:
    text = "公司一直拖欠我工资"
    result = triage(text, {"employment_end": "2026-06-30", "known_date": "2025-12-01"}, TODAY)
    assert result.rule_id == "R13_labour"
    assert result.deadline["due_date"] == "2027-06-30"
    still = triage(text, {"employment_ended": "否"}, TODAY)
    assert still.rule_id == "R13_wages_in_employment"


def test_unknown_answer_keys_are_ignored() -> None:
    assert triage("公司欠我工资", {"phone": "13800000000"}, TODAY).legal_channel == "labor_arbitration"


def test_bad_answer_values_raise_invalid_field() -> None:
    with pytest.raises(InvalidField) as err:
        triage("交警罚款", {"known_date": "很久很久以前"}, TODAY)
    assert err.value.field == "known_date" and err.value.http_status == 422
    with pytest.raises(InvalidField):
        triage("交警罚款", {"dispute": "astrology"}, TODAY)
    with pytest.raises(InvalidField):
        triage("交警罚款", {"has_review_decision": "maybe"}, TODAY)
    with pytest.raises(InvalidField):
        triage("交警罚款", {"prior_procedure": "appeal"}, TODAY)
    with pytest.raises(InvalidField):
        triage(123, None, TODAY)  # type: ignore[arg-type]


def test_empty_text_is_the_catch_all_with_questions() -> None:
    result = triage("", None, TODAY)
    assert result.legal_channel == "petition" and result.rule_id == "R22_catch_all"
    assert qids(result)[0] == "dispute"
    assert triage(None, None, TODAY).rule_id == "R22_catch_all"  # type: ignore[arg-type]


# --- questions


def test_questions_only_for_missing_facts_and_they_disappear_when_answered() -> None:
    text = "交警罚了我200块钱，我觉得冤枉"
    first = triage(text, None, TODAY)
    assert "known_date" in qids(first) and "review_mandatory" in qids(first)
    assert "dispute" not in qids(first)  # known from the text
    second = triage(text, {"known_date": "2026-11-10", "review_mandatory": "none"}, TODAY)
    assert "known_date" not in qids(second) and "review_mandatory" not in qids(second)
    third = triage(text, {"known_date": "2026-11-10", "review_mandatory": "none", "prior_procedure": "none",
                          "has_review_decision": "no", "real_property": "no"}, TODAY)
    assert third.questions == []
    assert third.rule_id == "R08_admin_within_60d"


def test_unknown_answer_is_not_asked_again_and_counts_as_unknown() -> None:
    text = "交警罚了我200块钱"
    result = triage(text, {"review_mandatory": "不清楚", "known_date": "unknown"}, TODAY)
    assert "review_mandatory" not in qids(result) and "known_date" not in qids(result)
    assert result.rule_id == "R08_admin_within_60d"  # unknown date: the 60-day route is kept open
    assert result.deadline["due_date"] is None


def test_unknown_dispute_is_not_asked_again() -> None:
    result = triage("", {"dispute": "不清楚"}, TODAY)
    assert "dispute" not in qids(result)
    assert result.legal_channel == "petition"


def test_at_most_four_questions_with_unknown_option() -> None:
    result = triage("", None, TODAY)
    assert 0 < len(result.questions) <= MAX_QUESTIONS
    for q in result.questions:
        assert ("unknown", "不清楚") in q.options
        assert len(q.text) <= 40


def test_no_questions_that_would_not_change_anything() -> None:
    # crime: nothing else matters
    assert triage("有人正在抢劫", None, TODAY).questions == []
    # labour with a date: employment question only while wages are in play
    result = triage("上个月公司把我辞退了，没给经济补偿", None, TODAY)
    assert "review_mandatory" not in qids(result) and "employment_ended" not in qids(result)


def test_wage_question_asked_when_it_changes_the_deadline_rule() -> None:
    result = triage("公司拖欠我三个月工资", None, TODAY)
    assert "employment_ended" in qids(result)
    assert "employment_ended" not in qids(triage("公司拖欠我三个月工资", {"employment_ended": "是"}, TODAY))


def test_every_question_offers_unknown() -> None:
    for spec in QUESTIONS:
        assert spec.question.options[-1] == ("unknown", "不清楚")


# --- fact reading details


def test_negation_in_text() -> None:
    facts = extract_facts("合同里没有约定仲裁，对方欠我货款不还", None, TODAY)
    assert facts.arbitration_agreement is False
    facts = extract_facts("我还没有起诉，想先问问", None, TODAY)
    assert facts.procedure_pending == "none"


def test_petition_reply_uses_the_latest_date() -> None:
    facts = extract_facts("2019年的拆迁问题，2026年11月10日收到信访答复意见，我不满意", None, TODAY)
    assert facts.petition_reply_received is True
    assert facts.known_date == date(2026, 11, 10)
    assert facts.admin_act is None  # the story is about the reply, not a fresh act


def test_land_expropriation_is_administrative_not_rural_arbitration() -> None:
    result = triage("县政府上个月征收了我们村的集体土地，补偿太低", None, TODAY)
    assert result.legal_channel in ("administrative_review", "administrative_litigation")


# --- robustness


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200), st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_any_text_gives_a_valid_result(text: str, today: date) -> None:
    result = triage(text, None, today)
    assert result.legal_channel in CHANNELS
    assert len(result.questions) <= MAX_QUESTIONS
    assert result.citations


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="公司工资交警罚款邻居离婚医院信访答复上个月三年前已经起诉判决贪污建议不没有", max_size=60))
def test_chinese_noise_gives_a_valid_result(text: str) -> None:
    result = triage(text, None, TODAY)
    assert result.legal_channel in CHANNELS
    assert result.to_dict()["legal_channel"] == result.legal_channel


# --- the table itself


def _minimal(**rule: object) -> dict:
    base = {
        "id": "X", "when": {}, "legal_channel": "petition", "explanation": "说明",
        "citations": [{"law": "信访工作条例", "article": "第三十一条"}],
        "deadline": {"kind": "none", "label": "无"},
    }
    base.update(rule)
    return {"version": "t", "rules": [base]}


def test_table_loads_once_and_is_valid() -> None:
    assert load_table() is load_table()
    assert load_table().rules[-1].when == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"legal_channel": "go_home"},
        {"alternatives": ["nowhere"]},
        {"citations": []},
        {"deadline": {"kind": "weeks", "amount": 2, "label": "x"}},
        {"deadline": {"kind": "days", "label": "x"}},
        {"when": {"colour": "red"}},
        {"when": {"since_known": {"lte": "sixty days"}}},
        {"when": {"dispute": "astrology"}},
        {"when": {"admin_act": True}},  # last rule must be a catch-all
        {"explanation": ""},
    ],
)
def test_bad_tables_are_rejected(bad: dict) -> None:
    with pytest.raises(TriageTableError) as err:
        parse_table(_minimal(**bad))
    assert isinstance(err.value, PetitionError) and err.value.http_status == 500


def test_minimal_table_is_usable() -> None:
    table = parse_table(_minimal())
    assert evaluate(TriageFacts(dispute="labour"), TODAY, table).legal_channel == "petition"


def test_dispute_answer_drops_administrative_guesses_from_text() -> None:
    text = "交警罚款的事，还有公司欠我工资"
    assert triage(text, None, TODAY).legal_channel == "administrative_review"
    assert triage(text, {"dispute": "labour"}, TODAY).legal_channel == "labor_arbitration"


def test_a_judgment_in_force_stated_in_the_text_is_not_asked_about_again() -> None:
    text = "和房东的押金官司，判决已经生效了，我觉得判得不公平"
    first = triage(text, None, TODAY)
    assert "prior_procedure" not in qids(first)
    assert first.legal_channel == "retrial" and first.rule_id == "R04_judgment_civil"


def test_unknown_prior_procedure_keeps_the_judgment_read_from_the_text() -> None:
    # an API caller (or an older chat) may still send "不清楚" for the question
    result = triage("和房东的押金官司，判决已经生效了，我觉得判得不公平", {"prior_procedure": "unknown"}, TODAY)
    assert result.rule_id == "R04_judgment_civil"
    assert "prior_procedure" not in qids(result)


@pytest.mark.parametrize("text", ["隔壁邻居砌的院墙占了我家两米地，说了也不拆", "楼上邻居的狗咬了我孩子，对方不肯赔"])
def test_no_arbitration_clause_question_between_neighbours(text: str) -> None:
    result = triage(text, None, TODAY)
    assert "arbitration_agreement" not in qids(result)
    assert result.legal_channel == "civil_litigation"


def test_arbitration_clause_still_asked_when_the_neighbours_signed_something() -> None:
    result = triage("邻居租了我的门面，签了合同，现在欠了半年租金不给", None, TODAY)
    assert "arbitration_agreement" in qids(result)
