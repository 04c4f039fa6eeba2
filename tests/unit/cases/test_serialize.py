from __future__ import annotations

from datetime import datetime, timezone

from bot.cases.deadlines import acceptance_due
from bot.cases.models import Case
from bot.cases.serialize import _mask_id_number, _mask_phone, _mask_text, case_to_dict

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def make_case() -> Case:
    return Case(
        case_no="XF20261123-0001",
        status="registered",
        channel="wechat",
        sender_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        conversation_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        petition_type="grievance",
        petitioner_name="张三",
        id_number="11010519491231002X",
        phone="13812345678",
        address="北京市朝阳区某街道1号",
        issue_region="北京市朝阳区",
        category="labor_social_security",
        respondent="某建筑公司",
        occurred_on="2026-10",
        facts="拖欠工资三个月。",
        demand="支付工资。",
        people_count=3,
        prior_procedure="none",
        consent=True,
        legal_channel="labor_arbitration",
        legal_channel_alternatives=["regulator_report"],
        transcript=[{"role": "citizen", "text": "我的身份证11010519491231002X，电话13812345678"}],
        created_at=NOW,
        updated_at=NOW,
        due_at=acceptance_due(NOW),
    )


def test_mask_id_number() -> None:
    assert _mask_id_number("11010519491231002X") == "110105********002X"
    assert _mask_id_number(None) is None
    assert _mask_id_number("") == ""
    assert _mask_id_number("1234") == "****"


def test_mask_phone() -> None:
    assert _mask_phone("13812345678") == "138****5678"
    assert _mask_phone("01088886666") == "010****6666"
    assert _mask_phone(None) is None
    assert _mask_phone("12") == "**"


def test_mask_text() -> None:
    masked = _mask_text("身份证11010519491231002X，电话13812345678，编号XF20261123-0001")
    assert "11010519491231002X" not in masked and "110105********002X" in masked
    assert "13812345678" not in masked and "138****5678" in masked
    assert "XF20261123-0001" in masked


def test_case_to_dict_masked() -> None:
    data = case_to_dict(make_case(), reveal_pii=False, include_transcript=True)
    assert data["id_number"] == "110105********002X"
    assert data["phone"] == "138****5678"
    assert data["pii_masked"] is True
    assert "11010519491231002X" not in str(data)
    assert "13812345678" not in str(data)


def test_case_to_dict_revealed_has_every_contract_field() -> None:
    data = case_to_dict(make_case(), reveal_pii=True)
    for name in (
        "petition_type", "petitioner_name", "id_number", "phone", "address", "issue_region",
        "category", "respondent", "occurred_on", "facts", "demand", "people_count",
        "prior_procedure", "consent", "confirm", "case_no", "status", "channel", "created_at",
        "due_at", "legal_channel", "legal_channel_alternatives",
    ):
        assert name in data, name
    assert data["id_number"] == "11010519491231002X"
    assert data["phone"] == "13812345678"
    assert data["status_label"] == "登记"
    assert data["created_at"] == "2026-11-23T02:00:00+00:00"
    assert data["due_at"] == "2026-12-08T15:59:59+00:00"
    assert data["due_date"] == "2026-12-08"
    assert data["is_joint"] is True
    assert data["legal_channel_alternatives"] == ["regulator_report"]
    assert "transcript" not in data and "events" not in data
