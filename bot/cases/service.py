"""Case service: every state change is one ``do_*`` function = one transaction + audit row.

Callers (the Rasa action server, the back-office) pass a session factory; nothing here
knows about HTTP or Rasa. Errors are :mod:`bot.errors` types only.
The session factory must come from :func:`bot.cases.db.make_session_factory`
(``expire_on_commit=False``): returned ``Case`` objects are read after their session closed.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.cases.case_no import allocate_case_no, normalize_case_no
from bot.cases.channel import Channel
from bot.cases.db import transaction
from bot.cases.deadlines import (
    acceptance_due,
    add_days,
    answer_due,
    recheck_answer_due,
    review_answer_due,
    to_utc,
    utcnow,
)
from bot.cases.departments import load_table
from bot.cases.models import Case, CaseEvent
from bot.cases.routing import route
from bot.cases.similarity import REPEAT_THRESHOLD, matter_similarity
from bot.cases.status import CaseStatus, StatusLike, check_transition, parse_status
from bot.cases.workflow import NEAR_DUE_DAYS
from bot.errors import Conflict, InvalidField, InvalidInput, NotFound

MAX_LIST_LIMIT = 200
SUBMIT_ATTEMPTS = 3

# Contract codes (DESIGN.md). Kept here so the store never holds a value outside the contract.
PETITION_TYPES = frozenset({"suggestion", "accusation", "grievance"})
CATEGORIES = frozenset(
    {
        "land_expropriation", "housing_demolition", "labor_social_security", "environment",
        "enterprise_restructuring", "education", "healthcare", "housing", "urban_management",
        "transport", "agriculture_rural", "law_enforcement_judicial", "discipline",
        "commerce_consumer", "other",
    }
)
PRIOR_PROCEDURES = frozenset(
    {"none", "litigation", "administrative_review", "arbitration", "effective_judgment", "petition_reply"}
)
LEGAL_CHANNELS = frozenset(
    {
        "labor_arbitration", "administrative_review", "administrative_litigation", "civil_litigation",
        "rural_land_arbitration", "commercial_arbitration", "mediation", "existing_procedure",
        "retrial", "police", "discipline_inspection", "regulator_report", "petition", "petition_review",
    }
)
#: Petition slots stored on the case (``confirm`` is implied: a case exists only once confirmed).
SLOT_FIELDS: tuple[str, ...] = (
    "petition_type", "petitioner_name", "id_number", "phone", "address", "issue_region",
    "category", "respondent", "occurred_on", "facts", "demand", "people_count",
    "prior_procedure", "consent",
)
REQUIRED_TEXT = {"petitioner_name": "姓名", "facts": "事实和理由", "demand": "诉求"}
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^\d{7,12}$")
_DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")


@dataclass
class PetitionSubmission:
    """What the chat (or staff, for a letter or a call) submits. Slot values as in the contract."""

    petitioner_name: str | None = None
    facts: str | None = None
    demand: str | None = None
    consent: bool | None = None
    petition_type: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    issue_region: str | None = None
    category: str | None = None
    respondent: str | None = None
    occurred_on: str | None = None
    people_count: int | None = None
    prior_procedure: str | None = None
    confirm: bool | None = True
    channel: str = Channel.REST.value
    sender_id: str | None = None
    conversation_id: str | None = None
    idempotency_key: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    legal_channel: str | None = None
    legal_channel_alternatives: list[str] = field(default_factory=list)
    triage_rule_id: str | None = None
    triage_version: str | None = None
    #: who submits: default ``citizen:<channel>:<sender_id>``; staff entering a letter set ``staff:<name>``
    actor: str | None = None

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any], **extra: Any) -> PetitionSubmission:
        """Build from a Rasa slot dict (unknown slots ignored) plus keyword metadata."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in slots.items() if k in names}
        values.update(extra)
        return cls(**values)


@dataclass(frozen=True)
class SubmitResult:
    case_no: str
    due_at: datetime
    status: CaseStatus
    created: bool
    #: the submission repeated this open case of the same petitioner: no new case was made
    duplicate_of: str | None = None
    #: the new case is linked to this earlier, finished case about the same matter
    linked_to: str | None = None
    department_code: str | None = None


# --------------------------------------------------------------------------- validation


