"""Handoff API: staff list waiting chats, take one over, write, release."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.cases.db import transaction
from bot.handoff.service import divert_citizen_message, do_request_human
from bot.outbox.models import OutboxMessage
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
SETTINGS = Settings(backoffice_token="admin-secret", backoffice_staff_token="staff-secret")


@pytest.fixture
def client(session_factory: sessionmaker) -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS, session_factory)) as test_client:
        yield test_client


def test_staff_take_over_write_and_release(client: TestClient, session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "telegram", "99", "我要人工")
    listed = client.get("/api/handoffs", headers=STAFF).json()
    assert [(h["id"], h["state"]) for h in listed] == [(handoff.id, "waiting")]

    taken = client.post(f"/api/handoffs/{handoff.id}/take", headers=STAFF)
    assert taken.status_code == 200 and taken.json()["state"] == "held"
    assert client.post(f"/api/handoffs/{handoff.id}/take", headers=ADMIN).status_code == 409
    assert divert_citizen_message(session_factory, "telegram", "99", "您好").held

    sent = client.post(f"/api/handoffs/{handoff.id}/messages", headers=STAFF, json={"text": "您好，请讲。"})
    assert sent.status_code == 201 and sent.json()["role"] == "staff"
    assert client.post(f"/api/handoffs/{handoff.id}/messages", headers=ADMIN, json={"text": "x"}).status_code == 409
    assert client.post(f"/api/handoffs/{handoff.id}/messages", headers=STAFF, json={"text": ""}).status_code == 422

    detail = client.get(f"/api/handoffs/{handoff.id}", headers=STAFF).json()
    assert [m["role"] for m in detail["messages"]] == ["citizen", "system", "citizen", "staff"]

    released = client.post(f"/api/handoffs/{handoff.id}/release", headers=STAFF)
    assert released.json()["state"] == "closed"
    assert client.get("/api/handoffs", headers=STAFF).json() == []
    with transaction(session_factory) as s:
        kinds = [(m.recipient, m.kind) for m in s.execute(select(OutboxMessage)).scalars()]
    assert kinds == [("99", "handoff")] * 3


def test_auth_and_not_found(client: TestClient) -> None:
    assert client.get("/api/handoffs").status_code == 401
    assert client.get("/api/handoffs/12345", headers=STAFF).status_code == 404
    assert client.post("/api/handoffs/12345/take", headers=STAFF).status_code == 404
