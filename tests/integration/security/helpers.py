"""Shared helpers of the personal-data tests."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.service import PetitionSubmission, do_submit_petition

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"
OTHER_ID, OTHER_PHONE = "110105194912310021", "13987654321"


def submit(session_factory: sessionmaker, now: datetime = NOW, **kw: Any) -> str:
    values: dict[str, Any] = dict(
        petitioner_name="张三", facts="公司拖欠工资三个月。", demand="支付工资。", consent=True,
        id_number=ID_NUMBER, phone=PHONE, category="labor_social_security", channel="wechat",
        sender_id="openid-1", petition_type="grievance", address="浙江省杭州市西湖区文三路8号",
        issue_region="浙江省杭州市西湖区", respondent="杭州某建筑公司", people_count=2,
        transcript=[{"role": "citizen", "text": f"身份证{ID_NUMBER}，电话{PHONE}"}],
    )
    values.update(kw)
    return do_submit_petition(session_factory, PetitionSubmission(**values), now=now).case_no


def raw_row(session_factory: sessionmaker, case_no: str) -> dict[str, Any]:
    """The stored columns as the database holds them (no type processing)."""
    with transaction(session_factory) as session:
        row = session.execute(
            text("SELECT id_number, phone, transcript, id_number_hash, phone_hash FROM cases WHERE case_no = :n"),
            {"n": case_no},
        ).mappings().one()
        return {k: (v if isinstance(v, (str, type(None))) else str(v)) for k, v in row.items()}
