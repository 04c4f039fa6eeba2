"""Case queue API (bot/backoffice/queue_api.py) on both backends."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.backoffice.users import do_create_user
from bot.cases.db import transaction
from bot.cases.service import PetitionSubmission, do_submit_petition, get_case
from bot.outbox.models import OutboxMessage
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
SETTINGS = Settings(backoffice_token="admin-secret", backoffice_staff_token="staff-secret")
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"

LETTER = {
    "channel": "letter", "petitioner_name": "李四", "facts": "村里征收我家承包地五亩，补偿款一直没有发放。",
    "demand": "请求发放征地补偿款。", "consent": True, "category": "land_expropriation",
    "issue_region": "广东省广州市从化区", "respondent": "某某村委会", "people_count": 3, "id_number": ID_NUMBER,
    "phone": PHONE,
}


def submit(session_factory: sessionmaker, **kw: object) -> str:
    values: dict[str, object] = dict(
        petitioner_name="张三", facts="公司拖欠我三个月工资两万元。", demand="支付工资。", consent=True,
        id_number=ID_NUMBER, phone=PHONE, category="labor_social_security", channel="wechat",
        sender_id="openid-1", petition_type="grievance", respondent="甲公司",
    )
    values.update(kw)
    return do_submit_petition(session_factory, PetitionSubmission(**values), now=NOW).case_no  # type: ignore[arg-type]


@pytest.fixture
def client(session_factory: sessionmaker) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, session_factory)) as test_client:
        yield test_client


def test_staff_register_a_letter(client: TestClient, session_factory: sessionmaker) -> None:
    response = client.post("/api/cases", json=LETTER, headers=STAFF)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True and body["department_code"] == "zrzyj" and body["status"] == "registered"
    case = get_case(session_factory, body["case_no"])
    assert (case.channel, case.joint, case.events[0].actor) == ("letter", True, "staff:staff")
    again = client.post("/api/cases", json=LETTER, headers=STAFF).json()
    assert again["created"] is False and again["duplicate_of"] == body["case_no"]


@pytest.mark.parametrize("change", [{"channel": "wechat"}, {"consent": False}, {"facts": ""}, {"category": "weather"},
                                    {"people_count": 0}])
def test_bad_letters_are_422(client: TestClient, change: dict[str, object]) -> None:
    response = client.post("/api/cases", json={**LETTER, **change}, headers=STAFF)
    assert response.status_code == 422
    assert set(response.json()) >= {"code", "detail", "message"}


def shanghai_today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def test_actions_through_the_api(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    response = client.post(f"/api/cases/{no}/claim", headers=STAFF)
    assert response.status_code == 200
    body = response.json()
    assert body["case"]["assignee"] == "staff"
    assert body["available_actions"] == ["release", "assign", "accept", "not_accept", "transfer"]
    assert body["case"]["id_number"] == "110105********002X"  # masked for staff
    before = shanghai_today()
    response = client.post(f"/api/cases/{no}/actions/accept", json={"note": "属于本机关职责"}, headers=STAFF)
    after = shanghai_today()
    assert response.status_code == 200 and response.json()["case"]["status"] == "accepted"
    # answer due 60 days after the day of acceptance (Art 34), on the office's calendar
    assert response.json()["case"]["due_date"] in {(d + timedelta(days=60)).isoformat() for d in (before, after)}
    missing = client.post(f"/api/cases/{no}/actions/answer", json={}, headers=STAFF)
    assert missing.status_code == 422 and missing.json()["message"] == "请填写书面答复意见。"
    wrong = client.post(f"/api/cases/{no}/actions/close", json={}, headers=STAFF)
    assert wrong.status_code == 409 and wrong.json()["code"] == "invalid_transition"
    unknown = client.post(f"/api/cases/{no}/actions/explode", json={}, headers=STAFF)
    assert unknown.status_code == 422
    answered = client.post(f"/api/cases/{no}/actions/answer", json={"answer": "已责令补发。"}, headers=STAFF)
    assert answered.json()["case"]["answer_text"] == "已责令补发。"
    detail = client.get(f"/api/cases/{no}", headers=STAFF).json()
    assert [e["action"] for e in detail["events"]] == ["submit", "claim", "accept", "answer"]
    assert detail["department_code"] == "rsj" and detail["assignee"] == "staff"


def test_lost_claim_is_409_and_roles_are_enforced(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    assert client.post(f"/api/cases/{no}/claim", headers=ADMIN).status_code == 200
    lost = client.post(f"/api/cases/{no}/claim", headers=STAFF)
    assert lost.status_code == 409 and "admin" in lost.json()["message"]
    assert client.post(f"/api/cases/{no}/actions/accept", json={}, headers=STAFF).status_code == 409
    assert client.post(f"/api/cases/{no}/release", headers=STAFF).status_code == 409
    assign = client.post(f"/api/cases/{no}/assign", json={"assignee": "staff"}, headers=ADMIN)
    assert assign.status_code == 200 and assign.json()["case"]["assignee"] == "staff"
    assert client.post(f"/api/cases/{no}/release", json={"note": "转给同事"}, headers=STAFF).json()["case"]["assignee"] is None
    assert client.post("/api/cases/XF20991231-0001/claim", headers=STAFF).status_code == 404
    assert client.post(f"/api/cases/{no}/claim").status_code == 401


def test_a_lost_claim_names_the_colleague_as_the_console_knows_them(
    client: TestClient, session_factory: sessionmaker
) -> None:
    do_create_user(session_factory, "admin", "Xinfang-Queue-2026!", role="admin", display_name="王科长")
    no = submit(session_factory)
    assert client.post(f"/api/cases/{no}/claim", headers=ADMIN).status_code == 200
    lost = client.post(f"/api/cases/{no}/claim", headers=STAFF)
    assert lost.status_code == 409
    assert lost.json()["message"] == "这件案件已由王科长认领，不能重复认领。"
    assert lost.json()["code"] == "conflict"
    held = client.post(f"/api/cases/{no}/actions/accept", json={}, headers=STAFF)
    assert held.status_code == 409 and "王科长" in held.json()["message"] and "admin" not in held.json()["message"]


def test_reply_goes_to_the_outbox(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    response = client.post(f"/api/cases/{no}/reply", json={"text": "请补充工资条。"}, headers=STAFF)
    assert response.status_code == 200
    with transaction(session_factory) as s:
        message = s.execute(select(OutboxMessage)).scalar_one()
    assert (message.kind, message.channel, message.recipient) == ("reply", "wechat", "openid-1")
    assert client.post(f"/api/cases/{no}/reply", json={"text": ""}, headers=STAFF).status_code == 422


def test_claim_next(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    assert client.post("/api/queue/claim-next", headers=STAFF).json()["case"]["case_no"] == no
    assert client.post("/api/queue/claim-next", headers=STAFF).json() is None


def test_workflow_table(client: TestClient) -> None:
    actions = {a["name"]: a for a in client.get("/api/workflow", headers=STAFF).json()}
    assert actions["not_accept"]["to_status"] == "not_accepted"
    assert [p["name"] for p in actions["not_accept"]["params"]] == ["reason", "legal_channel"]
    assert actions["request_review"]["roles"] == ["admin", "citizen", "staff"]


def test_escalations_and_dashboard(client: TestClient, session_factory: sessionmaker) -> None:
    old = do_submit_petition(session_factory, PetitionSubmission(
        petitioner_name="王五", facts="医院做检查时重复收费八百元。", demand="退费。", consent=True,
        category="healthcare", channel="letter", issue_region="广东省广州市天河区"),
        now=datetime(2020, 1, 1, tzinfo=timezone.utc)).case_no
    body = client.get("/api/escalations", headers=STAFF).json()
    assert [c["case_no"] for c in body["overdue"]] == [old] and body["near_days"] == 3
    assert body["overdue"][0]["due_state"] == "overdue"
    assert client.get("/api/escalations?near_days=99", headers=STAFF).status_code == 422
    stats = client.get("/api/dashboard", headers=STAFF).json()
    assert stats["total"] == 1 and stats["overdue"] == 1 and stats["by_city"] == {"广东省广州市": 1}
    assert stats["status_labels"]["registered"] == "登记"
    assert client.get("/api/dashboard?since=2026-01-01", headers=STAFF).json()["total"] == 0
    assert client.get("/api/dashboard?until=2020-01-01", headers=STAFF).json()["total"] == 1


def test_list_filters_on_get_cases(client: TestClient, session_factory: sessionmaker) -> None:
    labour = submit(session_factory, people_count=5)
    school = submit(session_factory, facts="孩子所在学校违规收取补课费，每学期一千元。", respondent="实验中学",
                    category="education", sender_id="openid-2", id_number=None, phone=None,
                    issue_region="广东省广州市天河区")
    client.post(f"/api/cases/{school}/claim", headers=STAFF)

    def nos(query: str) -> list[str]:
        response = client.get(f"/api/cases?{query}", headers=STAFF)
        assert response.status_code == 200, response.text
        return [i["case_no"] for i in response.json()["items"]]

    assert nos("joint=true") == [labour]
    assert nos("department=jyj") == [school]
    assert nos("region=广东省") == [school]
    assert nos("claimed_by=staff") == [school] and nos("claimed_by=-") == [labour]
    assert nos("q=补课费") == [school]
    assert nos("sort=oldest") == [labour, school]
    assert client.get("/api/cases?due=tomorrow", headers=STAFF).status_code == 422


def test_csv_export_is_masked_unless_an_admin_reveals(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory, facts="=HYPERLINK(\"x\") 公司拖欠我三个月工资两万元。")
    response = client.get("/api/cases.csv", headers=STAFF)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["case_no"] for r in rows] == [no]
    assert rows[0]["id_number"] == "110105********002X" and rows[0]["phone"] == "138****5678"
    assert rows[0]["facts"].startswith("'=")  # no spreadsheet formulas
    assert ID_NUMBER not in response.text
    staff_reveal = client.get("/api/cases.csv?reveal=1", headers=STAFF)
    assert ID_NUMBER not in staff_reveal.text
    admin = client.get("/api/cases.csv?reveal=1", headers=ADMIN)
    assert ID_NUMBER in admin.text and PHONE in admin.text
    assert "view_identity" in [e.action for e in get_case(session_factory, no).events]  # the reveal is audited
    assert client.get("/api/cases.csv?category=education", headers=STAFF).text.count("\n") == 1  # header only


def test_departments_read_by_staff_edited_by_admins(client: TestClient, session_factory: sessionmaker) -> None:
    table = client.get("/api/departments", headers=STAFF).json()
    assert {"code": "rsj", "name": "人力资源和社会保障局", "active": True} in table["departments"]
    assert table["legal_channels"]["labor_arbitration"] == "申请劳动仲裁"
    edited = {
        "departments": table["departments"] + [{"code": "th_rsj", "name": "天河区人社局"}],
        "rules": table["rules"] + [{"region": "广东省广州市天河区", "category": "labor_social_security",
                                    "department": "th_rsj"}],
    }
    assert client.put("/api/departments", json=edited, headers=STAFF).status_code == 403
    response = client.put("/api/departments", json=edited, headers=ADMIN)
    assert response.status_code == 200 and len(response.json()["rules"]) == len(table["rules"]) + 1
    result = do_submit_petition(session_factory, PetitionSubmission(
        petitioner_name="赵六", facts="饭店拖欠我两个月工资。", demand="支付工资。", consent=True,
        category="labor_social_security", channel="phone", issue_region="广东省广州市天河区"), now=NOW)
    assert result.department_code == "th_rsj"
    bad = client.put("/api/departments", json={"departments": [{"code": "x", "name": "x"}], "rules": []}, headers=ADMIN)
    assert bad.status_code == 422 and "兜底" in bad.json()["message"]


def test_openapi_describes_the_queue(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/cases/{case_no}/actions/{action}", "/api/cases/{case_no}/claim", "/api/escalations",
                 "/api/dashboard", "/api/cases.csv", "/api/departments", "/api/workflow"):
        assert path in paths, path
    assert "post" in paths["/api/cases"] and "get" in paths["/api/cases"]
