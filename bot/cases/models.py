"""SQLAlchemy models of the case store (SQLite and PostgreSQL).

Times are stored as timezone-aware UTC (``UTCDateTime``); SQLite keeps them as naive
UTC text and they come back aware. Status and channel are plain strings validated by
the service (no database enum, so adding a code needs no migration).
The schema is owned by the Alembic migrations in ``bot/cases/migrations``; a test
checks that they match these models.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship, validates
from sqlalchemy.types import TypeDecorator

from bot.security.crypto import EncryptedJSON, EncryptedString, blind_index

# Deterministic constraint names, so migrations can address them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base: Any = declarative_base(metadata=metadata)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC; naive input is rejected."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Case(Base):
    """One petition (信访事项) as submitted, with its routing and statutory clock."""

    __tablename__ = "cases"

    id = Column(Integer, primary_key=True)
    case_no = Column(String(32), nullable=False, unique=True)
    status = Column(String(32), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    sender_id = Column(String(128), nullable=True)
    conversation_id = Column(String(128), nullable=True)
    #: "<channel>:<sender_id>:<conversation_id>" — where the chat lives (Rasa tracker).
    conversation_ref = Column(String(400), nullable=True)
    idempotency_key = Column(String(128), nullable=True, unique=True)

    # petition slots (contract: DESIGN.md "Contract: dialogue")
    petition_type = Column(String(32), nullable=True)
    petitioner_name = Column(String(100), nullable=False)
    #: encrypted at rest (AES-GCM, bot/security/crypto.py); look up by the *_hash blind index
    id_number = Column(EncryptedString(), nullable=True)
    phone = Column(EncryptedString(), nullable=True)
    address = Column(String(500), nullable=True)
    issue_region = Column(String(200), nullable=True)
    category = Column(String(64), nullable=True, index=True)
    respondent = Column(String(500), nullable=True)
    occurred_on = Column(String(10), nullable=True)
    facts = Column(Text, nullable=False)
    demand = Column(Text, nullable=False)
    people_count = Column(Integer, nullable=True)
    prior_procedure = Column(String(32), nullable=True)
    consent = Column(Boolean, nullable=False, default=False)

    # triage (legal channel) result
    legal_channel = Column(String(64), nullable=True)
    legal_channel_alternatives = Column(JSON, nullable=False, default=list)
    triage_rule_id = Column(String(64), nullable=True)
    triage_version = Column(String(64), nullable=True)

    #: the chat turns given at submit: [{"role": "citizen"|"assistant", "text": ..., "at": ...}, ...]
    transcript = Column(EncryptedJSON(), nullable=False, default=list)

    created_at = Column(UTCDateTime, nullable=False, index=True)
    due_at = Column(UTCDateTime, nullable=True, index=True)
    updated_at = Column(UTCDateTime, nullable=False)

    # workflow (bot/cases/workflow.py; migration 0003_workflow)
    department_code = Column(String(32), nullable=True, index=True)
    assignee = Column(String(200), nullable=True, index=True)
    claimed_at = Column(UTCDateTime, nullable=True)
    joint = Column(Boolean, nullable=False, default=False, server_default=false())
    #: an earlier case of the same petitioner about the same matter (repeat petition)
    linked_case_no = Column(String(32), nullable=True)
    accepted_at = Column(UTCDateTime, nullable=True)
    extended = Column(Boolean, nullable=False, default=False, server_default=false())
    extension_reason = Column(Text, nullable=True)
    not_accepted_reason = Column(Text, nullable=True)
    suggested_channel = Column(String(64), nullable=True)
    answer_text = Column(Text, nullable=True)
    answered_at = Column(UTCDateTime, nullable=True)
    review_requested_at = Column(UTCDateTime, nullable=True)
    review_answer_text = Column(Text, nullable=True)
    review_answered_at = Column(UTCDateTime, nullable=True)
    recheck_requested_at = Column(UTCDateTime, nullable=True)
    recheck_answer_text = Column(Text, nullable=True)
    recheck_answered_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    satisfaction = Column(Integer, nullable=True)
    rated_at = Column(UTCDateTime, nullable=True)

    # personal data protection (bot/cases/privacy.py; migration 0005_security)
    #: blind indexes (keyed HMAC) of id_number and phone, for equality lookups; set by _index_pii
    id_number_hash = Column(String(64), nullable=True, index=True)
    phone_hash = Column(String(64), nullable=True, index=True)
    #: department code of the accused unit (检举控告): its staff never see the petitioner's identity
    respondent_department_code = Column(String(64), nullable=True)
    #: set when the retention command replaced the personal data with placeholders
    anonymised_at = Column(UTCDateTime, nullable=True)

    events = relationship(
        "CaseEvent",
        back_populates="case",
        order_by="CaseEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        Index("ix_cases_channel_sender_id", "channel", "sender_id"),
    )

    @validates("id_number", "phone")
    def _index_pii(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", blind_index(value))
        return value

    def __repr__(self) -> str:
        return f"<Case {self.case_no} {self.status}>"


class CaseEvent(Base):
    """Audit row: who did what to a case, when, and the status change it made."""

    __tablename__ = "case_events"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(UTCDateTime, nullable=False)
    actor = Column(String(200), nullable=False)
    action = Column(String(64), nullable=False)
    from_status = Column(String(32), nullable=True)
    to_status = Column(String(32), nullable=True)
    note = Column(Text, nullable=True)

    case = relationship("Case", back_populates="events")

    def __repr__(self) -> str:
        return f"<CaseEvent {self.action} {self.from_status}->{self.to_status} by {self.actor}>"


class CaseCounter(Base):
    """The last case number handed out per (Chinese) day: ``day`` is ``YYYYMMDD``."""

    __tablename__ = "case_counter"

    day = Column(String(8), primary_key=True)
    last_seq = Column(Integer, nullable=False)
