"""The staff queue: case actions, claim / release / assign, replies to the citizen, ratings,
escalations and statistics. Every change is one transaction with a ``CaseEvent`` audit row.

Rules live in :mod:`bot.cases.workflow` (pure); this module loads the case, applies the
plan, writes the audit row, recomputes nothing by itself (the plan carries the new
``due_at``) and queues the citizen's message in the outbox in the same transaction.

Claiming: two members of staff can never hold the same case. On PostgreSQL the claim
locks the case row with ``SELECT … FOR UPDATE SKIP LOCKED`` (a claim racing another one
finds no row and fails at once instead of waiting) and then sets the holder with a
conditional ``UPDATE … WHERE assignee IS NULL``; on SQLite the write transaction starts
with ``BEGIN IMMEDIATE`` (one writer at a time) and the same conditional ``UPDATE`` decides.
A lost claim is :class:`bot.errors.Conflict` (HTTP 409).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.case_no import normalize_case_no
from bot.cases.db import transaction
from bot.cases.deadlines import add_days, local_date, to_utc, utcnow
from bot.cases.departments import load_table
from bot.cases.models import Case, CaseEvent
from bot.cases.notifications import can_notify, reply_notice, status_notice
from bot.cases.service import OPEN_STATUSES, case_filters
from bot.cases.status import CaseStatus
from bot.cases.workflow import (
    ACTIONS,
    ADMIN,
    NEAR_DUE_DAYS,
    Actor,
    check_allowed,
    due_state,
    get_action,
    plan_action,
)
from bot.errors import (
    Conflict,
    Forbidden,
    HeldByColleague,
    InvalidField,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from bot.outbox.service import enqueue

MAX_REPLY = 2000
RATINGS = range(1, 6)

__all__ = [
    "ACTIONS",
    "NEAR_DUE_DAYS",
    "Escalations",
    "citizen_request",
    "dashboard_stats",
    "do_assign",
    "do_case_action",
    "do_claim",
    "do_claim_next",
    "do_rate_case",
    "do_release",
    "do_reply",
    "escalations",
    "split_region",
]


@dataclass(frozen=True)
class Escalations:
    """Open cases past their statutory deadline and those due within ``near_days`` (most urgent first)."""

    overdue: list[Case] = field(default_factory=list)
    near_due: list[Case] = field(default_factory=list)
    near_days: int = NEAR_DUE_DAYS


def _at(now: datetime | None) -> datetime:
    return to_utc(now) if now is not None else utcnow()


def _load(session: Session, case_no: str, *, lock: bool = True) -> Case:
    query = select(Case).where(Case.case_no == normalize_case_no(case_no))
    if lock:
        query = query.with_for_update()
    case = session.execute(query).scalar_one_or_none()
    if case is None:
        raise NotFound(f"case {case_no} not found", user_message="没有找到这个案件编号，请核对后再试。")
    return case


def _event(session: Session, case: Case, actor: Actor | str, action: str, at: datetime,
           from_status: str | None, note: str | None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, at=at, actor=str(actor), action=action,
                      from_status=from_status, to_status=case.status, note=note)
    session.add(event)
    session.flush()
    return event


def _notify(session: Session, case: Case, action: str, event: CaseEvent, at: datetime,
            department_name: str | None = None) -> None:
    if not can_notify(case):
        return
    notice = status_notice(case, action, department_name=department_name)
    if notice is None:
        return
    enqueue(
        session,
        channel=case.channel,
        recipient=case.sender_id,
        text=notice.text,
        buttons=notice.buttons,
        case_id=case.id,
        kind="satisfaction" if case.status == CaseStatus.CLOSED.value else "status",
        dedupe_key=f"status:{case.case_no}:{event.id}",
        now=at,
    )


# --------------------------------------------------------------------------- actions


def do_case_action(
    session_factory: sessionmaker,
    case_no: str,
    action: str,
    actor: Actor,
    params: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Case:
    """Take one workflow action (``bot.cases.workflow.ACTIONS``) on a case.

    One transaction: checks (role, status, hold, notes, windows), column updates and the
    new statutory due date, a ``CaseEvent`` (actor, from, to, note) and, when the citizen
    came by chat, the status message in the outbox. ``claim`` goes through :func:`do_claim`.
    """
    get_action(action)
    if action == "claim":
        if params:
            raise InvalidInput("claim takes no parameters")
        return do_claim(session_factory, case_no, actor, now)
    at = _at(now)
    with transaction(session_factory, write=True) as session:
        case = _load(session, case_no)
        table = load_table(session) if action == "transfer" else None
        if action == "release" and not case.assignee:
            raise InvalidTransition("case is not claimed", user_message="这件案件目前没有人认领，无需退回。")
        plan = plan_action(case, action, actor, params, at, departments=table.codes if table else None)
        for name, value in plan.updates.items():
            setattr(case, name, value)
        event = _event(session, case, actor, action, at, plan.from_status.value, plan.note)
        department_name = None
        if table is not None and case.department_code:
            department = table.by_code.get(case.department_code)
            department_name = department.name if department else None
        _notify(session, case, action, event, at, department_name)
        session.flush()
        return case


def do_claim(session_factory: sessionmaker, case_no: str, actor: Actor, now: datetime | None = None) -> Case:
    """Take a case from the queue. Exactly one of several simultaneous claims wins; the others
    (and any claim of a case someone else holds) get :class:`bot.errors.Conflict`.
    Claiming a case one already holds changes nothing."""
    at = _at(now)
    number = normalize_case_no(case_no)
    with transaction(session_factory, write=True) as session:
        if session.get_bind().dialect.name == "postgresql":
            case = session.execute(
                select(Case).where(Case.case_no == number).with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if case is None:
                exists = session.execute(select(Case.id).where(Case.case_no == number)).scalar_one_or_none()
                if exists is None:
                    raise NotFound(f"case {case_no} not found", user_message="没有找到这个案件编号，请核对后再试。")
                raise Conflict(f"case {number} is being changed by someone else",
                               user_message="这件案件正在被其他同事处理，请稍后刷新再试。")
        else:
            case = _load(session, number, lock=False)  # BEGIN IMMEDIATE: we are the only writer
        check_allowed(case, ACTIONS["claim"], actor, at)
        if case.assignee == actor.name:
            return case
        if case.assignee:
            raise HeldByColleague(case.assignee, "这件案件已由{holder}认领，不能重复认领。",
                                  f"case {number} is held by {case.assignee}")
        won = session.execute(
            update(Case)
            .where(Case.id == case.id, or_(Case.assignee.is_(None), Case.assignee == actor.name))
            .values(assignee=actor.name, claimed_at=at, updated_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            raise Conflict(f"case {number} was claimed concurrently", user_message="这件案件刚刚被其他同事认领了。")
        session.refresh(case)
        _event(session, case, actor, "claim", at, case.status, None)
        return case


def do_claim_next(
    session_factory: sessionmaker, actor: Actor, now: datetime | None = None, **filters: Any
) -> Case | None:
    """Claim the most urgent open, unclaimed case matching ``filters`` (``list_cases`` keywords
    such as ``department`` or ``category``); None when the queue is empty. On PostgreSQL rows
    other claimants are locking are skipped (``SKIP LOCKED``), so parallel callers get
    different cases."""
    at = _at(now)
    if actor.role not in ACTIONS["claim"].roles:
        raise Forbidden(f"role {actor.role} may not claim")
    conditions = case_filters(**filters, now=at)
    with transaction(session_factory, write=True) as session:
        query = (
            select(Case)
            .where(Case.assignee.is_(None), Case.status.in_(sorted(OPEN_STATUSES)), *conditions)
            .order_by(Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc())
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        case = session.execute(query).scalar_one_or_none()
        if case is None:
            return None
        case.assignee, case.claimed_at, case.updated_at = actor.name, at, at
        _event(session, case, actor, "claim", at, case.status, "从队列领取")
        return case


def do_release(
    session_factory: sessionmaker, case_no: str, actor: Actor, now: datetime | None = None, note: str | None = None
) -> Case:
    """Give a claimed case back to the queue (staff: their own; admins: any)."""
    return do_case_action(session_factory, case_no, "release", actor, {"note": note} if note else None, now)


def do_assign(
    session_factory: sessionmaker, case_no: str, actor: Actor, assignee: str, now: datetime | None = None,
    note: str | None = None,
) -> Case:
    """Hand a case to a named member of staff (admins: any case; staff: a free case or their own)."""
    params = {"assignee": assignee, **({"note": note} if note else {})}
    return do_case_action(session_factory, case_no, "assign", actor, params, now)


# --------------------------------------------------------------------------- citizen contact


def do_reply(
    session_factory: sessionmaker, case_no: str, actor: Actor, text: str, now: datetime | None = None
) -> Case:
    """Send the citizen a message from the case page: queued in the outbox for the chat
    channel the case came from, with an audit row holding the text."""
    if not actor.is_office:
        raise Forbidden(f"role {actor.role} may not reply", user_message="只有工作人员可以回复信访人。")
    body = (text or "").strip()
    if not body:
        raise InvalidField("text", "empty reply", user_message="请填写回复内容。")
    if len(body) > MAX_REPLY:
        raise InvalidField("text", f"reply longer than {MAX_REPLY}", user_message=f"回复太长了，请控制在{MAX_REPLY}字以内。")
    at = _at(now)
    with transaction(session_factory, write=True) as session:
        case = _load(session, case_no)
        if actor.role != ADMIN and case.assignee and case.assignee != actor.name:
            raise HeldByColleague(case.assignee, "这件案件由{holder}承办，请由承办人回复。")
        if not can_notify(case):
            raise InvalidInput(
                "the case did not come in by chat",
                user_message="这件案件不是通过网上渠道提交的，无法在线回复，请通过电话或书面方式联系信访人。",
            )
        event = _event(session, case, actor, "reply", at, case.status, body)
        notice = reply_notice(case.case_no, body)
        enqueue(session, channel=case.channel, recipient=case.sender_id, text=notice.text, case_id=case.id,
                kind="reply", dedupe_key=f"reply:{case.case_no}:{event.id}", now=at)
        case.updated_at = at
        return case


def do_rate_case(
    session_factory: sessionmaker,
    case_no: str,
    channel: str,
    sender_id: str,
    rating: int,
    now: datetime | None = None,
) -> Case:
    """Store the citizen's 1–5 satisfaction rating: only their own case, only once it is closed, only once."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise InvalidField("rating", f"rating must be 1..5, got {rating!r}", user_message="请在1到5分之间打分。")
    actor = Actor.citizen(channel, sender_id)
    at = _at(now)
    with transaction(session_factory, write=True) as session:
        case = _load(session, case_no)
        if case.channel != channel or case.sender_id != sender_id:
            raise Forbidden("only the case's own citizen may rate it", user_message="只能评价您本人的信访事项。")
        if case.status != CaseStatus.CLOSED.value:
            raise InvalidTransition("only closed cases are rated", user_message="这件信访事项还没有办结，办结后再请您评价。")
        if case.satisfaction is not None:
            raise Conflict("already rated", user_message="您已经评价过这件信访事项了，谢谢您！")
        case.satisfaction, case.rated_at, case.updated_at = rating, at, at
        _event(session, case, actor, "rate", at, case.status, f"满意度评价：{rating}分")
        return case


