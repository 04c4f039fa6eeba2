"""The workflow table and its pure rules: every action from every status, roles, notes, windows, deadlines."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.cases.deadlines import acceptance_due, add_days, answer_due, recheck_answer_due, review_answer_due
from bot.cases.status import ALLOWED_TRANSITIONS, CaseStatus
from bot.cases.workflow import (
    ACTIONS,
    LEGAL_CHANNELS,
    Actor,
    available_actions,
    due_state,
    plan_action,
    review_window_open,
)
from bot.errors import Conflict, Forbidden, InvalidField, InvalidInput, InvalidTransition

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 in Beijing
STAFF = Actor("li", "staff")
OTHER_STAFF = Actor("wang", "staff")
ADMIN = Actor("boss", "admin")
CITIZEN = Actor("telegram:u1", "citizen")

#: valid parameters of every action (the minimum each needs)
PARAMS: dict[str, dict[str, str]] = {
    "claim": {}, "release": {}, "assign": {"assignee": "wang"}, "accept": {},
    "not_accept": {"reason": "属于劳动争议", "legal_channel": "labor_arbitration"},
    "transfer": {"department": "rsj", "reason": "属于人社部门职责"}, "start": {},
    "extend": {"reason": "需要现场勘查"}, "answer": {"answer": "经核查，公司已补发工资。"},
    "close": {"note": "信访人表示满意"}, "request_review": {"reason": "不服处理意见"},
    "answer_review": {"answer": "维持原处理意见。"}, "request_recheck": {"reason": "仍不服"},
    "answer_recheck": {"answer": "维持复查意见。"},
}
DEPARTMENTS = frozenset({"rsj", "xfj"})


@dataclass
class FakeCase:
    status: str = "registered"
    case_no: str = "XF20261123-0001"
    channel: str = "telegram"
    sender_id: str | None = "u1"
    assignee: str | None = None
    extended: bool = False
    accepted_at: datetime | None = NOW - timedelta(days=10)
    answered_at: datetime | None = NOW - timedelta(days=1)
    review_answered_at: datetime | None = NOW - timedelta(days=1)
    due_at: datetime | None = None


def plan(case: Any, action: str, actor: Actor = STAFF, params: dict[str, Any] | None = None, now: datetime = NOW):
    return plan_action(case, action, actor, PARAMS[action] if params is None else params, now, departments=DEPARTMENTS)


def test_the_table_names_every_action() -> None:
    assert list(ACTIONS) == [
        "claim", "release", "assign", "accept", "not_accept", "transfer", "start", "extend", "answer", "close",
        "request_review", "answer_review", "request_recheck", "answer_recheck",
    ]
    for spec in ACTIONS.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.label)
        assert spec.roles and spec.from_statuses


def test_status_actions_follow_the_contract_graph_and_cover_it() -> None:
    edges = {(f, spec.to_status) for spec in ACTIONS.values() if spec.to_status for f in spec.from_statuses}
    allowed = {(f, t) for f, targets in ALLOWED_TRANSITIONS.items() for t in targets}
    assert edges == allowed


def test_no_action_leaves_closed_and_nothing_reopens_after_recheck() -> None:
    for spec in ACTIONS.values():
        assert CaseStatus.CLOSED not in spec.from_statuses
    after_recheck = [s.name for s in ACTIONS.values() if CaseStatus.RECHECK_ANSWERED in s.from_statuses]
    assert after_recheck == ["claim", "release", "assign", "close"]


@pytest.mark.parametrize(("action", "status"), list(itertools.product(ACTIONS, [s.value for s in CaseStatus])))
def test_every_action_from_every_status(action: str, status: str) -> None:
    spec = ACTIONS[action]
    case = FakeCase(status=status, assignee="li" if action == "release" else None)
    if CaseStatus(status) in spec.from_statuses:
        result = plan(case, action)
        assert result.from_status.value == status
        assert result.to_status == spec.to_status
        if spec.to_status is not None:
            assert result.updates["status"] == spec.to_status.value
        else:
            assert "status" not in result.updates
    else:
        with pytest.raises(InvalidTransition):
            plan(case, action)


@pytest.mark.parametrize("action", [a for a in ACTIONS if a not in ("request_review", "request_recheck")])
def test_citizens_may_only_ask_for_review_and_recheck(action: str) -> None:
    spec = ACTIONS[action]
    case = FakeCase(status=next(iter(spec.from_statuses)).value)
    with pytest.raises(Forbidden):
        plan(case, action, CITIZEN)


@pytest.mark.parametrize(("action", "status"), [("request_review", "answered"), ("request_recheck", "review_answered")])
def test_citizen_requests_on_their_own_case_only(action: str, status: str) -> None:
    assert plan(FakeCase(status=status), action, CITIZEN).to_status is ACTIONS[action].to_status
    with pytest.raises(Forbidden):
        plan(FakeCase(status=status), action, Actor("telegram:someone-else", "citizen"))
    with pytest.raises(Forbidden):
        plan(FakeCase(status=status, sender_id=None, channel="letter"), action, Actor("letter:None", "citizen"))
    assert plan(FakeCase(status=status), action, STAFF).to_status is ACTIONS[action].to_status  # entered by staff


def test_system_actor_takes_no_action() -> None:
    for action, spec in ACTIONS.items():
        with pytest.raises(Forbidden):
            plan(FakeCase(status=next(iter(spec.from_statuses)).value), action, Actor("cron", "system"))


def test_actor_validation_and_audit_form() -> None:
    assert str(STAFF) == "staff:li" and str(Actor.citizen("wechat", "o1")) == "citizen:wechat:o1"
    with pytest.raises(InvalidInput):
        Actor("x", "boss")
    with pytest.raises(InvalidInput):
        Actor(" ", "staff")


REQUIRED = [(a, p.name) for a, spec in ACTIONS.items() for p in spec.params if p.required]


def test_required_notes_are_the_designed_ones() -> None:
    assert set(REQUIRED) == {
        ("assign", "assignee"), ("not_accept", "reason"), ("not_accept", "legal_channel"),
        ("transfer", "department"), ("transfer", "reason"), ("extend", "reason"), ("answer", "answer"),
        ("request_review", "reason"), ("answer_review", "answer"), ("request_recheck", "reason"),
        ("answer_recheck", "answer"),
    }


@pytest.mark.parametrize(("action", "param"), REQUIRED)
@pytest.mark.parametrize("missing", [None, "", "   "])
def test_each_required_note(action: str, param: str, missing: str | None) -> None:
    spec = ACTIONS[action]
    params = dict(PARAMS[action])
    if missing is None:
        params.pop(param)
    else:
        params[param] = missing
    with pytest.raises(InvalidField) as info:
        plan(FakeCase(status=next(iter(spec.from_statuses)).value), action, params=params)
    assert info.value.field == param
    assert "请填写" in info.value.user_message


def test_unknown_parameters_and_wrong_types_are_refused() -> None:
    with pytest.raises(InvalidInput):
        plan(FakeCase(), "accept", params={"bogus": "x"})
    with pytest.raises(InvalidField):
        plan(FakeCase(), "transfer", params={"department": 3, "reason": "x"})
    with pytest.raises(InvalidField):
        plan(FakeCase(status="accepted"), "answer", params={"answer": "长" * 20001})
    with pytest.raises(InvalidInput):
        plan(FakeCase(), "no_such_action", params={})


@pytest.mark.parametrize("channel", LEGAL_CHANNELS)
def test_not_accept_names_a_contract_legal_channel(channel: str) -> None:
    result = plan(FakeCase(), "not_accept", params={"reason": "已进入诉讼程序", "legal_channel": channel})
    assert result.updates["suggested_channel"] == channel
    assert result.updates["not_accepted_reason"] == "已进入诉讼程序"
    assert result.updates["due_at"] is None


def test_not_accept_refuses_an_unknown_channel() -> None:
    with pytest.raises(InvalidField) as info:
        plan(FakeCase(), "not_accept", params={"reason": "x", "legal_channel": "court"})
    assert info.value.field == "legal_channel"


def test_transfer_needs_a_known_department_and_restarts_the_15_days() -> None:
    with pytest.raises(InvalidField):
        plan(FakeCase(), "transfer", params={"department": "nope", "reason": "x"})
    result = plan(FakeCase(status="transferred", assignee="li"), "transfer")
    assert result.updates["department_code"] == "rsj"
    assert result.updates["due_at"] == acceptance_due(NOW)
    assert result.updates["assignee"] is None  # the receiving organ's staff pick it up
    assert "rsj" in result.note and "属于人社部门职责" in result.note


# ----------------------------------------------------------------------------- deadlines


def test_accept_starts_the_60_day_answer_clock() -> None:
    result = plan(FakeCase(), "accept")
    assert result.updates["accepted_at"] == NOW
    assert result.updates["due_at"] == answer_due(NOW) == add_days(NOW, 60)
    # 23 Nov 2026 + 60 days = 22 Jan 2027, end of that day in Beijing
    assert result.updates["due_at"] == datetime(2027, 1, 22, 15, 59, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize("status", ["accepted", "in_progress"])
def test_extension_adds_30_days_to_the_answer_deadline_once(status: str) -> None:
    accepted = datetime(2026, 10, 1, 1, 0, tzinfo=timezone.utc)
    result = plan(FakeCase(status=status, accepted_at=accepted), "extend")
    assert result.to_status is None
    assert result.updates["extended"] is True and result.updates["extension_reason"] == "需要现场勘查"
    assert result.updates["due_at"] == answer_due(accepted, extended=True) == add_days(accepted, 90)
    assert result.updates["due_at"] == datetime(2026, 12, 30, 15, 59, 59, tzinfo=timezone.utc)
    with pytest.raises(InvalidTransition) as info:
        plan(FakeCase(status=status, accepted_at=accepted, extended=True), "extend")
    assert "延长过一次" in info.value.user_message


def test_extension_only_while_handling() -> None:
    for status in ("registered", "transferred", "answered", "review_requested"):
        with pytest.raises(InvalidTransition):
            plan(FakeCase(status=status), "extend")


def test_in_progress_keeps_the_clock() -> None:
    assert "due_at" not in plan(FakeCase(status="accepted"), "start").updates


@pytest.mark.parametrize(("action", "status", "column"), [
    ("answer", "accepted", "answer_text"), ("answer", "in_progress", "answer_text"),
    ("answer_review", "review_requested", "review_answer_text"),
    ("answer_recheck", "recheck_requested", "recheck_answer_text"),
])
def test_answers_are_stored_and_stop_the_office_clock(action: str, status: str, column: str) -> None:
    result = plan(FakeCase(status=status), action)
    assert result.updates[column] == PARAMS[action]["answer"]
    assert result.updates[column.replace("_text", "ed_at")] == NOW
    assert result.updates["due_at"] is None
    assert result.note == PARAMS[action]["answer"]


def test_review_and_recheck_requests_start_30_days() -> None:
    assert plan(FakeCase(status="answered"), "request_review").updates["due_at"] == review_answer_due(NOW)
    assert plan(FakeCase(status="review_answered"), "request_recheck").updates["due_at"] == recheck_answer_due(NOW)
    assert review_answer_due(NOW) == add_days(NOW, 30)


# ----------------------------------------------------------------------------- windows


def test_review_window_is_30_days_from_the_answer() -> None:
    answered = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)  # 1 Nov, Beijing
    last = datetime(2026, 12, 1, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 on 1 Dec, Beijing
    case = FakeCase(status="answered", answered_at=answered)
    assert plan(case, "request_review", CITIZEN, now=last).to_status is CaseStatus.REVIEW_REQUESTED
    with pytest.raises(InvalidTransition) as info:
        plan(case, "request_review", CITIZEN, now=last + timedelta(seconds=1))
    assert "期限" in info.value.user_message
    with pytest.raises(InvalidTransition):  # staff cannot file it late either
        plan(case, "request_review", STAFF, now=last + timedelta(days=3))


def test_recheck_window_is_30_days_from_the_review_answer() -> None:
    reviewed = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    last = datetime(2026, 12, 1, 15, 59, 59, tzinfo=timezone.utc)
    case = FakeCase(status="review_answered", review_answered_at=reviewed)
    assert plan(case, "request_recheck", CITIZEN, now=last).to_status is CaseStatus.RECHECK_REQUESTED
    with pytest.raises(InvalidTransition):
        plan(case, "request_recheck", CITIZEN, now=last + timedelta(seconds=1))


def test_closing_inside_the_review_window_needs_a_reason() -> None:
    case = FakeCase(status="answered", answered_at=NOW - timedelta(days=2))
    assert review_window_open(case, NOW)
    with pytest.raises(InvalidField) as info:
        plan(case, "close", params={})
    assert info.value.field == "note"
    closed = plan(case, "close", params={"note": "信访人表示满意"})
    assert closed.updates["closed_at"] == NOW and closed.updates["due_at"] is None
    late = FakeCase(status="answered", answered_at=NOW - timedelta(days=40))
    assert not review_window_open(late, NOW)
    assert plan(late, "close", params={}).to_status is CaseStatus.CLOSED
    # after 复核 there is no further request: closing needs no reason
    assert plan(FakeCase(status="recheck_answered"), "close", params={}).to_status is CaseStatus.CLOSED
    assert plan(FakeCase(status="not_accepted"), "close", params={}).to_status is CaseStatus.CLOSED


# ----------------------------------------------------------------------------- hold


def test_staff_cannot_act_on_a_case_someone_else_holds() -> None:
    held = FakeCase(assignee="wang")
    for action in ("accept", "not_accept", "transfer", "release", "assign"):
        with pytest.raises(Conflict) as info:
            plan(held, action, STAFF)
        assert "wang" in info.value.user_message
    assert plan(held, "accept", OTHER_STAFF).to_status is CaseStatus.ACCEPTED
    assert plan(held, "accept", ADMIN).to_status is CaseStatus.ACCEPTED  # supervisors may step in
    assert plan(held, "assign", ADMIN, {"assignee": "li"}).updates["assignee"] == "li"


def test_queue_plans() -> None:
    claim = plan(FakeCase(), "claim")
    assert claim.updates["assignee"] == "li" and claim.updates["claimed_at"] == NOW
    release = plan(FakeCase(assignee="li"), "release")
    assert release.updates["assignee"] is None and release.updates["claimed_at"] is None
    assign = plan(FakeCase(), "assign", params={"assignee": "wang", "note": "熟悉劳动争议"})
    assert assign.updates["assignee"] == "wang" and "熟悉劳动争议" in assign.note


def test_available_actions() -> None:
    names = lambda case, actor=STAFF: [s.name for s in available_actions(case, actor, NOW)]  # noqa: E731
    assert names(FakeCase()) == ["claim", "assign", "accept", "not_accept", "transfer"]
    assert names(FakeCase(assignee="li")) == ["release", "assign", "accept", "not_accept", "transfer"]
    assert names(FakeCase(assignee="wang")) == []  # claim would fail: held by someone else
    assert names(FakeCase(assignee="wang"), ADMIN) == ["release", "assign", "accept", "not_accept", "transfer"]
    assert names(FakeCase(status="accepted", assignee="li")) == ["release", "assign", "start", "extend", "answer"]
    assert names(FakeCase(status="accepted", assignee="li", extended=True)) == ["release", "assign", "start",
                                                                                 "answer"]
    assert names(FakeCase(status="answered"), CITIZEN) == ["request_review"]
    assert names(FakeCase(status="answered", answered_at=NOW - timedelta(days=31)), CITIZEN) == []
    assert names(FakeCase(status="closed")) == []


def test_due_state() -> None:
    assert due_state(None, NOW) is None
    assert due_state(NOW - timedelta(seconds=1), NOW) == "overdue"
    assert due_state(add_days(NOW, 3), NOW, 3) == "near_due"
    assert due_state(add_days(NOW, 4), NOW, 3) is None
    assert due_state(add_days(NOW, 0), NOW, 0) == "near_due"
