"""The case workflow as data, and the pure rules that check and plan one action.

``ACTIONS`` names every step staff (and, for 复查/复核 requests, the citizen) can take on a
case: the statuses it starts from, the status it leads to (``None``: the status stays,
e.g. claim or extension), who may take it, the notes it needs and its time window.
``plan_action`` checks an action against a case and returns what changes (status,
statutory clock, columns) without touching a database; :mod:`bot.cases.queue` applies it
in one transaction with an audit row. The status graph itself is the contract's
``bot.cases.status.ALLOWED_TRANSITIONS``; a unit test keeps both in step.

Deadlines (《信访工作条例》): acceptance decision 15 days from receipt (Art 22, 23; a
transfer starts the receiving organ's 15 days), written answer 60 days from acceptance,
one extension of at most 30 days that the citizen is told about (Art 34), 复查 asked within
30 days of the answer and answered within 30 days (Art 35), 复核 likewise (Art 36); after
复核 the same matter is not taken up again (Art 36), so nothing but closing follows it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.cases.deadlines import (
    acceptance_due,
    add_days,
    answer_due,
    recheck_answer_due,
    recheck_request_deadline,
    review_answer_due,
    review_request_deadline,
    to_utc,
)
from bot.cases.status import CaseStatus, check_transition, parse_status
from bot.errors import Conflict, Forbidden, HeldByColleague, InvalidField, InvalidInput, InvalidTransition

STAFF, ADMIN, CITIZEN, SYSTEM = "staff", "admin", "citizen", "system"
ROLES = frozenset({STAFF, ADMIN, CITIZEN, SYSTEM})
OFFICE = frozenset({STAFF, ADMIN})

#: ``legal_channel`` codes of the contract a not-accepted citizen can be pointed to.
LEGAL_CHANNELS: tuple[str, ...] = (
    "labor_arbitration", "administrative_review", "administrative_litigation", "civil_litigation",
    "rural_land_arbitration", "commercial_arbitration", "mediation", "existing_procedure",
    "retrial", "police", "discipline_inspection", "regulator_report", "petition", "petition_review",
)
MAX_NOTE = 4000
MAX_ANSWER = 20000
#: a case is "near due" when its deadline falls within this many China calendar days
NEAR_DUE_DAYS = 3


@dataclass(frozen=True)
class Actor:
    """Who acts on a case. ``role``: staff, admin, citizen or system.

    A citizen's ``name`` is ``"<channel>:<sender_id>"``; ``str(actor)`` is the audit
    form (``staff:li``, ``citizen:wechat:o123``), the same as a back-office ``Principal``.
    """

    name: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidInput(f"unknown actor role {self.role!r}")
        if not self.name or not self.name.strip():
            raise InvalidInput("an actor needs a name")

    @property
    def is_office(self) -> bool:
        return self.role in OFFICE

    def __str__(self) -> str:
        return f"{self.role}:{self.name}"

    @classmethod
    def citizen(cls, channel: str, sender_id: str) -> Actor:
        return cls(f"{channel}:{sender_id}", CITIZEN)


@dataclass(frozen=True)
class ParamSpec:
    """One value an action needs. ``kind``: text, legal_channel, department or staff."""

    name: str
    label: str
    kind: str = "text"
    required: bool = True
    max_length: int = MAX_NOTE


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    from_statuses: frozenset[CaseStatus]
    to_status: CaseStatus | None
    roles: frozenset[str]
    params: tuple[ParamSpec, ...] = ()
    description: str = ""
    #: the action needs the case to be held by the actor or by nobody (admins may always act)
    needs_hold: bool = True

    @property
    def changes_status(self) -> bool:
        return self.to_status is not None

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


_S = CaseStatus
_OPEN = frozenset(s for s in CaseStatus if s is not _S.CLOSED)
_NOTE = ParamSpec("note", "备注", required=False)
_REASON = ParamSpec("reason", "理由")
_ANSWER = ParamSpec("answer", "书面答复意见", max_length=MAX_ANSWER)


def _spec(
    name: str, label: str, frm: set[CaseStatus] | frozenset[CaseStatus], to: CaseStatus | None,
    roles: set[str], params: tuple[ParamSpec, ...] = (), description: str = "", needs_hold: bool = True,
) -> ActionSpec:
    return ActionSpec(name, label, frozenset(frm), to, frozenset(roles), params, description, needs_hold)


#: Every action on a case (order = the order the console shows them in).
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        _spec("claim", "认领", _OPEN, None, {STAFF, ADMIN}, (), "由我来办理这件案件", needs_hold=False),
        _spec("release", "退回队列", _OPEN, None, {STAFF, ADMIN}, (_NOTE,), "放弃认领，案件回到待认领队列"),
        _spec("assign", "指派", _OPEN, None, {STAFF, ADMIN},
              (ParamSpec("assignee", "承办人", kind="staff", max_length=200), _NOTE), "交给指定的工作人员办理"),
        _spec("accept", "受理", {_S.REGISTERED, _S.TRANSFERRED}, _S.ACCEPTED, {STAFF, ADMIN}, (_NOTE,),
              "决定受理；60日内出具书面答复（第二十三条、第三十四条）"),
        _spec("not_accept", "不予受理", {_S.REGISTERED, _S.TRANSFERRED}, _S.NOT_ACCEPTED, {STAFF, ADMIN},
              (_REASON, ParamSpec("legal_channel", "告知的法定途径", kind="legal_channel", max_length=64)),
              "不予受理并告知信访人应走的途径（第二十三条、第三十一条）"),
        _spec("transfer", "转送", {_S.REGISTERED, _S.TRANSFERRED}, _S.TRANSFERRED, {STAFF, ADMIN},
              (ParamSpec("department", "转送至", kind="department", max_length=32), _REASON),
              "转送有权处理的机关；对方15日内决定是否受理（第二十二条、第二十三条）"),
        _spec("start", "开始办理", {_S.ACCEPTED}, _S.IN_PROGRESS, {STAFF, ADMIN}, (_NOTE,), "调查核实、开始办理"),
        _spec("extend", "延期", {_S.ACCEPTED, _S.IN_PROGRESS}, None, {STAFF, ADMIN}, (_REASON,),
              "办理期限延长30日，只能延长一次，并告知信访人（第三十四条）"),
        _spec("answer", "出具处理意见", {_S.ACCEPTED, _S.IN_PROGRESS}, _S.ANSWERED, {STAFF, ADMIN}, (_ANSWER,),
              "出具书面处理意见（第三十四条）"),
        _spec("close", "办结", {_S.ANSWERED, _S.REVIEW_ANSWERED, _S.RECHECK_ANSWERED, _S.NOT_ACCEPTED},
              _S.CLOSED, {STAFF, ADMIN}, (_NOTE,), "办结；复查或复核的申请期限未过时须写明理由"),
        _spec("request_review", "请求复查", {_S.ANSWERED}, _S.REVIEW_REQUESTED, {CITIZEN, STAFF, ADMIN},
              (_REASON,), "信访人不服处理意见，30日内请求复查（第三十五条）", needs_hold=False),
        _spec("answer_review", "出具复查意见", {_S.REVIEW_REQUESTED}, _S.REVIEW_ANSWERED, {STAFF, ADMIN}, (_ANSWER,),
              "30日内出具复查意见（第三十五条）"),
        _spec("request_recheck", "请求复核", {_S.REVIEW_ANSWERED}, _S.RECHECK_REQUESTED, {CITIZEN, STAFF, ADMIN},
              (_REASON,), "信访人不服复查意见，30日内请求复核（第三十六条）", needs_hold=False),
        _spec("answer_recheck", "出具复核意见", {_S.RECHECK_REQUESTED}, _S.RECHECK_ANSWERED, {STAFF, ADMIN},
              (_ANSWER,), "30日内出具复核意见；此后同一事项不再受理（第三十六条）"),
    )
}

QUEUE_ACTIONS = frozenset({"claim", "release", "assign"})


@dataclass(frozen=True)
class Plan:
    """What one action does to a case (applied by the service)."""

    action: str
    from_status: CaseStatus
    to_status: CaseStatus | None
    #: column -> new value (``status``, ``due_at`` and ``updated_at`` included when they change)
    updates: dict[str, Any] = field(default_factory=dict)
    #: the audit note
    note: str | None = None
    #: the cleaned parameters
    params: dict[str, str] = field(default_factory=dict)

    @property
    def status_changed(self) -> bool:
        return self.to_status is not None and self.to_status is not self.from_status


def get_action(name: str) -> ActionSpec:
    try:
        return ACTIONS[name]
    except KeyError:
        raise InvalidInput(f"unknown action {name!r}", user_message="没有这个办理操作。") from None


def _attr(case: Any, name: str, default: Any = None) -> Any:
    return getattr(case, name, default)


def holder_conflict(case: Any, actor: Actor) -> str | None:
    """Who else holds the case, when that keeps ``actor`` from acting (admins are never kept)."""
    holder = _attr(case, "assignee")
    if holder and actor.role == STAFF and holder != actor.name:
        return str(holder)
    return None


def _citizen_owns(case: Any, actor: Actor) -> bool:
    sender = _attr(case, "sender_id")
    return bool(sender) and actor.name == f"{_attr(case, 'channel')}:{sender}"


def window_deadline(case: Any, action: str) -> datetime | None:
    """The last moment the citizen may ask for 复查 / 复核 (None: no window applies)."""
    if action == "request_review" and _attr(case, "answered_at") is not None:
        return review_request_deadline(_attr(case, "answered_at"))
    if action == "request_recheck" and _attr(case, "review_answered_at") is not None:
        return recheck_request_deadline(_attr(case, "review_answered_at"))
    return None


def review_window_open(case: Any, now: datetime) -> bool:
    """Whether the citizen can still ask for 复查 (after the answer) or 复核 (after the review answer)."""
    status = parse_status(_attr(case, "status"))
    action = {_S.ANSWERED: "request_review", _S.REVIEW_ANSWERED: "request_recheck"}.get(status)
    if action is None:
        return False
    deadline = window_deadline(case, action)
    return deadline is not None and to_utc(now) <= deadline


def _clean_params(spec: ActionSpec, params: Mapping[str, Any] | None, departments: frozenset[str] | None) -> dict[str, str]:
    given = dict(params or {})
    unknown = set(given) - {p.name for p in spec.params}
    if unknown:
        raise InvalidInput(f"{spec.name} takes no parameter {sorted(unknown)}")
    cleaned: dict[str, str] = {}
    for p in spec.params:
        value = given.get(p.name)
        if value is not None and not isinstance(value, str):
            raise InvalidField(p.name, f"{p.name} must be a string")
        text = (value or "").strip()
        if not text:
            if p.required:
                raise InvalidField(p.name, f"{spec.name} needs {p.name}", user_message=f"请填写{p.label}。")
            continue
        if len(text) > p.max_length:
            raise InvalidField(p.name, f"{p.name} longer than {p.max_length}", user_message=f"{p.label}太长了，请精简一些。")
        if p.kind == "legal_channel" and text not in LEGAL_CHANNELS:
            raise InvalidField(p.name, f"unknown legal channel {text!r}", user_message="请从列表中选择应告知的法定途径。")
        if p.kind == "department" and departments is not None and text not in departments:
            raise InvalidField(p.name, f"unknown department {text!r}", user_message="没有这个部门，请从列表中选择。")
        cleaned[p.name] = text
    return cleaned


def check_allowed(case: Any, spec: ActionSpec, actor: Actor, now: datetime) -> None:
    """Raise the :mod:`bot.errors` type that says why ``actor`` may not take ``spec`` now."""
    status = parse_status(_attr(case, "status"))
    if actor.role not in spec.roles:
        raise Forbidden(f"role {actor.role} may not {spec.name}", user_message=f"您没有权限进行“{spec.label}”操作。")
    if actor.role == CITIZEN and not _citizen_owns(case, actor):
        raise Forbidden("a citizen may act only on their own case", user_message="只能对您本人的信访事项提出请求。")
    if status not in spec.from_statuses:
        raise InvalidTransition(
            f"{spec.name} is not possible in status {status.value}",
            user_message=f"案件当前状态为“{status.label}”，不能进行“{spec.label}”。",
        )
    if spec.to_status is not None:
        check_transition(status, spec.to_status)
    if spec.needs_hold:
        holder = holder_conflict(case, actor)
        if holder is not None:
            raise HeldByColleague(holder, "这件案件已由{holder}认领，请联系对方或管理员后再操作。")
    if spec.name == "extend" and _attr(case, "extended"):
        raise InvalidTransition("the answer period was already extended once",
                                user_message="办理期限已经延长过一次，依照第三十四条不能再延长。")
    if spec.name == "extend" and _attr(case, "accepted_at") is None:
        raise InvalidTransition("no acceptance date to extend from", user_message="案件还没有受理日期，不能延期。")
    if spec.name in ("request_review", "request_recheck"):
        deadline = window_deadline(case, spec.name)
        if deadline is not None and to_utc(now) > deadline:
            what = "复查" if spec.name == "request_review" else "复核"
            raise InvalidTransition(
                f"{spec.name} window ended at {deadline.isoformat()}",
                user_message=f"请求{what}的期限（收到意见之日起30日）已经过了，系统不能再受理这一请求。",
            )


def available_actions(case: Any, actor: Actor, now: datetime) -> list[ActionSpec]:
    """The actions ``actor`` may take on ``case`` at ``now`` (in ``ACTIONS`` order).

    Queue actions follow the hold: ``claim`` only when the case is free (an admin takes a
    held case over with ``assign``), ``release`` only when it is held.
    """
    found = []
    holder = _attr(case, "assignee")
    for spec in ACTIONS.values():
        try:
            check_allowed(case, spec, actor, now)
        except (Forbidden, Conflict, InvalidInput):
            continue
        if spec.name == "claim" and holder:
            continue
        if spec.name == "release" and not holder:
            continue
        found.append(spec)
    return found


def plan_action(
    case: Any,
    action: str,
    actor: Actor,
    params: Mapping[str, Any] | None,
    now: datetime,
    *,
    departments: frozenset[str] | None = None,
) -> Plan:
    """Check ``action`` and work out its effect on ``case`` (pure: ``case`` is only read).

    ``departments``: known department codes for ``transfer`` (None: not checked here).
    """
    spec = get_action(action)
    at = to_utc(now)
    check_allowed(case, spec, actor, at)
    values = _clean_params(spec, params, departments)
    frm = parse_status(_attr(case, "status"))
    updates: dict[str, Any] = {"updated_at": at}
    note = values.get("note") or values.get("reason")
    to = spec.to_status

    if action == "claim":
        updates.update(assignee=actor.name, claimed_at=at)
    elif action == "release":
        updates.update(assignee=None, claimed_at=None)
    elif action == "assign":
        updates.update(assignee=values["assignee"], claimed_at=at)
        note = f"指派给 {values['assignee']}" + (f"：{values['note']}" if values.get("note") else "")
    elif action == "accept":
        updates.update(accepted_at=at, due_at=answer_due(at))
    elif action == "not_accept":
        updates.update(not_accepted_reason=values["reason"], suggested_channel=values["legal_channel"], due_at=None)
        note = f"{values['reason']}（告知途径：{values['legal_channel']}）"
    elif action == "transfer":
        updates.update(department_code=values["department"], due_at=acceptance_due(at), assignee=None, claimed_at=None)
        note = f"转送 {values['department']}：{values['reason']}"
    elif action == "extend":
        updates.update(extended=True, extension_reason=values["reason"],
                       due_at=answer_due(_attr(case, "accepted_at"), extended=True))
    elif action == "answer":
        updates.update(answer_text=values["answer"], answered_at=at, due_at=None)
        note = values["answer"]
    elif action == "close":
        if review_window_open(case, at) and not values.get("note"):
            raise InvalidField("note", "closing inside the review window needs a note",
                               user_message="信访人请求复查或复核的期限还没过，提前办结请写明理由（例如信访人表示满意）。")
        updates.update(closed_at=at, due_at=None)
    elif action == "request_review":
        updates.update(review_requested_at=at, due_at=review_answer_due(at))
    elif action == "answer_review":
        updates.update(review_answer_text=values["answer"], review_answered_at=at, due_at=None)
        note = values["answer"]
    elif action == "request_recheck":
        updates.update(recheck_requested_at=at, due_at=recheck_answer_due(at))
    elif action == "answer_recheck":
        updates.update(recheck_answer_text=values["answer"], recheck_answered_at=at, due_at=None)
        note = values["answer"]
    if to is not None:
        updates["status"] = to.value
    return Plan(action=action, from_status=frm, to_status=to, updates=updates, note=note, params=values)


def due_state(due_at: datetime | None, now: datetime, near_days: int = NEAR_DUE_DAYS) -> str | None:
    """``overdue``, ``near_due`` (due within ``near_days`` China calendar days) or None."""
    if due_at is None:
        return None
    at = to_utc(now)
    if due_at < at:
        return "overdue"
    if due_at <= add_days(at, near_days):
        return "near_due"
    return None