def _clean_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(name, f"{name} must be a string")
    text = value.strip()
    if not text:
        return None
    column = Case.__table__.c.get(name)
    limit = getattr(getattr(column, "type", None), "length", None)
    if limit is not None and len(text) > limit:
        raise InvalidField(name, f"{name} longer than {limit} characters", user_message="填写的内容太长了，请精简一些。")
    return text


def _one_of(value: str | None, name: str, allowed: frozenset[str]) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidField(name, f"unknown {name} {value!r}")
    return value


def _validated_values(sub: PetitionSubmission) -> dict[str, Any]:
    if sub.consent is not True:
        raise InvalidInput(
            "consent to the processing of personal information is required",
            user_message="需要您同意我们为办理信访事项处理您的个人信息，才能登记。",
        )
    if sub.confirm is False:
        raise InvalidInput("the citizen did not confirm the summary", user_message="请先确认信访内容无误后再提交。")
    try:
        channel = Channel(sub.channel).value
    except ValueError:
        raise InvalidField("channel", f"unknown channel {sub.channel!r}") from None

    values: dict[str, Any] = {"channel": channel, "consent": True}
    for name in (
        "petitioner_name", "facts", "demand", "petition_type", "id_number", "phone", "address",
        "issue_region", "category", "respondent", "occurred_on", "prior_procedure", "sender_id",
        "conversation_id", "idempotency_key", "legal_channel", "triage_rule_id", "triage_version",
    ):
        values[name] = _clean_text(getattr(sub, name), name)
    for name, label in REQUIRED_TEXT.items():
        if not values[name]:
            raise InvalidField(name, f"{name} is required", user_message=f"请填写{label}。")

    _one_of(values["petition_type"], "petition_type", PETITION_TYPES)
    _one_of(values["category"], "category", CATEGORIES)
    _one_of(values["prior_procedure"], "prior_procedure", PRIOR_PROCEDURES)
    _one_of(values["legal_channel"], "legal_channel", LEGAL_CHANNELS)
    if values["id_number"] is not None:
        values["id_number"] = values["id_number"].upper()
        if not _ID_RE.match(values["id_number"]):
            raise InvalidField("id_number", "id_number must be 17 digits and a digit or X")
    if values["phone"] is not None and not _PHONE_RE.match(values["phone"]):
        raise InvalidField("phone", "phone must be 7 to 12 digits")
    if values["occurred_on"] is not None and not _DATE_RE.match(values["occurred_on"]):
        raise InvalidField("occurred_on", "occurred_on must be YYYY-MM-DD or YYYY-MM")

    count = sub.people_count
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, (int, float)) or int(count) != count or count < 1:
            raise InvalidField("people_count", "people_count must be an integer >= 1")
        count = int(count)
    values["people_count"] = count

    alternatives = list(sub.legal_channel_alternatives or [])
    for alt in alternatives:
        _one_of(alt, "legal_channel_alternatives", LEGAL_CHANNELS)
    values["legal_channel_alternatives"] = alternatives

    transcript = list(sub.transcript or [])
    if not all(isinstance(turn, dict) for turn in transcript):
        raise InvalidField("transcript", "transcript must be a list of objects")
    try:
        json.dumps(transcript, ensure_ascii=False)
    except (TypeError, ValueError):
        raise InvalidField("transcript", "transcript must be JSON-serialisable") from None
    values["transcript"] = transcript

    ref_parts = [values["channel"], values["sender_id"], values["conversation_id"]]
    values["conversation_ref"] = ":".join(p or "" for p in ref_parts) if values["sender_id"] else None
    return values


def citizen_actor(channel: str, sender_id: str | None) -> str:
    return f"citizen:{channel}:{sender_id or 'anonymous'}"


# --------------------------------------------------------------------------- writes


#: statuses in which a case is still being handled: a new submission of the same matter joins it
OPEN_STATUSES = frozenset(s.value for s in CaseStatus) - {CaseStatus.CLOSED.value, CaseStatus.NOT_ACCEPTED.value}
MAX_REPEAT_CANDIDATES = 50
REPEAT_NOTE_CHARS = 500


def _identity_keys(values: Mapping[str, Any]) -> list[str]:
    keys = []
    if values.get("id_number"):
        keys.append(f"id:{values['id_number']}")
    if values.get("sender_id"):
        keys.append(f"sender:{values['channel']}:{values['sender_id']}")
    if values.get("phone"):
        keys.append(f"phone:{values['phone']}")
    return keys


