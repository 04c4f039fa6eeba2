"""Attachments in the case store: stored pending, de-duplicated, linked on submit (SQLite + PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.attachment_models import Attachment
from bot.cases.attachments import (
    AttachmentPolicy,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
    attachment_path,
    do_store_attachment,
    get_attachment,
    link_pending_attachments,
    list_case_attachments,
    pending_attachments,
)
from bot.cases.db import transaction
from bot.cases.models import CaseEvent
from bot.cases.service import PetitionSubmission, do_submit_petition
from bot.errors import InvalidInput, NotFound

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256))
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def policy(tmp_path: Path) -> AttachmentPolicy:
    return AttachmentPolicy(storage_dir=tmp_path / "attachments", max_bytes=4096)


def submit(session_factory: sessionmaker, channel: str, sender: str) -> str:
    result = do_submit_petition(session_factory, PetitionSubmission(
        petitioner_name="王建国", facts="公司拖欠工资三个月", demand="补发工资", consent=True,
        channel=channel, sender_id=sender, conversation_id=sender,
    ), now=NOW)
    return result.case_no


def test_pending_file_is_stored_and_linked_on_submit(session_factory: sessionmaker, policy: AttachmentPolicy) -> None:
    photo = do_store_attachment(session_factory, policy, channel="telegram", sender_id="77", kind="photo",
                                data=JPEG, filename=None, now=NOW)
    doc = do_store_attachment(session_factory, policy, channel="telegram", sender_id="77", kind="document",
                              data=PDF, filename="工资条.pdf", declared_type="application/pdf", now=NOW)
    other = do_store_attachment(session_factory, policy, channel="wechat", sender_id="77", kind="image",
                                data=JPEG, now=NOW)
    assert (photo.filename, photo.content_type, photo.size, photo.case_id) == ("照片.jpg", "image/jpeg", len(JPEG), None)
    assert doc.filename == "工资条.pdf" and doc.sha256 and len(doc.sha256) == 64
    stored = attachment_path(policy, doc)
    assert stored.read_bytes() == PDF and policy.storage_dir.resolve() in stored.parents
    assert stored.relative_to(policy.storage_dir.resolve()).parts[:2] == ("2026", "03")
    assert [a.id for a in pending_attachments(session_factory, "telegram", "77")] == [photo.id, doc.id]

    case_no = submit(session_factory, "telegram", "77")
    assert link_pending_attachments(session_factory, case_no, channel="telegram", sender_id="77", now=NOW) == 2
    assert [a.filename for a in list_case_attachments(session_factory, case_no)] == ["照片.jpg", "工资条.pdf"]
    assert pending_attachments(session_factory, "telegram", "77") == []
    # another channel's file of the same user id stays pending
    assert [a.id for a in pending_attachments(session_factory, "wechat", "77")] == [other.id]
    row, linked_case = get_attachment(session_factory, doc.id)
    assert linked_case == case_no and row.case_id is not None
    with transaction(session_factory) as s:
        events = s.execute(select(CaseEvent).where(CaseEvent.action == "attachments_linked")).scalars().all()
    assert len(events) == 1 and "工资条.pdf" in (events[0].note or "")
    # nothing left to link: no audit row either
    assert link_pending_attachments(session_factory, case_no, channel="telegram", sender_id="77") == 0
    with transaction(session_factory) as s:
        assert len(s.execute(select(CaseEvent).where(CaseEvent.action == "attachments_linked")).all()) == 1


def test_same_file_twice_is_stored_once(session_factory: sessionmaker, policy: AttachmentPolicy) -> None:
    first = do_store_attachment(session_factory, policy, channel="wechat", sender_id="o1", kind="image", data=JPEG)
    again = do_store_attachment(session_factory, policy, channel="wechat", sender_id="o1", kind="image", data=JPEG)
    assert again.id == first.id
    assert len(list(policy.storage_dir.rglob("*.jpg"))) == 1


def test_refusals_store_nothing(session_factory: sessionmaker, policy: AttachmentPolicy) -> None:
    with pytest.raises(AttachmentTooLarge):
        do_store_attachment(session_factory, policy, channel="telegram", sender_id="1", kind="document",
                            data=PDF + b" " * 5000, filename="big.pdf")
    with pytest.raises(AttachmentTypeNotAllowed):
        do_store_attachment(session_factory, policy, channel="telegram", sender_id="1", kind="document",
                            data=b"MZ\x90\x00payload", filename="tool.exe")
    with pytest.raises(InvalidInput):
        do_store_attachment(session_factory, policy, channel="fax", sender_id="1", kind="photo", data=JPEG)
    with pytest.raises(InvalidInput):
        do_store_attachment(session_factory, policy, channel="telegram", sender_id="", kind="photo", data=JPEG)
    with transaction(session_factory) as s:
        assert s.execute(select(Attachment)).first() is None
    assert not policy.storage_dir.exists() or not any(p.is_file() for p in policy.storage_dir.rglob("*"))


def test_not_found(session_factory: sessionmaker, policy: AttachmentPolicy) -> None:
    with pytest.raises(NotFound):
        list_case_attachments(session_factory, "XF20260101-9999")
    with pytest.raises(NotFound):
        link_pending_attachments(session_factory, "XF20260101-9999", channel="rest", sender_id="u")
    with pytest.raises(NotFound):
        get_attachment(session_factory, 424242)
    row = do_store_attachment(session_factory, policy, channel="rest", sender_id="u", kind="document",
                              data=PDF, filename="a.pdf")
    attachment_path(policy, row).unlink()
    with pytest.raises(NotFound):
        attachment_path(policy, row)
    row.storage_path = "../../outside.pdf"
    with pytest.raises(NotFound):
        attachment_path(policy, row)
