"""The case service on SQLite and PostgreSQL (``session_factory`` is parametrised)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import acceptance_due, answer_due
from bot.cases.models import Case, CaseCounter, CaseEvent
from bot.cases.service import (
    PetitionSubmission,
    cases_of_sender,
    do_change_status,
    do_submit_petition,
    get_case,
    list_cases,
)
from bot.cases.status import CaseStatus
from bot.errors import Conflict, InvalidField, InvalidInput, InvalidTransition, NotFound

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 in Beijing

SLOTS = {
    "petition_type": "grievance",
    "petitioner_name": "张三",
    "id_number": "11010519491231002X",
    "phone": "13812345678",
    "address": "北京市朝阳区建国路1号",
    "issue_region": "北京市朝阳区",
    "category": "labor_social_security",
    "respondent": "北京某建筑工程有限公司",
    "occurred_on": "2026-10-15",
    "facts": "我在该公司工地做工，2026年8月至10月的工资共计三万二千元至今未发。\n多次讨要无果。",
    "demand": "请求责令公司支付拖欠的工资。",
    "people_count": 12,
    "prior_procedure": "none",
    "consent": True,
}


def submission(**overrides: object) -> PetitionSubmission:
    base = PetitionSubmission(
        **SLOTS,  # type: ignore[arg-type]
        channel="telegram",
        sender_id="u1",
        conversation_id="u1",
        transcript=[
            {"role": "citizen", "text": "我要反映拖欠工资", "at": "2026-11-23T02:20:00+00:00"},
            {"role": "bot", "text": "好的，请问您的姓名？"},
        ],
        legal_channel="labor_arbitration",
        legal_channel_alternatives=["regulator_report", "civil_litigation"],
        triage_rule_id="labor.wage_arrears",
        triage_version="2026.11.1",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


#: other matters of the same petitioner (repeats of one matter are not registered twice)
MATTERS = [
    {"facts": "小区旁边的化工厂每天夜里排放刺鼻废气，居民头晕恶心。", "respondent": "某化工厂"},
    {"facts": "孩子所在学校违规收取补课费，每学期一千元。", "respondent": "某某中学"},
    {"facts": "村里征收我家承包地五亩，补偿款一直没有发放。", "respondent": "某某村委会"},
    {"facts": "物业公司没有业主大会同意就上调物业费。", "respondent": "阳光物业"},
    {"facts": "医院做检查时重复收费八百元。", "respondent": "某某医院"},
    {"facts": "道路施工每晚十二点以后仍在作业，噪音扰民。", "respondent": "市政工程处"},
    {"facts": "公交线路被取消，老人出行非常困难。", "respondent": "公交集团"},
]


def other_matter(i: int, **overrides: object) -> PetitionSubmission:
    return submission(**{**MATTERS[i], **overrides})


def count(session_factory: sessionmaker, model: type) -> int:
    with transaction(session_factory) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_submit_stores_every_field_exactly(session_factory: sessionmaker) -> None:
    sub = submission(idempotency_key="k-1")
    result = do_submit_petition(session_factory, sub, now=NOW)
    assert result.created is True
    assert result.case_no == "XF20261123-0001"
    assert result.status is CaseStatus.REGISTERED
    assert result.due_at == acceptance_due(NOW)

    case = get_case(session_factory, result.case_no)
    for name, value in SLOTS.items():
        assert getattr(case, name) == value, name
    assert case.status == "registered"
    assert case.channel == "telegram"
    assert case.sender_id == "u1" and case.conversation_id == "u1"
    assert case.conversation_ref == "telegram:u1:u1"
    assert case.idempotency_key == "k-1"
    assert case.legal_channel == "labor_arbitration"
    assert case.legal_channel_alternatives == ["regulator_report", "civil_litigation"]
    assert case.triage_rule_id == "labor.wage_arrears" and case.triage_version == "2026.11.1"
    assert case.transcript == sub.transcript
    assert case.created_at == NOW and case.updated_at == NOW
    assert case.created_at.tzinfo is not None and case.created_at.utcoffset().total_seconds() == 0
    assert case.due_at == acceptance_due(NOW)


def test_an_id_number_left_out_in_chat_is_stored_as_none(session_factory: sessionmaker) -> None:
    result = do_submit_petition(session_factory, submission(idempotency_key="k-no-id", id_number=""), now=NOW)
    assert get_case(session_factory, result.case_no).id_number is None


def test_audit_row_written(session_factory: sessionmaker) -> None:
    result = do_submit_petition(session_factory, submission(), now=NOW)
    events = get_case(session_factory, result.case_no).events
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.from_status, event.to_status) == ("submit", None, "registered")
    assert event.actor == "citizen:telegram:u1"
    assert event.at == NOW


def test_staff_entered_letter_names_the_staff_member(session_factory: sessionmaker) -> None:
    sub = submission(channel="letter", sender_id=None, conversation_id=None, transcript=[], actor="staff:li")
    case = get_case(session_factory, do_submit_petition(session_factory, sub, now=NOW).case_no)
    assert case.events[0].actor == "staff:li"
    assert case.conversation_ref is None


def test_idempotent_resubmit_returns_same_case(session_factory: sessionmaker) -> None:
    first = do_submit_petition(session_factory, submission(idempotency_key="same"), now=NOW)
    again = do_submit_petition(session_factory, submission(idempotency_key="same"), now=NOW)
    assert again.case_no == first.case_no
    assert again.created is False
    assert again.due_at == first.due_at
    assert count(session_factory, Case) == 1
    assert count(session_factory, CaseEvent) == 1
    # the resubmission did not burn a number
    assert do_submit_petition(session_factory, other_matter(0), now=NOW).case_no == "XF20261123-0002"


def test_idempotency_key_of_another_sender_conflicts(session_factory: sessionmaker) -> None:
    do_submit_petition(session_factory, submission(idempotency_key="k"), now=NOW)
    with pytest.raises(Conflict):
        do_submit_petition(session_factory, submission(idempotency_key="k", sender_id="someone-else"), now=NOW)


def test_case_number_uses_the_china_date(session_factory: sessionmaker) -> None:
    late_utc = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)  # 00:30 on 23 Nov in Beijing
    assert do_submit_petition(session_factory, submission(), now=late_utc).case_no == "XF20261123-0001"
    assert do_submit_petition(session_factory, other_matter(0), now=NOW).case_no == "XF20261123-0002"
    next_day = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)  # 00:00 on 24 Nov
    assert do_submit_petition(session_factory, other_matter(1), now=next_day).case_no == "XF20261124-0001"


def test_counter_continues_after_existing_numbers(session_factory: sessionmaker) -> None:
    """Cases stored without a counter row (imported data) are not overwritten."""
    do_submit_petition(session_factory, submission(), now=NOW)
    with transaction(session_factory) as s:
        case = s.execute(select(Case)).scalar_one()
        case.case_no = "XF20261123-0041"
        s.execute(CaseCounter.__table__.delete())
    assert do_submit_petition(session_factory, other_matter(0), now=NOW).case_no == "XF20261123-0042"


def test_concurrent_submissions_get_distinct_sequential_numbers(session_factory: sessionmaker) -> None:
    n = 20
    barrier = threading.Barrier(n)

    def submit(i: int) -> str:
        barrier.wait()
        # 20 different petitioners (no shared ID number or phone)
        sub = submission(sender_id=f"user-{i}", idempotency_key=f"key-{i}", id_number=None, phone=None)
        return do_submit_petition(session_factory, sub, now=NOW).case_no

    with ThreadPoolExecutor(max_workers=n) as pool:
        numbers = list(pool.map(submit, range(n)))
    assert sorted(numbers) == [f"XF20261123-{i:04d}" for i in range(1, n + 1)]
    assert count(session_factory, Case) == n
    assert count(session_factory, CaseEvent) == n


def test_concurrent_duplicates_store_one_case(session_factory: sessionmaker) -> None:
    n = 8
    barrier = threading.Barrier(n)

    def submit(_: int) -> tuple[str, bool]:
        barrier.wait()
        result = do_submit_petition(session_factory, submission(idempotency_key="double-tap"), now=NOW)
        return result.case_no, result.created

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(submit, range(n)))
    assert {no for no, _ in results} == {"XF20261123-0001"}
    assert sum(created for _, created in results) == 1
    assert count(session_factory, Case) == 1


@pytest.mark.parametrize("consent", [False, None])
def test_consent_required(session_factory: sessionmaker, consent: bool | None) -> None:
    with pytest.raises(InvalidInput) as info:
        do_submit_petition(session_factory, submission(consent=consent), now=NOW)
    assert "同意" in info.value.user_message
    assert count(session_factory, Case) == 0
    assert count(session_factory, CaseCounter) == 0


def test_unconfirmed_summary_rejected(session_factory: sessionmaker) -> None:
    with pytest.raises(InvalidInput):
        do_submit_petition(session_factory, submission(confirm=False), now=NOW)


@pytest.mark.parametrize("field", ["petitioner_name", "facts", "demand"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_fields(session_factory: sessionmaker, field: str, value: str | None) -> None:
    with pytest.raises(InvalidField) as info:
        do_submit_petition(session_factory, submission(**{field: value}), now=NOW)
    assert info.value.field == field
    assert count(session_factory, Case) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "weather"),
        ("petition_type", "praise"),
        ("prior_procedure", "prayer"),
        ("channel", "fax"),
        ("legal_channel", "duel"),
        ("legal_channel_alternatives", ["duel"]),
        ("id_number", "12345"),
        ("phone", "138-1234-5678"),
        ("occurred_on", "yesterday"),
        ("people_count", 0),
        ("people_count", 2.5),
        ("petitioner_name", "张" * 101),
    ],
)
def test_values_outside_the_contract_are_refused(session_factory: sessionmaker, field: str, value: object) -> None:
    with pytest.raises(InvalidField) as info:
        do_submit_petition(session_factory, submission(**{field: value}), now=NOW)
    assert info.value.field == field


def test_values_are_normalised(session_factory: sessionmaker) -> None:
    sub = submission(id_number="11010519491231002x", people_count=2.0, petitioner_name="  李四 ")
    case = get_case(session_factory, do_submit_petition(session_factory, sub, now=NOW).case_no)
    assert case.id_number == "11010519491231002X"
    assert case.people_count == 2
    assert case.petitioner_name == "李四"


def test_from_slots_ignores_unknown_slots(session_factory: sessionmaker) -> None:
    slots = {**SLOTS, "requested_slot": "facts", "confirm": True, "legal_channel": "petition"}
    sub = PetitionSubmission.from_slots(slots, channel="rest", sender_id="r1")
    case = get_case(session_factory, do_submit_petition(session_factory, sub, now=NOW).case_no)
    assert case.legal_channel == "petition" and case.channel == "rest"


def test_get_case(session_factory: sessionmaker) -> None:
    no = do_submit_petition(session_factory, submission(), now=NOW).case_no
    assert get_case(session_factory, no.lower()).case_no == no
    with pytest.raises(NotFound):
        get_case(session_factory, "XF20991231-9999")


def test_list_cases_filters_and_pages(session_factory: sessionmaker) -> None:
    for i in range(5):
        do_submit_petition(session_factory, other_matter(i, sender_id="a", channel="wechat"), now=NOW.replace(minute=i))
    for i in range(3):
        do_submit_petition(
            session_factory, other_matter(i, sender_id="b", category="environment", id_number=None, phone=None),
            now=NOW.replace(minute=10 + i),
        )
    items, total = list_cases(session_factory)
    assert total == 8 and len(items) == 8
    assert [c.case_no for c in items][:2] == ["XF20261123-0008", "XF20261123-0007"]  # newest first
    items, total = list_cases(session_factory, channel="wechat", limit=2, offset=1)
    assert total == 5 and [c.case_no for c in items] == ["XF20261123-0004", "XF20261123-0003"]
    assert list_cases(session_factory, category="environment")[1] == 3
    assert list_cases(session_factory, status="registered")[1] == 8
    assert list_cases(session_factory, status=CaseStatus.CLOSED)[1] == 0
    assert len(cases_of_sender(session_factory, "wechat", "a")) == 5
    assert cases_of_sender(session_factory, "telegram", "a") == []
    with pytest.raises(InvalidInput):
        list_cases(session_factory, limit=201)
    with pytest.raises(InvalidInput):
        list_cases(session_factory, status="bogus")


def test_change_status_writes_audit_and_moves_the_clock(session_factory: sessionmaker) -> None:
    no = do_submit_petition(session_factory, submission(), now=NOW).case_no
    later = NOW.replace(day=25)
    case = do_change_status(session_factory, no, "accepted", actor="staff:li", note="属于本机关职责", now=later)
    assert case.status == "accepted"
    assert case.due_at == answer_due(later)
    with pytest.raises(InvalidTransition):
        do_change_status(session_factory, no, CaseStatus.CLOSED, actor="staff:li")
    events = get_case(session_factory, no).events
    assert [(e.action, e.from_status, e.to_status, e.actor) for e in events] == [
        ("submit", None, "registered", "citizen:telegram:u1"),
        ("status", "registered", "accepted", "staff:li"),
    ]
    assert events[1].note == "属于本机关职责"
    with pytest.raises(NotFound):
        do_change_status(session_factory, "XF20991231-0001", "accepted", actor="staff:li")