def _lock_petitioner(session: Session, values: Mapping[str, Any]) -> None:
    """Serialise submissions of one petitioner (PostgreSQL advisory locks; SQLite already
    holds the database write lock from ``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(_identity_keys(values)):
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})


def _petitioner_conditions(values: Mapping[str, Any]) -> list[Any]:
    """Earlier cases of the same petitioner: same ID number, same chat account or same phone
    (ID and phone are encrypted: compared through their blind indexes)."""
    from bot.security.crypto import blind_index_candidates

    conditions: list[Any] = []
    if values.get("id_number"):
        conditions.append(Case.id_number_hash.in_(blind_index_candidates(values["id_number"])))
    if values.get("sender_id"):
        conditions.append(and_(Case.channel == values["channel"], Case.sender_id == values["sender_id"]))
    if values.get("phone"):
        conditions.append(Case.phone_hash.in_(blind_index_candidates(values["phone"])))
    return conditions


def _matter(values: Mapping[str, Any]) -> str:
    return str(values.get("facts") or "")


def _find_same_matter(session: Session, values: Mapping[str, Any]) -> tuple[Case | None, Case | None]:
    """(open case of the same petitioner about the same matter, finished one) — each may be None."""
    conditions = _petitioner_conditions(values)
    if not conditions:
        return None, None
    candidates = session.execute(
        select(Case).where(or_(*conditions)).order_by(Case.created_at.desc(), Case.id.desc())
        .limit(MAX_REPEAT_CANDIDATES)
    ).scalars().all()
    best_open: tuple[float, Case] | None = None
    best_done: tuple[float, Case] | None = None
    for case in candidates:
        if values.get("id_number") and case.id_number and case.id_number != values["id_number"]:
            continue  # both IDs known and different: another person using the same phone or account
        score = matter_similarity(
            _matter(values), values.get("respondent"), case.facts,
            case.respondent,
        )
        if score < REPEAT_THRESHOLD:
            continue
        if case.status in OPEN_STATUSES:
            if best_open is None or score > best_open[0]:
                best_open = (score, case)
        elif best_done is None or score > best_done[0]:
            best_done = (score, case)
    return (best_open[1] if best_open else None), (best_done[1] if best_done else None)


def _repeat_note(values: Mapping[str, Any]) -> str:
    body = _matter(values) + (f"；诉求：{values['demand']}" if values.get("demand") else "")
    if len(body) > REPEAT_NOTE_CHARS:
        body = body[:REPEAT_NOTE_CHARS] + "……"
    return f"同一信访人再次反映同一事项，未另行登记。本次内容：{body}"


def do_submit_petition(
    session_factory: sessionmaker, sub: PetitionSubmission, now: datetime | None = None
) -> SubmitResult:
    """Register a petition: validate, allocate the case number, route it, store the case and its audit row.

    Idempotent on ``sub.idempotency_key``: a repeated submission (a retried webhook, a
    double tap) returns the stored case with ``created=False``.
    A repeat petition — an open case of the same petitioner (ID number, chat account or
    phone) about a similar matter (:mod:`bot.cases.similarity`) — creates no case: the
    result names the open case (``duplicate_of``) and that case gets a "repeat_submission"
    audit row. A similar *finished* case is linked to the new one (``linked_to``).
    """
    values = _validated_values(sub)
    values["joint"] = bool(values["people_count"] and values["people_count"] > 1)
    at = to_utc(now) if now is not None else utcnow()
    key = values["idempotency_key"]
    actor = sub.actor or citizen_actor(values["channel"], values["sender_id"])
    for attempt in range(SUBMIT_ATTEMPTS):
        try:
            with transaction(session_factory, write=True) as session:
                if key is not None:
                    existing = session.execute(select(Case).where(Case.idempotency_key == key)).scalar_one_or_none()
                    if existing is not None:
                        if (existing.channel, existing.sender_id) != (values["channel"], values["sender_id"]):
                            raise Conflict("idempotency key already used by another sender")
                        due = existing.due_at or acceptance_due(existing.created_at)
                        return SubmitResult(existing.case_no, due, CaseStatus(existing.status), created=False,
                                            department_code=existing.department_code)
                _lock_petitioner(session, values)
                open_case, earlier = _find_same_matter(session, values)
                if open_case is not None:
                    return _record_repeat(session, open_case, values, actor, at)
                department = route(values["issue_region"] or values["address"], values["category"], load_table(session))
                notes = [f"分派至{department.name}（{department.code}）"]
                if earlier is not None:
                    notes.append(f"与已结束的{earlier.case_no}为同一事项（重复信访）")
                    if earlier.recheck_answered_at is not None:
                        notes.append("该事项已经复核，依照《信访工作条例》第三十六条不再受理，请审查")
                case = Case(
                    case_no=allocate_case_no(session, at),
                    status=CaseStatus.REGISTERED.value,
                    created_at=at,
                    updated_at=at,
                    due_at=acceptance_due(at),
                    department_code=department.code,
                    linked_case_no=earlier.case_no if earlier is not None else None,
                    **values,
                )
                session.add(case)
                session.add(
                    CaseEvent(
                        case=case,
                        at=at,
                        actor=actor,
                        action="submit",
                        from_status=None,
                        to_status=CaseStatus.REGISTERED.value,
                        note="；".join(notes),
                    )
                )
                session.flush()
                return SubmitResult(
                    case.case_no, case.due_at, CaseStatus.REGISTERED, created=True,
                    linked_to=case.linked_case_no, department_code=department.code,
                )
        except IntegrityError:
            # a concurrent submission with the same idempotency key won: read it next round
            if attempt == SUBMIT_ATTEMPTS - 1:
                raise Conflict("could not store the case after retries") from None
    raise AssertionError("unreachable")


def _record_repeat(session: Session, case: Case, values: Mapping[str, Any], actor: str, at: datetime) -> SubmitResult:
    note = _repeat_note(values)
    last = session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last is None or (last.action, last.actor, last.note) != ("repeat_submission", actor, note):
        session.add(CaseEvent(case_id=case.id, at=at, actor=actor, action="repeat_submission",
                              from_status=case.status, to_status=case.status, note=note))
        case.updated_at = at
    if values.get("joint") and not case.joint:
        case.joint = True
    session.flush()
    return SubmitResult(
        case.case_no, case.due_at or acceptance_due(case.created_at), CaseStatus(case.status), created=False,
        duplicate_of=case.case_no, department_code=case.department_code,
    )


def _due_after(status: CaseStatus, at: datetime, current: datetime | None) -> datetime | None:
    """The statutory clock after entering ``status`` (None: the office has nothing due)."""
    if status in (CaseStatus.ACCEPTED,):
        return answer_due(at)
    if status is CaseStatus.REVIEW_REQUESTED:
        return review_answer_due(at)
    if status is CaseStatus.RECHECK_REQUESTED:
        return recheck_answer_due(at)
    if status in (CaseStatus.TRANSFERRED, CaseStatus.IN_PROGRESS):
        return current
    return None


def do_change_status(
    session_factory: sessionmaker,
    case_no: str,
    to: StatusLike,
    *,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Move a case along the status graph (checked by ``check_transition``) with an audit row.

    Low-level: no roles, notes, windows or citizen message. Staff actions go through
    :func:`bot.cases.queue.do_case_action` (the workflow table)."""
    target = parse_status(to)
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory, write=True) as session:
        case = session.execute(
            select(Case).where(Case.case_no == normalize_case_no(case_no)).with_for_update()
        ).scalar_one_or_none()
        if case is None:
            raise NotFound(f"case {case_no} not found")
        current = parse_status(case.status)
        check_transition(current, target)
        case.status = target.value
        case.due_at = _due_after(target, at, case.due_at)
        case.updated_at = at
        session.add(
            CaseEvent(case=case, at=at, actor=actor, action="status", from_status=current.value,
                      to_status=target.value, note=note)
        )
        session.flush()
        return case


