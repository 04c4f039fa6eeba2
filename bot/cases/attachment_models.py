"""Table of the files citizens send in the chat (photos, documents, WeChat images).

The bytes live on disk under ``Settings.attachments_dir``; a row records where
(``storage_path``, relative to that directory), what (kind, type, size, SHA-256) and from whom.
``case_id`` is empty while the attachment is *pending*: it arrived before the citizen's case
existed and is linked to the case when the petition is submitted.
"""
from __future__ import annotations

from enum import Enum

from sqlalchemy import Column, ForeignKey, Index, Integer, String

from bot.cases.models import Base, UTCDateTime


class AttachmentKind(str, Enum):
    PHOTO = "photo"  # Telegram photo (always JPEG)
    DOCUMENT = "document"  # Telegram document (a file with a name)
    IMAGE = "image"  # WeChat image message

    def __str__(self) -> str:
        return self.value


class Attachment(Base):
    __tablename__ = "attachments"

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=False)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True)
    kind = Column(String(16), nullable=False)
    filename = Column(String(255), nullable=False)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    #: relative to Settings.attachments_dir, "/"-separated
    storage_path = Column(String(500), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_attachments_channel_sender_id_case_id", "channel", "sender_id", "case_id"),)

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.kind} {self.filename!r} case={self.case_id}>"
