"""The identity policy (who sees a petitioner's identity) and how serialisation applies it."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from bot.cases.models import Case, CaseEvent
from bot.cases.privacy import IdentityAccess, identity_access, is_accused_unit, may_see_identity
from bot.cases.serialize import case_to_dict_for

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"


def accusation(**kw: object) -> SimpleNamespace:
    values: dict[str, object] = dict(petition_type="accusation", respondent="某县自然资源局张某",
                                     respondent_department_code="zrzy")
    values.update(kw)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("case", "role", "department", "pii_scope", "expected"),
    [
        (accusation(), "admin", "zrzy", False, IdentityAccess.FULL),  # admins: yes
        (accusation(), "staff", None, False, IdentityAccess.MASKED),  # staff: masked by default
        (accusation(), "staff", "gongan", False, IdentityAccess.MASKED),  # another unit
        (accusation(), "staff", "zrzy", False, IdentityAccess.HIDDEN),  # the accused unit: never
        (accusation(), "staff", "ZRZY", True, IdentityAccess.HIDDEN),  # not even with the pii scope
        (accusation(respondent_department_code=None), "staff", "自然资源局", False, IdentityAccess.HIDDEN),
        (accusation(petition_type="grievance"), "staff", "zrzy", False, IdentityAccess.MASKED),
        (accusation(petition_type="grievance"), "staff", "zrzy", True, IdentityAccess.FULL),
        (accusation(), "citizen", None, False, IdentityAccess.HIDDEN),
        (accusation(), "", None, False, IdentityAccess.HIDDEN),
    ],
)
def test_identity_access(case: object, role: str, department: str | None, pii_scope: bool,
                         expected: IdentityAccess) -> None:
    assert identity_access(case, role, department, pii_scope=pii_scope) is expected
    assert may_see_identity(case, role, department, pii_scope=pii_scope) is (expected is IdentityAccess.FULL)


def test_role_enums_are_accepted() -> None:
    from bot.backoffice.auth import Role

    assert identity_access(accusation(), Role.ADMIN) is IdentityAccess.FULL
    assert identity_access(accusation(), Role.STAFF, "zrzy") is IdentityAccess.HIDDEN


def test_accused_unit_needs_a_real_department() -> None:
    assert not is_accused_unit(accusation(), None)
    assert not is_accused_unit(accusation(), " ")
    assert not is_accused_unit(accusation(respondent_department_code=None), "局")  # one character is no name


def make_case(**kw: object) -> Case:
    values: dict[str, object] = dict(
        case_no="XF20261123-0001", status="registered", channel="wechat", sender_id="openid-1",
        conversation_id="openid-1", petition_type="accusation", petitioner_name="张三", id_number=ID_NUMBER,
        phone=PHONE, address="北京市朝阳区某街道1号", issue_region="北京市朝阳区", category="discipline",
        respondent="某县自然资源局", respondent_department_code="zrzy", facts="局长收受好处。", demand="调查处理。",
        consent=True, legal_channel_alternatives=[], created_at=NOW, updated_at=NOW,
        transcript=[{"role": "citizen", "text": f"我叫张三，电话{PHONE}"}, {"role": "assistant", "text": "好的"}],
    )
    values.update(kw)
    case = Case(**values)
    case.events = [CaseEvent(at=NOW, actor="citizen:wechat:openid-1", action="submit", to_status="registered")]
    return case


def test_accused_unit_staff_see_no_identity_at_all() -> None:
    data = case_to_dict_for(make_case(), "staff", "zrzy", revealed=True, include_transcript=True, include_events=True)
    text = repr(data)
    for secret in ("张三", ID_NUMBER, PHONE, "138****5678", "110105", "openid-1", "某街道"):
        assert secret not in text, secret
    assert data["identity_hidden"] is True and data["pii_masked"] is True
    assert data["transcript"][1]["text"] == "好的"  # the bot's own turns stay
    assert data["events"][0]["actor"] == "citizen"
    assert data["facts"] == "局长收受好处。"  # the matter itself is what the unit has to handle


def test_other_staff_see_masked_numbers() -> None:
    data = case_to_dict_for(make_case(), "staff", "gongan", revealed=True, include_transcript=True)
    assert (data["petitioner_name"], data["id_number"], data["phone"]) == ("张三", "110105********002X", "138****5678")
    assert PHONE not in repr(data) and data["identity_hidden"] is False


def test_admin_sees_clear_values_only_when_revealed() -> None:
    assert case_to_dict_for(make_case(), "admin", revealed=False)["phone"] == "138****5678"
    assert case_to_dict_for(make_case(), "admin", revealed=True)["phone"] == PHONE
