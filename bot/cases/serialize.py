"""Cases as JSON-ready dicts for the back-office API and exports.

ID and phone numbers are masked unless ``reveal_pii`` (个人信息保护法 Art 51: minimise who
sees them). Masking of the transcript catches numbers the citizen typed in the chat.
``hide_identity`` (an accusation seen by staff of the accused unit, bot/cases/privacy.py)
also hides the name, address, chat identity and the citizen's chat turns.
:func:`case_to_dict_for` applies the identity policy for a principal.
Times are ISO 8601 in UTC; ``due_date`` is the China (Asia/Shanghai) calendar date of
the deadline, for display.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.cases.deadlines import local_date, utcnow
from bot.cases.models import Case, CaseEvent
from bot.cases.privacy import HIDDEN_TEXT, IdentityAccess, identity_access
from bot.cases.service import SLOT_FIELDS
from bot.cases.status import STATUS_LABELS, CaseStatus
from bot.cases.workflow import due_state

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


def _hidden_actor(actor: str) -> str:
    return "citizen" if actor.startswith("citizen:") else actor


def event_to_dict(event: CaseEvent, *, hide_identity: bool = False) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "actor": _hidden_actor(event.actor) if hide_identity else event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
    }


def workflow_fields(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """Queue, routing and answer fields of the workflow (bot/cases/workflow.py)."""
    return {
        "department_code": case.department_code,
        "assignee": case.assignee,
        "claimed_at": _iso(case.claimed_at),
        "joint": bool(case.joint),
        "linked_case_no": case.linked_case_no,
        "due_state": due_state(case.due_at, now or utcnow()),
        "accepted_at": _iso(case.accepted_at),
        "extended": bool(case.extended),
        "extension_reason": case.extension_reason,
        "not_accepted_reason": case.not_accepted_reason,
        "suggested_channel": case.suggested_channel,
        "answer_text": case.answer_text,
        "answered_at": _iso(case.answered_at),
        "review_answer_text": case.review_answer_text,
        "review_answered_at": _iso(case.review_answered_at),
        "recheck_answer_text": case.recheck_answer_text,
        "recheck_answered_at": _iso(case.recheck_answered_at),
        "closed_at": _iso(case.closed_at),
        "satisfaction": case.satisfaction,
    }


def case_to_dict(
    case: Case,
    reveal_pii: bool,
    *,
    include_transcript: bool = False,
    include_events: bool = False,
    hide_identity: bool = False,
) -> dict[str, Any]:
    """Every contract field of a case plus bookkeeping; PII masked unless ``reveal_pii``,
    the whole identity hidden when ``hide_identity``."""
    reveal_pii = reveal_pii and not hide_identity
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
    if hide_identity:
        data.update(
            petitioner_name=HIDDEN_TEXT, id_number=None, phone=None,
            address=HIDDEN_TEXT if case.address else None, sender_id=None, conversation_id=None,
        )
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
        identity_hidden=hide_identity,
    )
    data.update(workflow_fields(case))
    if include_transcript:
        turns = [dict(turn) for turn in (case.transcript or [])]
        if not reveal_pii:
            for turn in turns:
                if isinstance(turn.get("text"), str):
                    turn["text"] = _mask_text(turn["text"])
        if hide_identity:
            for turn in turns:
                if turn.get("role") != "assistant":
                    turn["text"] = HIDDEN_TEXT
        data["transcript"] = turns
    if include_events:
        data["events"] = [event_to_dict(e, hide_identity=hide_identity) for e in case.events]
    return data


def case_to_dict_for(
    case: Case,
    principal_role: Any,
    principal_department: str | None = None,
    *,
    revealed: bool = False,
    pii_scope: bool = False,
    include_transcript: bool = False,
    include_events: bool = False,
) -> dict[str, Any]:
    """The case as a principal may see it (identity policy of bot/cases/privacy.py).

    ``revealed``: the caller obtained the identity through ``do_reveal_identity`` (audited);
    it only unmasks when the policy allows it.
    """
    access = identity_access(case, principal_role, principal_department, pii_scope=pii_scope)
    return case_to_dict(
        case,
        reveal_pii=revealed and access is IdentityAccess.FULL,
        include_transcript=include_transcript,
        include_events=include_events,
        hide_identity=access is IdentityAccess.HIDDEN,
    )
