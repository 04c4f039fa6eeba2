"""POST /api/intake/parse pre-fills a case from a transcribed letter or call."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.backoffice.app import create_app
from bot.cases.db import make_engine, make_session_factory
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    factory = make_session_factory(make_engine(sqlite_url))
    with TestClient(create_app(Settings(backoffice_token="admin-secret"), factory)) as c:
        yield c


def test_letter_prefills_every_readable_field(client: TestClient) -> None:
    letter = (
        "尊敬的领导：我叫张三，电话13812345678，身份证号11010519491231002X。"
        "我们村三十多户村民反映，今年3月起杭州某某建筑公司拖欠我们工资一直不给。"
        "要求公司尽快补发拖欠的工资。"
    )
    response = client.post("/api/intake/parse", json={"text": letter, "today": "2026-11-23"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    fields = response.json()
    assert fields["petitioner_name"] == "张三"
    assert fields["phone"] == "13812345678"
    assert fields["id_number"] == "11010519491231002X"
    assert fields["category"] == "labor_social_security"
    assert fields["people_count"] == 30
    assert fields["occurred_on"] == "2026-03"
    assert "补发" in fields["demand"]
    assert "某某建筑公司" in fields["respondent"]


def test_fields_not_found_are_absent(client: TestClient) -> None:
    response = client.post("/api/intake/parse", json={"text": "你好"}, headers=ADMIN)
    assert response.status_code == 200
    assert "phone" not in response.json() and "id_number" not in response.json()


def test_invalid_id_is_not_returned(client: TestClient) -> None:
    response = client.post("/api/intake/parse", json={"text": "身份证110105194912310021"}, headers=ADMIN)
    assert "id_number" not in response.json()


def test_parse_needs_a_token_and_a_text(client: TestClient) -> None:
    assert client.post("/api/intake/parse", json={"text": "x"}).status_code == 401
    assert client.post("/api/intake/parse", json={}, headers=ADMIN).status_code == 422
