"""Petitioners' personal data: who may see it, the audited reveal, retention and key rotation.

Identity policy (个人信息保护法 Art 34–35: only what the task needs; 《信访工作条例》 Art 45:
a 检举控告 must not be passed to the people or units it accuses):

- admins (and staff given the ``pii`` permission) see the identity in clear — every such view
  goes through :func:`do_reveal_identity`, which writes a ``view_identity`` audit row;
- other staff see the name and address but ID and phone numbers masked (``138****5678``);
- in an accusation (``petition_type == "accusation"``) staff whose department is the accused
  unit (the case's ``respondent_department_code``, or a department named in ``respondent``)
  never see who the petitioner is: name, numbers, address, chat identity and the citizen's
  chat turns are hidden and a reveal is refused, whatever their permissions;
- any other role sees nothing.

Retention: :func:`do_anonymise_closed_cases` replaces the personal data of cases closed more
than N days ago with placeholders and keeps what statistics need. Rotation:
:func:`do_rotate_pii_keys` re-encrypts every stored value with the current key.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bot.cases.case_no import normalize_case_no
from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.models import Case, CaseEvent
from bot.cases.status import CaseStatus
from bot.errors import Forbidden, InvalidInput, NotFound
from bot.security.crypto import KeyRing, active_key_ring, blind_index_candidates, rotate_value

log = logging.getLogger(__name__)

IDENTITY_FIELDS: tuple[str, ...] = ("petitioner_name", "id_number", "phone", "address")
VIEW_IDENTITY = "view_identity"
ANONYMISE = "anonymise"
ACCUSATION = "accusation"

ANON_NAME = "（已匿名）"
ANON_TEXT = "（保存期限届满，内容已匿名化）"
HIDDEN_TEXT = "（已隐去）"
MASKED_REFUSAL = "您的账号没有查看完整身份证号和电话号码的权限，如确需查看，请联系管理员。"
ACCUSED_UNIT_REFUSAL = "这件检举控告涉及您所在的单位，按规定不能查看反映人的身份信息。如确需了解，请联系管理员。"


class IdentityAccess(str, Enum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


def _role(value: Any) -> str:
    role = getattr(value, "value", value)
    return str(role or "").strip().lower()


def is_accused_unit(case: Any, department: str | None) -> bool:
    """True when ``department`` (a code or a name) is the unit the case accuses."""
    dept = (department or "").strip()
    if not dept:
        return False
    code = (getattr(case, "respondent_department_code", None) or "").strip()
    if code and code.casefold() == dept.casefold():
        return True
    respondent = getattr(case, "respondent", None) or ""
    return len(dept) >= 2 and dept.casefold() in respondent.casefold()


def identity_access(
    case: Any, principal_role: Any, principal_department: str | None = None, *, pii_scope: bool = False
) -> IdentityAccess:
    """How much of the petitioner's identity a principal may see (pure; see the module docstring).

    ``pii_scope``: the principal holds the permission to see personal data (a staff token with
    the ``pii`` scope); it never lifts the accused-unit rule.
    """
    role = _role(principal_role)
    if role == "admin":
        return IdentityAccess.FULL
    if role == "staff":
        if getattr(case, "petition_type", None) == ACCUSATION and is_accused_unit(case, principal_department):
            return IdentityAccess.HIDDEN
        return IdentityAccess.FULL if pii_scope else IdentityAccess.MASKED
    return IdentityAccess.HIDDEN


def may_see_identity(
    case: Any, principal_role: Any, principal_department: str | None = None, *, pii_scope: bool = False
) -> bool:
    """True when the principal may see ID and phone numbers in clear (through an audited reveal)."""
    return identity_access(case, principal_role, principal_department, pii_scope=pii_scope) is IdentityAccess.FULL


def department_of(actor: Any) -> str | None:
    """The department of a back-office principal / workflow actor, if it carries one."""
    for name in ("department_code", "department"):
        value = getattr(actor, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _actor_role(actor: Any) -> str:
    role = getattr(actor, "role", None)
    if role is not None:
        return _role(role)
    text = str(actor)
    return text.split(":", 1)[0].lower() if ":" in text else ""


def identity_of(case: Case) -> dict[str, str | None]:
    return {name: getattr(case, name) for name in IDENTITY_FIELDS}


# --------------------------------------------------------------------------- audited reveal


def do_reveal_identity(
    session_factory: sessionmaker,
    case_no: str,
    actor: Any,
    *,
    department: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> dict[str, str | None]:
    """The petitioner's identity in clear, with a ``view_identity`` audit row.

    ``actor``: a back-office ``Principal`` or workflow ``Actor`` (``role``, ``str()`` for the
    audit; its ``may_see_pii`` counts as the ``pii`` permission), or an audit string
    ``"<role>:<name>"``. :class:`bot.errors.Forbidden` when the policy does not let this actor
    see the identity, :class:`bot.errors.NotFound` for no such case.
    """
    revealed = do_reveal_identities(
        session_factory, [case_no], actor, department=department, reason=reason, now=now, strict=True
    )
    return revealed[normalize_case_no(case_no)]


def do_reveal_identities(
    session_factory: sessionmaker,
    case_nos: Iterable[str],
    actor: Any,
    *,
    department: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    strict: bool = False,
) -> dict[str, dict[str, str | None]]:
    """Reveal several cases at once (a list view): one transaction, one audit row per case.

    Cases the actor may not see are left out (``strict``: :class:`Forbidden` / :class:`NotFound`).
    """
    wanted = [normalize_case_no(no) for no in case_nos]
    if not wanted:
        return {}
    role = _actor_role(actor)
    dept = department if department is not None else department_of(actor)
    pii_scope = bool(getattr(actor, "may_see_pii", False))
    at = to_utc(now) if now is not None else utcnow()
    note = (reason or "").strip()[:500] or None
    result: dict[str, dict[str, str | None]] = {}
    with transaction(session_factory, write=True) as session:
        cases = {c.case_no: c for c in session.execute(select(Case).where(Case.case_no.in_(wanted))).scalars()}
        for case_no in wanted:
            case = cases.get(case_no)
            if case is None:
                if strict:
                    raise NotFound(f"case {case_no} not found")
                continue
            access = identity_access(case, role, dept, pii_scope=pii_scope)
            if access is not IdentityAccess.FULL:
                if strict:
                    raise Forbidden(
                        f"{actor} may not see the identity in case {case_no}",
                        user_message=ACCUSED_UNIT_REFUSAL if access is IdentityAccess.HIDDEN else MASKED_REFUSAL,
                    )
                continue
            session.add(CaseEvent(case=case, at=at, actor=str(actor), action=VIEW_IDENTITY, note=note))
            result[case_no] = identity_of(case)
        if result:
            log.info("%s viewed the identity in %d case(s): %s", actor, len(result), ",".join(result))
    return result


def do_set_respondent_department(
    session_factory: sessionmaker,
    case_no: str,
    department_code: str | None,
    *,
    actor: str,
    now: datetime | None = None,
) -> Case:
    """Record which department the case accuses (``None`` clears it), with an audit row."""
    code = (department_code or "").strip() or None
    if code is not None and len(code) > 64:
        raise InvalidInput("department code longer than 64 characters")
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory, write=True) as session:
        case = session.execute(
            select(Case).where(Case.case_no == normalize_case_no(case_no)).with_for_update()
        ).scalar_one_or_none()
        if case is None:
            raise NotFound(f"case {case_no} not found")
        previous = case.respondent_department_code
        case.respondent_department_code = code
        case.updated_at = at
        session.add(CaseEvent(case=case, at=at, actor=actor, action="set_respondent_department",
                              note=f"被反映单位：{previous or '未指定'} → {code or '未指定'}"))
        session.flush()
        return case


# --------------------------------------------------------------------------- lookups


def id_number_matches(value: str) -> ColumnElement[bool]:
    """SQL condition: the case's ID number equals ``value`` (through the blind index)."""
    return Case.id_number_hash.in_(blind_index_candidates(value))