# --------------------------------------------------------------------------- supervision


def escalations(
    session_factory: sessionmaker, now: datetime | None = None, near_days: int = NEAR_DUE_DAYS, limit: int = 500
) -> Escalations:
    """Overdue and near-due open cases (督查督办), most urgent first."""
    if near_days < 0:
        raise InvalidInput("near_days must be >= 0")
    at = _at(now)
    with transaction(session_factory) as session:
        rows = session.execute(
            select(Case)
            .where(Case.status.in_(sorted(OPEN_STATUSES)), Case.due_at.is_not(None),
                   Case.due_at <= add_days(at, near_days))
            .order_by(Case.due_at.asc(), Case.id.asc())
            .limit(limit)
        ).scalars().all()
    overdue = [c for c in rows if due_state(c.due_at, at, near_days) == "overdue"]
    near = [c for c in rows if due_state(c.due_at, at, near_days) == "near_due"]
    return Escalations(overdue, near, near_days)


_PROVINCE = re.compile(r"^(北京市|天津市|上海市|重庆市|.+?(?:省|自治区|特别行政区))")
_CITY = re.compile(r"^(.+?(?:自治州|地区|盟|市))")


def split_region(region: str | None) -> tuple[str, str]:
    """(province, city) of an ``issue_region`` text; '' for parts that are not recognisable.
    For the four municipalities the city is the municipality itself."""
    text = (region or "").strip()
    match = _PROVINCE.match(text)
    if not match:
        return "", ""
    province = match.group(1)
    if province in ("北京市", "天津市", "上海市", "重庆市"):
        return province, province
    city = _CITY.match(text[len(province):])
    return province, province + city.group(1) if city else ""


