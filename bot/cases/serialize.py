"""Cases as JSON-ready dicts for the back-office API and exports.

ID and phone numbers are masked unless ``reveal_pii`` (个人信息保护法 Art 51: minimise who
sees them). Masking of the transcript catches numbers the citizen typed in the chat.
Times are ISO 8601 in UTC; ``due_date`` is the China (Asia/Shanghai) calendar date of
the deadline, for display.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.cases.deadlines import local_date
from bot.cases.models import Case, CaseEvent
from bot.cases.service import SLOT_FIELDS
from bot.cases.status import STATUS_LABELS, CaseStatus

_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def _mask_id_number(value: str | None) -> str | None:
    """``11010519491231002X`` -> ``110105********002X`` (first 6, last 4 kept)."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _mask_phone(value: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; landlines keep the first 3 and last 4 digits."""
    if not value:
        return value
    if len(value) < 8:
        return "*" * (len(value) - 2) + value[-2:] if len(value) > 2 else "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def _mask_text(text: str) -> str:
    text = _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    return _MOBILE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _status_label(code: str) -> str:
    try:
        return STATUS_LABELS[CaseStatus(code)]
    except ValueError:
        return code


def event_to_dict(event: CaseEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
    }


def case_to_dict(
    case: Case, reveal_pii: bool, *, include_transcript: bool = False, include_events: bool = False
) -> dict[str, Any]:
    """Every contract field of a case plus bookkeeping; PII masked unless ``reveal_pii``."""
    data: dict[str, Any] = {
        "case_no": case.case_no,
        "status": case.status,
        "status_label": _status_label(case.status),
        "channel": case.channel,
        "sender_id": case.sender_id,
        "conversation_id": case.conversation_id,
    }
    for name in SLOT_FIELDS:
        data[name] = getattr(case, name)
    data["confirm"] = True  # a case is only stored after the citizen confirmed the summary
    if not reveal_pii:
        data["id_number"] = _mask_id_number(case.id_number)
        data["phone"] = _mask_phone(case.phone)
    data["is_joint"] = bool(case.people_count and case.people_count > 1)
    data.update(
        legal_channel=case.legal_channel,
        legal_channel_alternatives=list(case.legal_channel_alternatives or []),
        triage_rule_id=case.triage_rule_id,
        triage_version=case.triage_version,
        created_at=_iso(case.created_at),
        updated_at=_iso(case.updated_at),
        due_at=_iso(case.due_at),
        due_date=local_date(case.due_at).isoformat() if case.due_at is not None else None,
        pii_masked=not reveal_pii,
    )
    if include_transcript:
        turns = [dict(turn) for turn in (case.transcript or [])]
        if not reveal_pii:
            for turn in turns:
                if isinstance(turn.get("text"), str):
                    turn["text"] = _mask_text(turn["text"])
        data["transcript"] = turns
    if include_events:
        data["events"] = [event_to_dict(e) for e in case.events]
    return data