def phone_matches(value: str) -> ColumnElement[bool]:
    """SQL condition: the case's phone equals ``value`` (through the blind index)."""
    return Case.phone_hash.in_(blind_index_candidates(value))


def cases_with_identity(
    session_factory: sessionmaker,
    *,
    id_number: str | None = None,
    phone: str | None = None,
    exclude_case_no: str | None = None,
    limit: int = 50,
) -> list[Case]:
    """Cases with the same ID number or phone (either matches), newest first."""
    conditions = []
    if id_number:
        conditions.append(id_number_matches(id_number))
    if phone:
        conditions.append(phone_matches(phone))
    if not conditions:
        return []
    query = select(Case).where(sa.or_(*conditions))
    if exclude_case_no:
        query = query.where(Case.case_no != normalize_case_no(exclude_case_no))
    with transaction(session_factory) as session:
        rows = session.execute(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).scalars()
        return list(rows)


# --------------------------------------------------------------------------- retention


def city_level(region: str | None) -> str | None:
    """``浙江省杭州市西湖区`` → ``浙江省杭州市``: the district and anything finer are dropped."""
    if not region or not region.strip():
        return None
    from bot.intake.region import parse_region

    try:
        parsed = parse_region(region)
    except Exception:  # the region table is a third-party data file: never block retention on it
        parsed = None
    if parsed is None:
        return None
    city = parsed.city if parsed.city not in ("市辖区", "县") else ""
    return (parsed.province + city) or None


