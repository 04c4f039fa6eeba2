"""Tables of the human handoff: one row per request, and the messages relayed during it."""
from __future__ import annotations

from enum import Enum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.cases.models import Base, UTCDateTime


class HandoffState(str, Enum):
    WAITING = "waiting"  # the citizen asked; nobody has taken the chat yet (the bot still answers)
    HELD = "held"  # a member of staff holds the chat; the bot is silent
    CLOSED = "closed"  # released by staff (or withdrawn); the bot answers again

    @property
    def label(self) -> str:
        return {"waiting": "等待接入", "held": "人工服务中", "closed": "已结束"}[self.value]

    def __str__(self) -> str:
        return self.value


class Handoff(Base):
    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    state = Column(String(16), nullable=False)
    reason = Column(Text, nullable=True)
    requested_at = Column(UTCDateTime, nullable=False)
    taken_by = Column(String(200), nullable=True)
    taken_at = Column(UTCDateTime, nullable=True)
    closed_by = Column(String(200), nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    last_message_at = Column(UTCDateTime, nullable=False)

    messages = relationship(
        "HandoffMessage", back_populates="handoff", order_by="HandoffMessage.id",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    __table_args__ = (Index("ix_handoffs_channel_sender_id_state", "channel", "sender_id", "state"),)


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    #: citizen | staff | system
    role = Column(String(16), nullable=False)
    author = Column(String(200), nullable=False)
    text = Column(Text, nullable=False)
    at = Column(UTCDateTime, nullable=False)

    handoff = relationship("Handoff", back_populates="messages")
