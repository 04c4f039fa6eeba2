"""Console pages of the human handoff: list, take over, relay, release (CSRF-checked forms)."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.handoff.service import divert_citizen_message, do_request_human
from bot.outbox.models import OutboxMessage
from tests.integration.backoffice.console_helpers import (
    STAFF_PW,
    console,
    csrf_of,
    fast_hashing,
    login,
    other_client,
)

__all__ = ["console", "fast_hashing", "other_client"]  # fixtures


def test_staff_take_over_a_chat_write_and_give_it_back(console: TestClient, other_client: TestClient,
                                                       session_factory: sessionmaker) -> None:
    handoff = do_request_human(session_factory, "telegram", "555", "我想找工作人员<script>alert(1)</script>")
    csrf = login(console, "staff1", STAFF_PW)
    listing = console.get("/console/handoffs")
    assert listing.status_code == 200 and f"/console/handoffs/{handoff.id}" in listing.text
    page = console.get(f"/console/handoffs/{handoff.id}")
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text

    # a forged form without the CSRF token changes nothing
    assert console.post(f"/console/handoffs/{handoff.id}/take", data={}).status_code == 403
    taken = console.post(f"/console/handoffs/{handoff.id}/take", data={"csrf_token": csrf})
    assert taken.status_code == 200 and "您已接入" in taken.text
    assert divert_citizen_message(session_factory, "telegram", "555", "好的").held

    # a colleague cannot take the same chat
    other_csrf = login(other_client, "staff2", STAFF_PW)
    refused = other_client.post(f"/console/handoffs/{handoff.id}/take", data={"csrf_token": other_csrf})
    assert refused.status_code == 409 and "其他工作人员" in refused.text

    sent = console.post(f"/console/handoffs/{handoff.id}/messages",
                        data={"csrf_token": csrf_of(taken.text), "text": "您好，我是李办理。"})
    assert sent.status_code == 200 and "您好，我是李办理。" in sent.text
    released = console.post(f"/console/handoffs/{handoff.id}/release", data={"csrf_token": csrf_of(sent.text)})
    assert released.status_code == 200 and "已结束人工服务" in released.text
    assert not divert_citizen_message(session_factory, "telegram", "555", "在吗").held

    with transaction(session_factory) as s:
        texts = [m.text for m in s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()]
    assert len(texts) == 3 and "李办理" in texts[0] and texts[1] == "您好，我是李办理。"