@dataclass(frozen=True)
class AnonymiseReport:
    cutoff: datetime
    anonymised: list[str] = field(default_factory=list)
    dry_run: bool = False


#: free-text columns (of the workflow) replaced like facts and demand, where the model has them
_FREE_TEXT_COLUMNS = (
    "answer_text", "review_answer_text", "recheck_answer_text", "extension_reason", "not_accepted_reason",
)


def _closed_at_expression() -> Any:
    closed_event = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, CaseEvent.to_status == CaseStatus.CLOSED.value)
        .scalar_subquery()
    )
    closed_column = getattr(Case, "closed_at", None)
    if closed_column is not None:
        return func.coalesce(closed_column, closed_event, Case.updated_at)
    return func.coalesce(closed_event, Case.updated_at)


def _anonymise(case: Case, at: datetime) -> None:
    case.petitioner_name = ANON_NAME
    case.id_number = None
    case.phone = None
    case.address = None
    case.respondent = None
    case.issue_region = city_level(case.issue_region)
    case.facts = ANON_TEXT
    case.demand = ANON_TEXT
    case.transcript = []
    case.sender_id = None
    case.conversation_id = None
    case.conversation_ref = None
    case.idempotency_key = None
    for name in _FREE_TEXT_COLUMNS:
        if getattr(case, name, None):
            setattr(case, name, ANON_TEXT)
    for event in case.events:
        if event.note:
            event.note = None
        if event.actor.startswith("citizen:"):  # citizen:<channel>:<sender id>
            channel = event.actor.split(":")[1] if event.actor.count(":") >= 2 else ""
            event.actor = f"citizen:{channel}:anonymised" if channel else "citizen:anonymised"
    case.anonymised_at = at