# --------------------------------------------------------------------------- reads


def get_case(session_factory: sessionmaker, case_no: str) -> Case:
    """The case with its audit events loaded; :class:`bot.errors.NotFound` when absent."""
    with transaction(session_factory) as session:
        case = session.execute(
            select(Case).where(Case.case_no == normalize_case_no(case_no)).options(selectinload(Case.events))
        ).scalar_one_or_none()
        if case is None:
            raise NotFound(f"case {case_no} not found")
        return case


#: ``list_cases(claimed_by=UNCLAIMED)``: cases nobody holds
UNCLAIMED = "-"
SORTS = frozenset({"newest", "oldest", "due", "updated"})
DUE_FILTERS = frozenset({"overdue", "near_due"})


def _like_any(columns: Sequence[Any], query: str) -> Any:
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def case_filters(
    *,
    status: StatusLike | Sequence[StatusLike] | None = None,
    channel: str | None = None,
    category: str | None = None,
    sender_id: str | None = None,
    region: str | None = None,
    department: str | None = None,
    due: str | None = None,
    joint: bool | None = None,
    claimed_by: str | None = None,
    q: str | None = None,
    now: datetime | None = None,
    near_days: int = NEAR_DUE_DAYS,
) -> list[Any]:
    """SQL conditions of the case filters (shared by lists, exports and statistics)."""
    conditions: list[Any] = []
    if status is not None:
        codes = [status] if isinstance(status, (str, CaseStatus)) else list(status)
        conditions.append(Case.status.in_([parse_status(s).value for s in codes]))
    if channel is not None:
        conditions.append(Case.channel == channel)
    if category is not None:
        conditions.append(Case.category == category)
    if sender_id is not None:
        conditions.append(Case.sender_id == sender_id)
    if region:
        conditions.append(Case.issue_region.startswith(region.strip(), autoescape=True))
    if department is not None:
        conditions.append(Case.department_code == department)
    if due is not None:
        if due not in DUE_FILTERS:
            raise InvalidInput(f"due must be one of {sorted(DUE_FILTERS)}")
        at = to_utc(now) if now is not None else utcnow()
        if due == "overdue":
            conditions.append(Case.due_at < at)
        else:
            conditions.append(and_(Case.due_at >= at, Case.due_at <= add_days(at, near_days)))
    if joint is not None:
        conditions.append(Case.joint.is_(True) if joint else Case.joint.is_(False))
    if claimed_by is not None:
        conditions.append(Case.assignee.is_(None) if claimed_by == UNCLAIMED else Case.assignee == claimed_by)
    if q is not None and q.strip():
        conditions.append(
            _like_any((Case.case_no, Case.petitioner_name, Case.respondent, Case.facts, Case.demand), q.strip())
        )
    return conditions