def _iso_week(moment: datetime) -> str:
    year, week, _ = local_date(moment).isocalendar()
    return f"{year}-W{week:02d}"


def dashboard_stats(
    session_factory: sessionmaker,
    now: datetime | None = None,
    near_days: int = NEAR_DUE_DAYS,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """Counts for 信访信息分析: by status, category, province, city, department, ISO week
    (China dates) and respondent (top ``top``), plus open / overdue / near-due / joint counts
    and the satisfaction average. ``since``/``until`` bound the submission time."""
    at = _at(now)
    conditions: list[Any] = []
    if since is not None:
        conditions.append(Case.created_at >= to_utc(since))
    if until is not None:
        conditions.append(Case.created_at < to_utc(until))
    with transaction(session_factory) as session:
        rows: Sequence[Any] = session.execute(
            select(Case.status, Case.category, Case.issue_region, Case.department_code, Case.created_at,
                   Case.due_at, Case.joint, Case.satisfaction).where(*conditions)
        ).all()
        repeats = session.execute(
            select(func.count()).select_from(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
            .where(*conditions, CaseEvent.action == "repeat_submission")
        ).scalar_one()
        linked = session.execute(
            select(func.count()).select_from(Case).where(*conditions, Case.linked_case_no.is_not(None))
        ).scalar_one()
        respondents = session.execute(
            select(Case.respondent, func.count()).where(*conditions, Case.respondent.is_not(None))
            .group_by(Case.respondent).order_by(func.count().desc(), Case.respondent).limit(top)
        ).all()
    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_province: Counter[str] = Counter()
    by_city: Counter[str] = Counter()
    by_department: Counter[str] = Counter()
    by_week: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    open_count = overdue = near = joint = 0
    for status, category, region, department, created_at, due_at, is_joint, satisfaction in rows:
        by_status[status] += 1
        by_category[category or "unknown"] += 1
        province, city = split_region(region)
        by_province[province or "unknown"] += 1
        by_city[city or "unknown"] += 1
        by_department[department or "unknown"] += 1
        by_week[_iso_week(created_at)] += 1
        joint += bool(is_joint)
        if status in OPEN_STATUSES:
            open_count += 1
            state = due_state(due_at, at, near_days)
            overdue += state == "overdue"
            near += state == "near_due"
        if satisfaction is not None:
            ratings[int(satisfaction)] += 1
    rated = sum(ratings.values())
    return {
        "total": len(rows),
        "open": open_count,
        "overdue": overdue,
        "near_due": near,
        "near_days": near_days,
        "joint": joint,
        "repeat_submissions": int(repeats),
        "linked_repeats": int(linked),
        "by_status": {s.value: by_status.get(s.value, 0) for s in CaseStatus},
        "by_category": dict(by_category.most_common()),
        "by_province": dict(by_province.most_common()),
        "by_city": dict(by_city.most_common()),
        "by_department": dict(by_department.most_common()),
        "by_week": dict(sorted(by_week.items())),
        "top_respondents": [{"respondent": r, "count": int(n)} for r, n in respondents],
        "satisfaction": {
            "count": rated,
            "average": round(sum(k * v for k, v in ratings.items()) / rated, 2) if rated else None,
            "distribution": {str(k): ratings.get(k, 0) for k in RATINGS},
        },
        "generated_at": at.isoformat(),
    }


def citizen_request(
    session_factory: sessionmaker, case_no: str, channel: str, sender_id: str, action: str, reason: str,
    now: datetime | None = None,
) -> Case:
    """A citizen's own 复查 / 复核 request from the chat (``request_review`` or ``request_recheck``)."""
    if action not in ("request_review", "request_recheck"):
        raise InvalidInput(f"a citizen may not {action}")
    return do_case_action(session_factory, case_no, action, Actor.citizen(channel, sender_id), {"reason": reason}, now)