def do_anonymise_closed_cases(
    session_factory: sessionmaker,
    older_than_days: int,
    *,
    now: datetime | None = None,
    actor: str = "system:retention",
    batch_size: int = 100,
    dry_run: bool = False,
) -> AnonymiseReport:
    """Anonymise every case closed more than ``older_than_days`` days ago (idempotent).

    Kept: case number, category, petition type, region (city level), dates, status, channel,
    people count, legal channel, department codes, rating and the audit trail (without notes).
    Replaced: name, ID and phone numbers, address, respondent, facts, demand, answers,
    transcript and the chat identity. One transaction per batch, one ``anonymise`` audit row
    per case.
    """
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 0:
        raise InvalidInput("older_than_days must be an integer >= 0")
    at = to_utc(now) if now is not None else utcnow()
    cutoff = at - timedelta(days=older_than_days)
    closed_at = _closed_at_expression()
    report = AnonymiseReport(cutoff=cutoff, dry_run=dry_run)
    last_id = 0
    while True:
        with transaction(session_factory, write=True) as session:
            batch: Sequence[Case] = session.execute(
                select(Case)
                .where(
                    Case.status == CaseStatus.CLOSED.value,
                    Case.anonymised_at.is_(None),
                    Case.id > last_id,
                    closed_at <= cutoff,
                )
                .order_by(Case.id)
                .limit(batch_size)
            ).scalars().all()
            if not batch:
                break
            last_id = batch[-1].id
            for case in batch:
                report.anonymised.append(case.case_no)
                if dry_run:
                    continue
                _anonymise(case, at)
                session.add(CaseEvent(
                    case=case, at=at, actor=actor, action=ANONYMISE,
                    note=f"办结满{older_than_days}天，个人信息已按保存期限匿名化",
                ))
            if dry_run:
                session.rollback()
    log.info("retention: %d case(s) closed before %s %s", len(report.anonymised), cutoff.isoformat(),
             "would be anonymised" if dry_run else "anonymised")
    return report


# --------------------------------------------------------------------------- key rotation


@dataclass
class RotationReport:
    rows: int = 0
    values_reencrypted: int = 0
    indexes_updated: int = 0


_cases_raw = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("id_number", sa.String),
    sa.column("phone", sa.String),
    sa.column("transcript", sa.JSON),
    sa.column("id_number_hash", sa.String),
    sa.column("phone_hash", sa.String),
)


def do_rotate_pii_keys(
    session_factory: sessionmaker, ring: KeyRing | None = None, *, batch_size: int = 500
) -> RotationReport:
    """Re-encrypt every ID number, phone and transcript with the current key; encrypt legacy
    plaintext; recompute the blind indexes. Idempotent; one transaction per batch, so it can
    run while the services are up (old keys must stay in ``PII_KEYS`` until it has finished).
    """
    ring = ring or active_key_ring()
    report = RotationReport()
    t = _cases_raw.c
    last_id = 0
    while True:
        with transaction(session_factory, write=True) as session:
            rows = session.execute(
                select(t.id, t.id_number, t.phone, t.transcript, t.id_number_hash, t.phone_hash)
                .where(t.id > last_id).order_by(t.id).limit(batch_size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            for row in rows:
                report.rows += 1
                changes: dict[str, Any] = {}
                for name in ("id_number", "phone"):
                    stored = getattr(row, name)
                    plain = ring.reveal(stored) if stored is not None else None
                    new = rotate_value(ring, stored)
                    if new != stored:
                        changes[name] = new
                        report.values_reencrypted += 1
                    index = ring.blind_index(plain) if plain and plain.strip() else None
                    if index != getattr(row, f"{name}_hash"):
                        changes[f"{name}_hash"] = index
                        report.indexes_updated += 1
                new_transcript = rotate_value(ring, row.transcript, is_json=True)
                if new_transcript != row.transcript:
                    changes["transcript"] = new_transcript
                    report.values_reencrypted += 1
                if changes:
                    session.execute(sa.update(_cases_raw).where(t.id == row.id).values(**changes))
    log.info("key rotation: %d case(s), %d value(s) re-encrypted, %d index(es) updated (current key %s)",
             report.rows, report.values_reencrypted, report.indexes_updated, ring.current_kid)
    return report
