"""Attachments API: staff list a case's files and download them; pending files are admin-only."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.cases.attachments import AttachmentPolicy, do_store_attachment, link_pending_attachments
from bot.cases.service import PetitionSubmission, do_submit_petition
from bot.settings import Settings

ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(backoffice_token="admin-secret", backoffice_staff_token="staff-secret",
                    attachments_dir=str(tmp_path / "files"))


@pytest.fixture
def client(session_factory: sessionmaker, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, session_factory)) as test_client:
        yield test_client


def test_list_and_download(client: TestClient, session_factory: sessionmaker, settings: Settings,
                           caplog: pytest.LogCaptureFixture) -> None:
    policy = AttachmentPolicy.from_settings(settings)
    image = do_store_attachment(session_factory, policy, channel="wechat", sender_id="oX", kind="image", data=PNG)
    doc = do_store_attachment(session_factory, policy, channel="wechat", sender_id="oX", kind="document",
                              data=PDF, filename="情况说明.pdf")
    case_no = do_submit_petition(session_factory, PetitionSubmission(
        petitioner_name="李秀英", facts="小区噪音扰民", demand="依法处理", consent=True,
        channel="wechat", sender_id="oX")).case_no

    # before linking, the files are pending: admins only
    assert client.get(f"/api/attachments/{image.id}", headers=STAFF).status_code == 403
    assert client.get(f"/api/attachments/{image.id}", headers=ADMIN).status_code == 200
    assert client.get(f"/api/cases/{case_no}/attachments", headers=STAFF).json() == []

    assert link_pending_attachments(session_factory, case_no, channel="wechat", sender_id="oX") == 2
    listed = client.get(f"/api/cases/{case_no}/attachments", headers=STAFF)
    assert listed.status_code == 200
    body = listed.json()
    assert [(a["kind"], a["filename"], a["content_type"], a["size"]) for a in body] == [
        ("image", "图片.png", "image/png", len(PNG)), ("document", "情况说明.pdf", "application/pdf", len(PDF))]
    assert body[1]["url"] == f"/api/attachments/{doc.id}"

    caplog.set_level("INFO", logger="bot.backoffice.pii_access")
    download = client.get(body[1]["url"], headers=STAFF)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert "filename*=utf-8''" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert any(f"attachment {doc.id}" in r.getMessage() for r in caplog.records)


def test_auth_and_not_found(client: TestClient) -> None:
    assert client.get("/api/attachments/1").status_code == 401
    assert client.get("/api/cases/XF20260101-0001/attachments").status_code == 401
    missing = client.get("/api/attachments/999", headers=STAFF)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert client.get("/api/cases/XF20260101-0001/attachments", headers=STAFF).status_code == 404
    assert client.get("/api/attachments/abc", headers=STAFF).status_code == 422


def test_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/cases/{case_no}/attachments" in paths and "/api/attachments/{attachment_id}" in paths
