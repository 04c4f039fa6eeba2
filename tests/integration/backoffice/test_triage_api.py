"""POST /api/triage serves the chat's engine over HTTP (contract keys, auth, validation)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}
CONTRACT_KEYS = {"legal_channel", "legal_channel_alternatives", "questions", "explanation", "citations", "deadline"}


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    from bot.cases.db import make_engine, make_session_factory

    factory: sessionmaker = make_session_factory(make_engine(sqlite_url))
    with TestClient(create_app(Settings(backoffice_token="admin-secret"), factory)) as c:
        yield c


def test_unpaid_wages_go_to_labour_arbitration(client: TestClient) -> None:
    body = {"text": "公司拖欠我三个月工资，我上个月已经离职了", "today": "2026-11-23"}
    response = client.post("/api/triage", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) >= CONTRACT_KEYS
    assert result["legal_channel"] == "labor_arbitration"
    assert any("劳动争议调解仲裁法" in c["law"] for c in result["citations"])
    assert result["deadline"]["due_date"] is not None


def test_answers_change_the_outcome(client: TestClient) -> None:
    text = "交警给我开了罚单，我觉得不合理"
    first = client.post("/api/triage", json={"text": text, "today": "2026-11-23"}, headers=ADMIN).json()
    answered = client.post(
        "/api/triage",
        json={"text": text, "today": "2026-11-23", "answers": {"prior_procedure": "litigation"}},
        headers=ADMIN,
    ).json()
    assert first["legal_channel"] in {"administrative_review", "administrative_litigation"}
    assert answered["legal_channel"] == "existing_procedure"


def test_triage_needs_a_token(client: TestClient) -> None:
    assert client.post("/api/triage", json={"text": "x"}).status_code == 401


def test_bad_answer_is_422_in_chinese(client: TestClient) -> None:
    response = client.post(
        "/api/triage", json={"text": "x", "answers": {"known_date": "不是日期"}}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["message"]
