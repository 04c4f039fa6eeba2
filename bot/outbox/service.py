"""Writing to and reading the outbox.

``enqueue`` joins the caller's transaction (no commit here). ``record_inbound`` is what the input
channels call for each message a citizen sends (contact window, held messages);
``failed_messages`` / ``outbox_stats`` are for staff. Delivery itself is
:mod:`bot.outbox.dispatcher`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.models import CaseEvent
from bot.errors import Conflict, InvalidInput, NotFound
from bot.outbox.models import Contact, OutboxMessage, OutboxState

MAX_TEXT = 20_000
KINDS = frozenset({"status", "reply", "satisfaction", "handoff", "notice"})


def _clean_buttons(buttons: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    cleaned = []
    for button in buttons or ():
        title, payload = button.get("title"), button.get("payload")
        if not isinstance(title, str) or not isinstance(payload, str) or not title or not payload:
            raise InvalidInput("a button needs a title and a payload")
        cleaned.append({"title": title, "payload": payload})
    return cleaned


def enqueue(
    session: Session,
    *,
    channel: str,
    recipient: str,
    text: str,
    buttons: Sequence[dict[str, Any]] | None = None,
    case_id: int | None = None,
    kind: str = "notice",
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue one message for a citizen inside the caller's transaction.

    With ``dedupe_key`` a second call returns the first message instead of queueing
    another, so a retried transaction never sends the same update twice.
    """
    if not text or not text.strip():
        raise InvalidInput("an outgoing message needs text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"outgoing message longer than {MAX_TEXT} characters")
    if kind not in KINDS:
        raise InvalidInput(f"unknown outbox kind {kind!r}")
    if not channel or not recipient:
        raise InvalidInput("an outgoing message needs a channel and a recipient")
    if dedupe_key is not None:
        existing = session.execute(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    at = to_utc(now) if now is not None else utcnow()
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        text=text,
        buttons=_clean_buttons(buttons),
        case_id=case_id,
        kind=kind,
        dedupe_key=dedupe_key,
        state=OutboxState.PENDING.value,
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(message)
    session.flush()
    return message


# ---- contacts and held messages ------------------------------------------------------------------
@dataclass(frozen=True)
class InboundRecord:
    """What :func:`record_inbound` found out about one inbound message."""

    first_time: bool
    #: the citizen's previous message before this one (None the first time)
    previous_inbound_at: datetime | None
    #: held messages turned back into pending
    released: int
    #: buttons of the latest message the outbox delivered since the previous inbound message
    #: (WeChat: a reply "1" answers those numbered options)
    last_buttons: list[dict[str, str]] = field(default_factory=list)


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    raise NotImplementedError(f"no upsert for {name}")


def record_inbound(
    session_factory: sessionmaker,
    channel: str,
    sender_id: str,
    now: datetime | None = None,
    *,
    release_held: bool = True,
) -> InboundRecord:
    """The citizen wrote to us: upsert their Contact and make their held messages due now.

    Called by every input channel for every inbound message (``asyncio.to_thread``). With
    ``release_held=False`` held messages stay held (the REST channel without a callback URL
    hands them out itself, see :func:`take_held_for_reply`).
    """
    if not channel or not sender_id:
        raise InvalidInput("an inbound message needs a channel and a sender")
    at = to_utc(now) if now is not None else utcnow()
    unchanged = _recent_and_quiet(session_factory, channel, sender_id, at, release_held)
    if unchanged is not None:
        return unchanged
    with transaction(session_factory, write=True) as session:
        insert = _dialect_insert(session)
        created = session.execute(
            insert(Contact)
            .values(channel=channel, sender_id=sender_id, first_seen_at=at, last_inbound_at=at)
            .on_conflict_do_nothing(index_elements=["channel", "sender_id"])
        ).rowcount == 1
        contact = session.execute(
            select(Contact).where(Contact.channel == channel, Contact.sender_id == sender_id).with_for_update()
        ).scalar_one()
        previous = None if created else contact.last_inbound_at
        if previous is not None and previous < at:
            contact.last_inbound_at = at
        released = 0
        if release_held:
            released = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.channel == channel, OutboxMessage.recipient == sender_id,
                       OutboxMessage.state == OutboxState.HELD.value)
                .values(state=OutboxState.PENDING.value, next_attempt_at=at, updated_at=at)
                .execution_options(synchronize_session=False)
            ).rowcount
        buttons: list[dict[str, str]] = []
        if previous is not None:
            latest = session.execute(
                select(OutboxMessage.buttons)
                .where(OutboxMessage.channel == channel, OutboxMessage.recipient == sender_id,
                       OutboxMessage.state == OutboxState.SENT.value, OutboxMessage.sent_at >= previous)
                .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            buttons = list(latest or [])
        return InboundRecord(first_time=created, previous_inbound_at=previous, released=released,
                             last_buttons=buttons)


#: a contact seen this recently is not written again when nothing else would change
INBOUND_REFRESH = timedelta(seconds=30)


def _recent_and_quiet(
    session_factory: sessionmaker, channel: str, sender_id: str, at: datetime, release_held: bool
) -> InboundRecord | None:
    """The answer of :func:`record_inbound` without writing, when writing would change nothing
    that matters: the contact wrote within :data:`INBOUND_REFRESH`, nothing was sent to them since
    (so the buttons they may be answering are the same) and nothing held waits to be released.
    ``last_inbound_at`` then lags by at most that long — the 48-hour WeChat window does not
    notice. Without this every chat message took the database's write lock (SQLite: one writer)."""
    with transaction(session_factory) as session:
        last_inbound, last_sent, held, _waiting = session.execute(select(*inbound_columns(channel, sender_id))).one()
    return quiet_inbound(last_inbound, last_sent, held is not None, at, release_held)


def _waiting_for(channel: Any, recipient: Any) -> tuple[Any, ...]:
    """Conditions on outbox rows a channel that answers in its reply (REST without callback)
    hands out itself: the recipient's held or pending messages."""
    return (OutboxMessage.channel == channel, OutboxMessage.recipient == recipient,
            OutboxMessage.state.in_([OutboxState.HELD.value, OutboxState.PENDING.value]))


def inbound_columns(channel: Any, sender_id: Any) -> list[Any]:
    """Scalar subqueries, read together in one statement for an inbound message: the contact's
    last inbound time, when something was last sent to them, the id of a held message and of a
    waiting one (held or pending: what :func:`take_held_for_reply` hands out), each NULL when there is none.
    ``channel`` and ``sender_id`` are values or bound parameters (a statement prepared once)."""
    mine = (OutboxMessage.channel == channel, OutboxMessage.recipient == sender_id)

    def any_id(*where: Any) -> Any:
        return select(OutboxMessage.id).where(*mine, *where).limit(1).scalar_subquery()

    return [
        select(Contact.last_inbound_at)
        .where(Contact.channel == channel, Contact.sender_id == sender_id).scalar_subquery(),
        select(func.max(OutboxMessage.sent_at))
        .where(*mine, OutboxMessage.state == OutboxState.SENT.value).scalar_subquery(),
        any_id(OutboxMessage.state == OutboxState.HELD.value),
        select(OutboxMessage.id).where(*_waiting_for(channel, sender_id)).limit(1).scalar_subquery(),
    ]


def quiet_inbound(
    last_inbound: datetime | None, last_sent: datetime | None, held: bool, at: datetime, release_held: bool
) -> InboundRecord | None:
    """What :func:`record_inbound` would answer without writing anything, or None when it must
    write: the contact is known and wrote within :data:`INBOUND_REFRESH`, nothing was sent to
    them since, and (when held messages are to be released) none is held."""
    if last_inbound is None:
        return None
    last = to_utc(last_inbound)
    if not (at - INBOUND_REFRESH <= last <= at):
        return None
    if (last_sent is not None and to_utc(last_sent) >= last) or (release_held and held):
        return None
    return InboundRecord(first_time=False, previous_inbound_at=last, released=0, last_buttons=[])


def take_held_for_reply(
    session_factory: sessionmaker, channel: str, recipient: str, now: datetime | None = None, limit: int = 20,
) -> list[OutboxMessage]:
    """Hand the recipient's waiting messages (held, or pending and not claimed) to a channel that
    shows them in its reply to the citizen's message; they are marked sent, oldest first."""
    at = to_utc(now) if now is not None else utcnow()
    waiting = _waiting_for(channel, recipient)
    # Called for every REST message; usually nothing waits: check without the write lock first.
    with transaction(session_factory) as session:
        if session.execute(select(OutboxMessage.id).where(*waiting).limit(1)).first() is None:
            return []
    with transaction(session_factory, write=True) as session:
        rows = list(session.execute(
            select(OutboxMessage)
            .where(*waiting)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars())
        for row in rows:
            row.state = OutboxState.SENT.value
            row.sent_at = at
            row.updated_at = at
            row.last_error = None
        return rows


# ---- what staff see -----------------------------------------------------------------------------
def failed_messages(
    session_factory: sessionmaker, *, channel: str | None = None, case_id: int | None = None, limit: int = 100,
) -> list[OutboxMessage]:
    """Messages the outbox gave up on, newest first (for the staff console / API)."""
    query = select(OutboxMessage).where(OutboxMessage.state == OutboxState.FAILED.value)
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    if case_id is not None:
        query = query.where(OutboxMessage.case_id == case_id)
    with transaction(session_factory) as session:
        return list(session.execute(
            query.order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc()).limit(limit)
        ).scalars())


@dataclass(frozen=True)
class OutboxStats:
    """Counts per state, and how far the outbox is behind."""

    by_state: dict[str, int]
    #: pending messages whose time has come (backlog right now)
    due: int
    #: age in seconds of the oldest due message (0 when none)
    oldest_due_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"by_state": dict(self.by_state), "due": self.due, "oldest_due_seconds": self.oldest_due_seconds}


