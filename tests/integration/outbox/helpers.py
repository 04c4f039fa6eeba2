"""Shared bits of the outbox integration tests: queueing, reading rows, a case row, senders."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.cases.db import transaction
from bot.channels.senders import TelegramSender
from bot.outbox.models import OutboxMessage
from bot.outbox.service import enqueue

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def queue(session_factory: sessionmaker, *, channel: str = "telegram", recipient: str = "77", text: str = "您好",
          buttons: list[dict[str, str]] | None = None, case_id: int | None = None, at: datetime = NOW,
          kind: str = "status") -> int:
    with transaction(session_factory, write=True) as session:
        return int(enqueue(session, channel=channel, recipient=recipient, text=text, buttons=buttons,
                           case_id=case_id, kind=kind, now=at).id)


def row(session_factory: sessionmaker, message_id: int) -> OutboxMessage:
    with transaction(session_factory) as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        return found


def rows(session_factory: sessionmaker) -> list[OutboxMessage]:
    with transaction(session_factory) as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def make_case(session_factory: sessionmaker, case_no: str = "XF20260302000001") -> int:
    """A minimal case row (plain SQL: independent of columns other features add to the model)."""
    with transaction(session_factory, write=True) as session:
        session.execute(text(
            "INSERT INTO cases (case_no, status, channel, petitioner_name, facts, demand, consent, "
            "legal_channel_alternatives, transcript, created_at, updated_at) VALUES "
            "(:no, 'registered', 'telegram', '张三', '事实', '诉求', :yes, '[]', '[]', :at, :at)"
        ), {"no": case_no, "yes": True, "at": NOW.replace(tzinfo=None)})
        return int(session.execute(text("SELECT id FROM cases WHERE case_no = :no"), {"no": case_no}).scalar_one())


def case_events(session_factory: sessionmaker, case_id: int) -> list[tuple[str, str, Any]]:
    with transaction(session_factory) as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            text("SELECT action, actor, note FROM case_events WHERE case_id = :id ORDER BY id"), {"id": case_id})]


def telegram_sender(base_url: str, token: str, *, read_timeout: float = 2.0) -> TelegramSender:
    request = HTTPXRequest(read_timeout=read_timeout, write_timeout=read_timeout, connect_timeout=2.0)
    return TelegramSender(Bot(token, base_url=base_url, request=request))
