"""Back-office HTTP API on both backends (``session_factory`` is parametrised)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory
from bot.cases.service import PetitionSubmission, do_submit_petition
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
SETTINGS = Settings(backoffice_token="admin-secret", backoffice_staff_token="staff-secret")
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"


def submit(session_factory: sessionmaker, **kw: object) -> str:
    values: dict[str, object] = dict(
        petitioner_name="张三", facts="拖欠工资。", demand="支付工资。", consent=True,
        id_number=ID_NUMBER, phone=PHONE, category="labor_social_security", channel="wechat",
        sender_id="openid-1", petition_type="grievance", legal_channel="labor_arbitration",
        transcript=[{"role": "citizen", "text": f"电话{PHONE}"}],
    )
    values.update(kw)
    return do_submit_petition(session_factory, PetitionSubmission(**values), now=NOW).case_no  # type: ignore[arg-type]


@pytest.fixture
def client(session_factory: sessionmaker) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, session_factory)) as test_client:
        yield test_client


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
@pytest.mark.parametrize("path", ["/api/cases", "/api/cases/XF20261123-0001"])
def test_401_without_a_valid_token(client: TestClient, headers: dict[str, str], path: str) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "detail", "message"}
    assert body["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_empty_admin_token_setting_locks_the_api(session_factory: sessionmaker) -> None:
    with TestClient(create_app(Settings(backoffice_token=""), session_factory)) as c:
        assert c.get("/api/cases", headers={"Authorization": "Bearer "}).status_code == 401
        assert c.get("/api/cases", headers={"Authorization": "Bearer x"}).status_code == 401


def test_list_shape_and_default_masking(client: TestClient, session_factory: sessionmaker) -> None:
    first = submit(session_factory)
    submit(session_factory, category="environment", channel="telegram", sender_id="t1", id_number=None, phone=None)
    response = client.get("/api/cases", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    item = next(i for i in body["items"] if i["case_no"] == first)
    for name in ("case_no", "status", "status_label", "channel", "created_at", "due_at", "legal_channel",
                 "legal_channel_alternatives", "petitioner_name", "facts", "demand", "consent", "confirm",
                 "petition_type", "address", "issue_region", "category", "respondent", "occurred_on",
                 "people_count", "prior_procedure"):
        assert name in item, name
    assert item["status"] == "registered" and item["status_label"] == "登记"
    assert item["id_number"] == "110105********002X"
    assert item["phone"] == "138****5678"
    assert item["pii_masked"] is True
    assert "transcript" not in item
    assert ID_NUMBER not in response.text and PHONE not in response.text


def test_list_filters_and_limits(client: TestClient, session_factory: sessionmaker) -> None:
    for i in range(3):  # three people (one person's repeats of a matter are not registered again)
        submit(session_factory, sender_id=f"openid-{i}", id_number=None, phone=None)
    submit(session_factory, category="environment", channel="telegram", sender_id="t1", id_number=None, phone=None)
    get = lambda q: client.get(f"/api/cases?{q}", headers=STAFF).json()  # noqa: E731
    assert get("category=environment")["total"] == 1
    assert get("channel=wechat")["total"] == 3
    assert get("status=registered")["total"] == 4
    assert get("status=closed")["total"] == 0
    page = get("limit=2&offset=1")
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (4, 2, 2, 1)
    assert client.get("/api/cases?limit=200", headers=STAFF).status_code == 200


@pytest.mark.parametrize("query", ["limit=201", "limit=0", "offset=-1", "status=bogus", "channel=fax"])
def test_invalid_query_is_422_in_chinese(client: TestClient, query: str) -> None:
    response = client.get(f"/api/cases?{query}", headers=ADMIN)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert "请求参数不正确" in body["message"]
    assert body["detail"]


def test_reveal_in_list_is_for_admin_only(client: TestClient, session_factory: sessionmaker) -> None:
    submit(session_factory)
    admin = client.get("/api/cases?reveal=1", headers=ADMIN).json()["items"][0]
    assert (admin["id_number"], admin["phone"], admin["pii_masked"]) == (ID_NUMBER, PHONE, False)
    staff = client.get("/api/cases?reveal=1", headers=STAFF).json()["items"][0]
    assert (staff["id_number"], staff["phone"], staff["pii_masked"]) == ("110105********002X", "138****5678", True)


def test_detail(client: TestClient, session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    admin = client.get(f"/api/cases/{no}", headers=ADMIN)
    assert admin.status_code == 200
    body = admin.json()
    assert body["case_no"] == no
    assert (body["id_number"], body["phone"]) == (ID_NUMBER, PHONE)  # admin: unmasked by default
    assert body["transcript"] == [{"role": "citizen", "text": f"电话{PHONE}"}]
    assert [(e["action"], e["to_status"]) for e in body["events"]] == [("submit", "registered")]
    assert body["due_at"] == "2026-12-08T15:59:59+00:00" and body["due_date"] == "2026-12-08"

    masked = client.get(f"/api/cases/{no}?reveal=0", headers=ADMIN).json()
    assert (masked["id_number"], masked["phone"]) == ("110105********002X", "138****5678")
    staff = client.get(f"/api/cases/{no}?reveal=1", headers=STAFF)
    assert staff.status_code == 200
    assert ID_NUMBER not in staff.text and PHONE not in staff.text
    assert staff.json()["transcript"][0]["text"] == "电话138****5678"


def test_detail_404(client: TestClient) -> None:
    response = client.get("/api/cases/XF20991231-0001", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert set(response.json()) == {"code", "detail", "message"}


def test_unknown_route_404_json(client: TestClient) -> None:
    response = client.get("/api/nothing-here", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_healthz_needs_no_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_is_down() -> None:
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        with TestClient(create_app(SETTINGS, make_session_factory(engine))) as c:
            response = c.get("/healthz")
            assert response.status_code == 503
            assert response.json()["code"] == "storage_unavailable"
            listing = c.get("/api/cases", headers=ADMIN)
            assert listing.status_code == 503
            assert listing.json()["code"] == "storage_unavailable"
    finally:
        engine.dispose()


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/cases", "/api/cases/{case_no}", "/healthz"} <= set(spec["paths"])
    assert spec["info"]["title"] and spec["info"]["version"]
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_app_with_own_engine_migrates_on_startup(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'new' / 'cases.db'}", backoffice_token="admin-secret")
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").status_code == 200
        body = c.get("/api/cases", headers=ADMIN).json()
        assert body == {"items": [], "total": 0, "limit": 50, "offset": 0}
