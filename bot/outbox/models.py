"""Tables of the outbox: queued messages and the citizens' contact windows."""
from __future__ import annotations

from enum import Enum

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from bot.cases.models import Base, UTCDateTime


class OutboxState(str, Enum):
    PENDING = "pending"  # waiting for (the next attempt at) delivery
    SENDING = "sending"  # claimed by a dispatcher; back to pending if it dies (lease expiry)
    SENT = "sent"  # the channel's API accepted it
    HELD = "held"  # cannot be pushed now (WeChat 48-hour window, REST without callback)
    FAILED = "failed"  # gave up after the last retry; visible to staff

    def __str__(self) -> str:
        return self.value


class OutboxMessage(Base):
    """One message to one citizen in the channel they used."""

    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    recipient = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)
    #: closed choices as buttons: [{"title": "满意", "payload": "/rate_case{...}"}, ...]
    buttons = Column(JSON, nullable=False, default=list)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True)
    #: why it is sent: status | reply | satisfaction | handoff | notice
    kind = Column(String(32), nullable=False, default="notice")
    #: makes enqueueing idempotent (e.g. "status:<case_no>:<event id>")
    dedupe_key = Column(String(200), nullable=True, unique=True)
    state = Column(String(16), nullable=False, default=OutboxState.PENDING.value)
    #: delivery attempts started (a claim counts one; a hold gives it back)
    attempts = Column(Integer, nullable=False, default=0)
    #: pieces of a split text already accepted by the channel (a retry sends the rest only)
    parts_sent = Column(Integer, nullable=False, default=0, server_default="0")
    #: pending: due time of the next attempt; sending: end of the dispatcher's lease
    next_attempt_at = Column(UTCDateTime, nullable=False)
    last_error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    sent_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_outbox_channel_recipient", "channel", "recipient"),
    )

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.channel}:{self.recipient} {self.state}>"


class Contact(Base):
    """A citizen's chat account (channel + user id) and when they last wrote to us.

    WeChat lets an official account push customer-service messages only within 48 hours
    of the citizen's last message; the dispatcher reads ``last_inbound_at`` for that.
    """

    __tablename__ = "contacts"

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    first_seen_at = Column(UTCDateTime, nullable=False)
    last_inbound_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("channel", "sender_id"),)


class SharedToken(Base):
    """A credential shared by every process (the WeChat access token) when Redis is not configured.

    ``lock_owner`` / ``lock_until`` form a lease: the one process holding it fetches a new
    value while the others wait and then read it, so no process invalidates another's token.
    """

    __tablename__ = "shared_tokens"

    key = Column(String(200), primary_key=True)
    value = Column(Text, nullable=True)
    expires_at = Column(UTCDateTime, nullable=True)
    lock_owner = Column(String(64), nullable=True)
    lock_until = Column(UTCDateTime, nullable=True)
    updated_at = Column(UTCDateTime, nullable=False)
