"""Handoff service: every change is one transaction; messages to the citizen go through the outbox.

``divert_citizen_message`` is what the channels call for each inbound message: it stores the
message on an open handoff and answers whether a person holds the chat (then the bot keeps quiet).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.errors import Conflict, InvalidInput, NotFound
from bot.handoff.models import Handoff, HandoffMessage, HandoffState
from bot.outbox.service import InboundRecord, enqueue, inbound_columns, quiet_inbound

MAX_MESSAGE = 4000
OPEN_STATES = (HandoffState.WAITING.value, HandoffState.HELD.value)

TAKEN_NOTICE = "您好，我是信访工作人员{name}，现在由我来为您服务。请直接说明您的问题，我会尽快回复您。"
RELEASED_NOTICE = "本次人工服务已结束，感谢您的耐心。之后的消息将由智能助手先为您解答；如还需人工，随时发送“转人工”。"


@dataclass(frozen=True)
class Diversion:
    """What the channel should do with one inbound message."""

    held: bool  # True: a person holds the chat; do not pass the message to the bot
    handoff_id: int | None = None


def _now(now: datetime | None) -> datetime:
    return to_utc(now) if now is not None else utcnow()


def _open_for(channel: Any, sender_id: Any) -> tuple[Any, ...]:
    """Conditions on :class:`Handoff` rows: this chat account's handoff that waits or is held."""
    return (Handoff.channel == channel, Handoff.sender_id == sender_id, Handoff.state.in_(OPEN_STATES))


def _open_handoff(session, channel: str, sender_id: str) -> Handoff | None:  # type: ignore[no-untyped-def]
    return session.execute(
        select(Handoff).where(*_open_for(channel, sender_id)).order_by(Handoff.id.desc()).limit(1)
    ).scalar_one_or_none()


def waiting_for_staff(session_factory: sessionmaker, channel: str, sender_id: str) -> bool:
    """This chat account asked for staff and the request is still open (waiting or held)."""
    with session_factory() as session:
        return _open_handoff(session, channel, sender_id) is not None


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("empty message", user_message="消息内容不能为空。")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput("message too long", user_message=f"消息太长了，请控制在{MAX_MESSAGE}字以内。")
    return text


def do_request_human(
    session_factory: sessionmaker, channel: str, sender_id: str, reason: str | None = None,
    now: datetime | None = None,
) -> Handoff:
    """Open a handoff request for this chat account (or return the one already open)."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        existing = _open_handoff(session, channel, sender_id)
        if existing is not None:
            return existing
        handoff = Handoff(
            channel=channel, sender_id=sender_id, state=HandoffState.WAITING.value,
            reason=(reason or "").strip()[:MAX_MESSAGE] or None, requested_at=at, last_message_at=at,
        )
        session.add(handoff)
        session.flush()
        if handoff.reason:
            session.add(HandoffMessage(handoff_id=handoff.id, role="citizen", author="citizen",
                                       text=handoff.reason, at=at))
        return handoff


def divert_citizen_message(
    session_factory: sessionmaker, channel: str, sender_id: str, text: str, now: datetime | None = None
) -> Diversion:
    """Store a citizen's message on their open handoff; ``held`` tells the channel to keep the bot quiet."""
    at = _now(now)
    # Every citizen message passes here and almost none has a handoff: look first without taking
    # the write lock (on SQLite, BEGIN IMMEDIATE would queue every chat message behind each other).
    with transaction(session_factory) as session:
        if _open_handoff(session, channel, sender_id) is None:
            return Diversion(held=False)
    with transaction(session_factory, write=True) as session:
        handoff = _open_handoff(session, channel, sender_id)
        if handoff is None:
            return Diversion(held=False)
        body = (text or "").strip()
        if body:
            session.add(HandoffMessage(handoff_id=handoff.id, role="citizen", author="citizen",
                                       text=body[:MAX_MESSAGE], at=at))
            handoff.last_message_at = at
        return Diversion(held=handoff.state == HandoffState.HELD.value, handoff_id=handoff.id)


@dataclass(frozen=True)
class InboundGlance:
    """What one inbound message needs from the database, read in one transaction: the usual
    message (no person holds the chat, the contact wrote moments ago, nothing waits for them)
    then needs no further query and no write."""

    handoff_open: bool  # a handoff waits or is held: :func:`divert_citizen_message` must run
    quiet: InboundRecord | None  # record_inbound's answer when it would write nothing, else None
    waiting: bool  # outbox messages held or pending for the sender


def glance_inbound(
    session_factory: sessionmaker, channel: str, sender_id: str, *, release_held: bool = True,
    now: datetime | None = None,
) -> InboundGlance:
    """Read-only look at a citizen's inbound message (see :class:`InboundGlance`)."""
    at = _now(now)
    with transaction(session_factory) as session:
        handoff_id, last_inbound, last_sent, held, waiting = session.execute(
            _glance_statement(), {"channel": channel, "sender_id": sender_id}
        ).one()
    return InboundGlance(handoff_open=handoff_id is not None,
                         quiet=quiet_inbound(last_inbound, last_sent, held is not None, at, release_held),
                         waiting=waiting is not None)


