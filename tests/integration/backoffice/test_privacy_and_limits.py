"""Back-office edges of issue 8: audited reveals, accusations hidden from the accused unit,
body limits (413), malformed JSON (400), unknown callers (401/403), hostile text kept as data."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.backoffice.auth import Principal, Role, TokenAuthenticator
from bot.cases.db import transaction
from bot.cases.privacy import VIEW_IDENTITY, do_set_respondent_department
from bot.cases.service import get_case
from bot.settings import Settings
from tests.integration.security.helpers import ID_NUMBER, OTHER_ID, OTHER_PHONE, PHONE, submit

SETTINGS = Settings(backoffice_token="admin-secret", backoffice_staff_token="staff-secret", max_body_bytes=64 * 1024)
ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
ACCUSED = {"Authorization": "Bearer accused-unit"}


@pytest.fixture
def client(session_factory: sessionmaker) -> Iterator[TestClient]:
    app = create_app(SETTINGS, session_factory)
    app.state.authenticator = TokenAuthenticator([
        ("admin-secret", Principal("li", Role.ADMIN)),
        ("staff-secret", Principal("zhao", Role.STAFF, department_code="gongan")),
        ("accused-unit", Principal("wang", Role.STAFF, department_code="zrzy")),
    ])
    with TestClient(app) as test_client:
        yield test_client


def views(session_factory: sessionmaker, case_no: str) -> list[str]:
    return [e.actor for e in get_case(session_factory, case_no).events if e.action == VIEW_IDENTITY]


def test_every_unmasked_view_is_audited(client: TestClient, session_factory: sessionmaker) -> None:
    one = submit(session_factory)
    two = submit(session_factory, sender_id="openid-2", id_number=OTHER_ID, phone=OTHER_PHONE,
                 facts="噪音扰民。", category="environment")
    detail = client.get(f"/api/cases/{one}", headers=ADMIN).json()
    assert detail["phone"] == PHONE and detail["pii_masked"] is False
    assert views(session_factory, one) == ["admin:li"]

    assert client.get(f"/api/cases/{one}?reveal=0", headers=ADMIN).json()["phone"] == "138****5678"
    assert client.get(f"/api/cases/{one}?reveal=1", headers=STAFF).json()["phone"] == "138****5678"
    assert client.get("/api/cases", headers=ADMIN).status_code == 200  # masked list: no audit
    assert views(session_factory, one) == ["admin:li"]

    listed = client.get("/api/cases?reveal=1", headers=ADMIN).json()["items"]
    assert {i["phone"] for i in listed} == {PHONE, OTHER_PHONE}
    assert views(session_factory, one) == ["admin:li", "admin:li"] and views(session_factory, two) == ["admin:li"]


def test_accusation_is_hidden_from_the_accused_unit(client: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory, petition_type="accusation", category="discipline",
                     respondent="某县自然资源局", facts="局长收受好处费。")
    do_set_respondent_department(session_factory, case_no, "zrzy", actor="admin:li")
    for path in (f"/api/cases/{case_no}", f"/api/cases/{case_no}?reveal=1", "/api/cases", "/api/cases?reveal=1"):
        response = client.get(path, headers=ACCUSED)
        assert response.status_code == 200, response.text
        for secret in ("张三", ID_NUMBER, PHONE, "138****5678", "110105", "openid-1", "文三路"):
            assert secret not in response.text, (path, secret)
    body = client.get(f"/api/cases/{case_no}", headers=ACCUSED).json()
    assert body["identity_hidden"] is True and body["facts"] == "局长收受好处费。"
    other_unit = client.get(f"/api/cases/{case_no}", headers=STAFF).json()
    assert other_unit["petitioner_name"] == "张三" and other_unit["phone"] == "138****5678"
    assert other_unit["identity_hidden"] is False
    assert views(session_factory, case_no) == []


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    big = json.dumps({"text": "事" * 40_000})  # ~120 KB of UTF-8
    response = client.post("/api/triage", content=big, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert "太大" in response.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is counted while reading
        yield b'{"text": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}'

    streamed = client.post("/api/intake/parse", content=chunks(), headers={**ADMIN, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    declared = client.post("/api/intake/parse", content=b"{}",
                           headers={**ADMIN, "Content-Type": "application/json", "Content-Length": str(10**9)})
    assert declared.status_code == 413


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"text": "unterminated', b"\xff\xfe\x00garbage", b"[" * 100_00 + b"]" * 100_00, b'{"text": NaN'],
)
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    response = client.post("/api/intake/parse", content=body, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "malformed_json" and "JSON" in response.json()["message"]


def test_unknown_callers_are_refused(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        assert client.get("/api/cases", headers=headers).status_code == 401
        assert client.post("/api/intake/parse", json={"text": "x"}, headers=headers).status_code == 401
    assert client.put("/api/departments", json={"departments": [], "rules": []}, headers=STAFF).status_code == 403


HOSTILE = [
    "'; DROP TABLE cases; --",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "🙂🙂🙏",
    "Robert'); DELETE FROM case_events WHERE ('1'='1",
    "{{7*7}} ${7*7} %s %d \\x00",
]


def test_hostile_text_is_stored_and_returned_as_plain_data(client: TestClient, session_factory: sessionmaker) -> None:
    case_no = submit(session_factory, facts=HOSTILE[0] + HOSTILE[1], demand=HOSTILE[3], petitioner_name=HOSTILE[2],
                     respondent=HOSTILE[4])
    body = client.get(f"/api/cases/{case_no}", headers=ADMIN)
    assert body.headers["content-type"].startswith("application/json")
    data = body.json()
    assert (data["facts"], data["demand"], data["petitioner_name"], data["respondent"]) == (
        HOSTILE[0] + HOSTILE[1], HOSTILE[3], HOSTILE[2], HOSTILE[4])
    with transaction(session_factory) as session:  # nothing was executed
        assert session.execute(text("SELECT count(*) FROM cases")).scalar_one() == 1
        assert session.execute(text("SELECT count(*) FROM case_events")).scalar_one() >= 1
    for sample in HOSTILE:
        parsed = client.post("/api/intake/parse", json={"text": sample}, headers=ADMIN)
        assert parsed.status_code == 200, parsed.text
        triaged = client.post("/api/triage", json={"text": sample}, headers=ADMIN)
        assert triaged.status_code in (200, 422), triaged.text


@pytest.mark.parametrize("path", ["/api/attachments/9223372036854775808", "/api/handoffs/99999999999999999999",
                                  "/api/attachments/2147483648", "/api/handoffs/-9223372036854775809"])
def test_out_of_range_ids_are_client_errors(client: TestClient, path: str) -> None:
    """Found by the schemathesis run: integers beyond the column range used to answer 500."""
    response = client.get(path, headers=ADMIN)
    assert 400 <= response.status_code < 500, response.text
