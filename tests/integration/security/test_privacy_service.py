"""Audited reveal of a petitioner's identity and the retention (anonymisation) of closed cases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import Principal, Role
from bot.cases.db import transaction
from bot.cases.models import Case, CaseEvent
from bot.cases.privacy import (
    ANON_NAME,
    ANONYMISE,
    VIEW_IDENTITY,
    cases_with_identity,
    city_level,
    do_anonymise_closed_cases,
    do_reveal_identities,
    do_reveal_identity,
    do_set_respondent_department,
)
from bot.cases.service import do_change_status, get_case
from bot.errors import Forbidden, InvalidInput, NotFound
from tests.integration.security.helpers import ID_NUMBER, NOW, OTHER_ID, OTHER_PHONE, PHONE, raw_row, submit

ADMIN = Principal("li", Role.ADMIN)


def events(session_factory: sessionmaker, case_no: str, action: str) -> list[CaseEvent]:
    return [e for e in get_case(session_factory, case_no).events if e.action == action]


def test_reveal_returns_clear_values_and_writes_an_audit_row(session_factory: sessionmaker) -> None:
    case_no = submit(session_factory)
    revealed = do_reveal_identity(session_factory, case_no, ADMIN, reason="回访核实", now=NOW)
    assert revealed == {"petitioner_name": "张三", "id_number": ID_NUMBER, "phone": PHONE,
                        "address": "浙江省杭州市西湖区文三路8号"}
    [audit] = events(session_factory, case_no, VIEW_IDENTITY)
    assert (audit.actor, audit.note, audit.at) == ("admin:li", "回访核实", NOW)
    assert audit.from_status is None and audit.to_status is None


def test_reveal_is_refused_for_staff(session_factory: sessionmaker) -> None:
    case_no = submit(session_factory, petition_type="accusation", respondent="某县自然资源局", category="discipline")
    assert do_set_respondent_department(session_factory, case_no, "zrzy", actor="admin:li").respondent_department_code == "zrzy"
    staff_of_accused = Principal("wang", Role.STAFF, department_code="zrzy")
    with pytest.raises(Forbidden) as info:
        do_reveal_identity(session_factory, case_no, staff_of_accused)
    assert "单位" in info.value.user_message
    with pytest.raises(Forbidden):  # staff without the pii permission: masked only
        do_reveal_identity(session_factory, case_no, Principal("zhao", Role.STAFF, department_code="gongan"))
    with pytest.raises(Forbidden):  # an audit string works as actor too
        do_reveal_identity(session_factory, case_no, "staff:zhao")
    assert events(session_factory, case_no, VIEW_IDENTITY) == []
    with pytest.raises(NotFound):
        do_reveal_identity(session_factory, "XF20991231-0001", ADMIN)


def test_bulk_reveal_skips_what_the_actor_may_not_see(session_factory: sessionmaker) -> None:
    one = submit(session_factory)
    two = submit(session_factory, sender_id="openid-2", id_number=OTHER_ID, phone=OTHER_PHONE,
                 facts="噪音扰民。", category="environment")
    assert set(do_reveal_identities(session_factory, [one, two, "XF20991231-0001"], ADMIN)) == {one, two}
    assert do_reveal_identities(session_factory, [one, two], Principal("s", Role.STAFF)) == {}
    assert len(events(session_factory, one, VIEW_IDENTITY)) == 1


def close(session_factory: sessionmaker, case_no: str, at: object) -> None:
    for step, minutes in (("accepted", 1), ("answered", 2), ("closed", 3)):
        do_change_status(session_factory, case_no, step, actor="staff:li", note="办理意见：已联系13812345678",
                         now=at + timedelta(minutes=minutes))  # type: ignore[operator]


def test_retention_anonymises_old_closed_cases_and_keeps_statistics(session_factory: sessionmaker) -> None:
    old = submit(session_factory, now=NOW - timedelta(days=400))
    close(session_factory, old, NOW - timedelta(days=400))
    recent = submit(session_factory, now=NOW - timedelta(days=10), sender_id="openid-2", id_number=OTHER_ID,
                    phone=OTHER_PHONE, facts="噪音扰民。", category="environment")
    close(session_factory, recent, NOW - timedelta(days=10))
    still_open = submit(session_factory, now=NOW - timedelta(days=500), sender_id="openid-3",
                        id_number="110105194912310048", phone="13700001111", facts="道路破损。", category="transport")
    before = get_case(session_factory, old)

    report = do_anonymise_closed_cases(session_factory, 365, now=NOW)
    assert report.anonymised == [old] and report.cutoff == NOW - timedelta(days=365)

    case = get_case(session_factory, old)
    assert case.petitioner_name == ANON_NAME
    assert (case.id_number, case.phone, case.address, case.respondent) == (None, None, None, None)
    assert (case.id_number_hash, case.phone_hash) == (None, None)
    assert "拖欠" not in case.facts and "工资" not in case.demand and case.transcript == []
    assert (case.sender_id, case.conversation_id, case.conversation_ref, case.idempotency_key) == (None,) * 4
    # what statistics need is kept
    for name in ("case_no", "category", "petition_type", "status", "channel", "people_count",
                 "created_at", "due_at", "legal_channel"):
        assert getattr(case, name) == getattr(before, name), name
    assert case.issue_region == "浙江省杭州市"
    assert case.anonymised_at == NOW
    assert all(e.note is None for e in case.events if e.action != ANONYMISE)
    assert all("openid" not in e.actor for e in case.events)
    [audit] = [e for e in case.events if e.action == ANONYMISE]
    assert audit.actor == "system:retention" and "365" in (audit.note or "")
    raw = raw_row(session_factory, old)
    assert raw["id_number"] is None and raw["phone"] is None
    assert cases_with_identity(session_factory, id_number=ID_NUMBER) == []

    # the others are untouched
    assert get_case(session_factory, recent).phone == OTHER_PHONE
    assert get_case(session_factory, still_open).petitioner_name == "张三"

    # idempotent: a second run changes nothing and writes no second audit row
    assert do_anonymise_closed_cases(session_factory, 365, now=NOW + timedelta(days=1)).anonymised == []
    with transaction(session_factory) as session:
        count = session.execute(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == ANONYMISE))
        assert count.scalar_one() == 1
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 3


def test_retention_dry_run_changes_nothing(session_factory: sessionmaker) -> None:
    old = submit(session_factory, now=NOW - timedelta(days=400))
    close(session_factory, old, NOW - timedelta(days=400))
    assert do_anonymise_closed_cases(session_factory, 30, now=NOW, dry_run=True).anonymised == [old]
    assert get_case(session_factory, old).petitioner_name == "张三"
    with pytest.raises(InvalidInput):
        do_anonymise_closed_cases(session_factory, -1)


def test_city_level() -> None:
    assert city_level("浙江省杭州市西湖区文三路") == "浙江省杭州市"
    assert city_level("北京市朝阳区") == "北京市"
    assert city_level("说不清楚") is None and city_level(None) is None