def outbox_stats(session_factory: sessionmaker, now: datetime | None = None) -> OutboxStats:
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory) as session:
        counts = {state.value: 0 for state in OutboxState}
        for state, count in session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        ):
            counts[str(state)] = int(count)
        due, oldest = session.execute(
            select(func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.state == OutboxState.PENDING.value, OutboxMessage.next_attempt_at <= at)
        ).one()
    age = 0.0
    if oldest is not None:
        oldest_at = oldest if oldest.tzinfo is not None else oldest.replace(tzinfo=timezone.utc)
        age = max(0.0, (at - oldest_at).total_seconds())
    return OutboxStats(by_state=counts, due=int(due), oldest_due_seconds=age)


def do_retry_failed(
    session_factory: sessionmaker, message_id: int, *, actor: str, now: datetime | None = None,
) -> OutboxMessage:
    """Staff ask for another round of attempts on a failed message (audited on its case)."""
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory, write=True) as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"outbox message {message_id} not found", user_message="没有找到这条消息。")
        if row.state != OutboxState.FAILED.value:
            raise Conflict(f"outbox message {message_id} is {row.state}",
                           user_message="这条消息没有发送失败，不需要重发。")
        row.state = OutboxState.PENDING.value
        row.attempts = 0
        row.next_attempt_at = at
        row.updated_at = at
        if row.case_id is not None:
            session.add(CaseEvent(case_id=row.case_id, at=at, actor=actor, action="message_retry",
                                  note=f"outbox #{row.id} ({row.kind}, {row.channel})"))
        return row