def _order(sort: str) -> list[Any]:
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {sorted(SORTS)}")
    if sort == "oldest":
        return [Case.created_at.asc(), Case.id.asc()]
    if sort == "due":  # most urgent first, cases without a deadline last
        return [Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc()]
    if sort == "updated":
        return [Case.updated_at.desc(), Case.id.desc()]
    return [Case.created_at.desc(), Case.id.desc()]


def list_cases(
    session_factory: sessionmaker,
    *,
    status: StatusLike | Sequence[StatusLike] | None = None,
    channel: str | None = None,
    category: str | None = None,
    sender_id: str | None = None,
    region: str | None = None,
    department: str | None = None,
    due: str | None = None,
    joint: bool | None = None,
    claimed_by: str | None = None,
    q: str | None = None,
    sort: str = "newest",
    now: datetime | None = None,
    near_days: int = NEAR_DUE_DAYS,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """One page of cases and the total matching the filters (newest first unless ``sort``).

    ``region``: prefix of ``issue_region`` (广东省广州市); ``department``: routing code;
    ``due``: ``overdue`` or ``near_due`` (within ``near_days``); ``claimed_by``: a staff
    name, or :data:`UNCLAIMED`; ``q``: text in the case number, name, respondent, facts or
    demand; ``sort``: newest, oldest, due (most urgent first) or updated.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    if offset < 0:
        raise InvalidInput("offset must be >= 0")
    conditions = case_filters(
        status=status, channel=channel, category=category, sender_id=sender_id, region=region,
        department=department, due=due, joint=joint, claimed_by=claimed_by, q=q, now=now, near_days=near_days,
    )
    order = _order(sort)
    with transaction(session_factory) as session:
        total = session.execute(select(func.count()).select_from(Case).where(*conditions)).scalar_one()
        items = (
            session.execute(select(Case).where(*conditions).order_by(*order).limit(limit).offset(offset))
            .scalars()
            .all()
        )
        return list(items), int(total)


def cases_of_sender(session_factory: sessionmaker, channel: str, sender_id: str, limit: int = 20) -> list[Case]:
    """A citizen's own cases in one channel (for "查询进度" in the chat), newest first."""
    items, _ = list_cases(session_factory, channel=channel, sender_id=sender_id, limit=limit)
    return items


def case_events(session_factory: sessionmaker, case_no: str) -> Sequence[CaseEvent]:
    return list(get_case(session_factory, case_no).events)