@cache
def _glance_statement() -> Any:
    """The statement of :func:`glance_inbound`, built once (it runs for every inbound message)."""
    channel, sender_id = bindparam("channel"), bindparam("sender_id")
    handoff = select(Handoff.id).where(*_open_for(channel, sender_id)).limit(1).scalar_subquery()
    return select(handoff, *inbound_columns(channel, sender_id))


def _locked(session, handoff_id: int) -> Handoff:  # type: ignore[no-untyped-def]
    handoff = session.execute(
        select(Handoff).where(Handoff.id == handoff_id).with_for_update()
    ).scalar_one_or_none()
    if handoff is None:
        raise NotFound(f"handoff {handoff_id} not found", user_message="没有找到这个人工服务请求。")
    return handoff


def do_take_over(
    session_factory: sessionmaker, handoff_id: int, staff: str, display_name: str | None = None,
    now: datetime | None = None,
) -> Handoff:
    """A member of staff takes the chat: the bot goes quiet and the citizen is told who is there."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        handoff = _locked(session, handoff_id)
        if handoff.state == HandoffState.HELD.value and handoff.taken_by == staff:
            return handoff
        if handoff.state != HandoffState.WAITING.value:
            raise Conflict(
                f"handoff {handoff_id} is {handoff.state}",
                user_message="这个会话已由其他工作人员接入或已结束。",
            )
        handoff.state = HandoffState.HELD.value
        handoff.taken_by = staff
        handoff.taken_at = at
        notice = TAKEN_NOTICE.format(name=display_name or "")
        session.add(HandoffMessage(handoff_id=handoff.id, role="system", author=staff, text=notice, at=at))
        enqueue(session, channel=handoff.channel, recipient=handoff.sender_id, text=notice, kind="handoff",
                dedupe_key=f"handoff:{handoff.id}:taken", now=at)
        return handoff


def do_staff_message(
    session_factory: sessionmaker, handoff_id: int, staff: str, text: str, now: datetime | None = None
) -> HandoffMessage:
    """Relay a staff message to the citizen (through the outbox, in the citizen's channel)."""
    body = _clean(text)
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        handoff = _locked(session, handoff_id)
        if handoff.state != HandoffState.HELD.value or handoff.taken_by != staff:
            raise Conflict("only the member of staff holding the chat may write",
                           user_message="请先接入这个会话再回复。")
        message = HandoffMessage(handoff_id=handoff.id, role="staff", author=staff, text=body, at=at)
        session.add(message)
        handoff.last_message_at = at
        session.flush()
        enqueue(session, channel=handoff.channel, recipient=handoff.sender_id, text=body, kind="handoff",
                dedupe_key=f"handoff:{handoff.id}:msg:{message.id}", now=at)
        return message


def do_release(
    session_factory: sessionmaker, handoff_id: int, staff: str, now: datetime | None = None
) -> Handoff:
    """End the handoff: the bot answers again and the citizen is told so."""
    at = _now(now)
    with transaction(session_factory, write=True) as session:
        handoff = _locked(session, handoff_id)
        if handoff.state == HandoffState.CLOSED.value:
            return handoff
        if handoff.state == HandoffState.HELD.value and handoff.taken_by != staff:
            raise Conflict("held by another member of staff", user_message="这个会话由其他工作人员接入中。")
        was_held = handoff.state == HandoffState.HELD.value
        handoff.state = HandoffState.CLOSED.value
        handoff.closed_by = staff
        handoff.closed_at = at
        session.add(HandoffMessage(handoff_id=handoff.id, role="system", author=staff, text=RELEASED_NOTICE, at=at))
        if was_held:
            enqueue(session, channel=handoff.channel, recipient=handoff.sender_id, text=RELEASED_NOTICE,
                    kind="handoff", dedupe_key=f"handoff:{handoff.id}:released", now=at)
        return handoff


def list_handoffs(
    session_factory: sessionmaker, states: Sequence[str] = OPEN_STATES, limit: int = 100
) -> list[Handoff]:
    """Open handoffs, oldest request first (the one waiting longest is served first)."""
    with transaction(session_factory) as session:
        rows = session.execute(
            select(Handoff).where(Handoff.state.in_(list(states))).order_by(Handoff.requested_at, Handoff.id)
            .limit(limit)
        ).scalars().all()
        return list(rows)


def get_handoff(session_factory: sessionmaker, handoff_id: int) -> Handoff:
    with transaction(session_factory) as session:
        handoff = session.execute(
            select(Handoff).where(Handoff.id == handoff_id).options(selectinload(Handoff.messages))
        ).scalar_one_or_none()
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} not found", user_message="没有找到这个人工服务请求。")
        return handoff
