"""Case status codes (contract), their Chinese labels and the allowed transitions.

The codes are fixed by the design contract; the workflow is data (``ALLOWED_TRANSITIONS``)
so later changes (who may do which step, notes required) extend the tables, not the code.

    registered -> accepted | not_accepted | transferred
    transferred -> accepted | not_accepted | transferred (sent on again: wrong recipient, Art 23)
    accepted -> in_progress | answered;  in_progress -> answered
    answered -> closed | review_requested;  review_requested -> review_answered (复查, Art 35)
    review_answered -> closed | recheck_requested;  recheck_requested -> recheck_answered (复核, Art 36)
    recheck_answered -> closed;  not_accepted -> closed;  closed is final
"""
from __future__ import annotations

from enum import Enum

from bot.errors import InvalidInput, InvalidTransition


class CaseStatus(str, Enum):
    REGISTERED = "registered"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    TRANSFERRED = "transferred"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    REVIEW_REQUESTED = "review_requested"
    REVIEW_ANSWERED = "review_answered"
    RECHECK_REQUESTED = "recheck_requested"
    RECHECK_ANSWERED = "recheck_answered"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    def __str__(self) -> str:  # "registered", not "CaseStatus.REGISTERED"
        return self.value


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.REGISTERED: "登记",
    CaseStatus.ACCEPTED: "受理",
    CaseStatus.NOT_ACCEPTED: "不予受理（告知途径）",
    CaseStatus.TRANSFERRED: "转送",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.ANSWERED: "出具处理意见",
    CaseStatus.CLOSED: "办结",
    CaseStatus.REVIEW_REQUESTED: "请求复查",
    CaseStatus.REVIEW_ANSWERED: "复查答复",
    CaseStatus.RECHECK_REQUESTED: "请求复核",
    CaseStatus.RECHECK_ANSWERED: "复核答复",
}

_S = CaseStatus
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    _S.REGISTERED: frozenset({_S.ACCEPTED, _S.NOT_ACCEPTED, _S.TRANSFERRED}),
    _S.TRANSFERRED: frozenset({_S.ACCEPTED, _S.NOT_ACCEPTED, _S.TRANSFERRED}),
    _S.ACCEPTED: frozenset({_S.IN_PROGRESS, _S.ANSWERED}),
    _S.IN_PROGRESS: frozenset({_S.ANSWERED}),
    _S.ANSWERED: frozenset({_S.CLOSED, _S.REVIEW_REQUESTED}),
    _S.REVIEW_REQUESTED: frozenset({_S.REVIEW_ANSWERED}),
    _S.REVIEW_ANSWERED: frozenset({_S.CLOSED, _S.RECHECK_REQUESTED}),
    _S.RECHECK_REQUESTED: frozenset({_S.RECHECK_ANSWERED}),
    _S.RECHECK_ANSWERED: frozenset({_S.CLOSED}),
    _S.NOT_ACCEPTED: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}

StatusLike = CaseStatus | str


def parse_status(value: StatusLike) -> CaseStatus:
    """The :class:`CaseStatus` of a code; :class:`InvalidInput` for an unknown one."""
    try:
        return CaseStatus(value)
    except ValueError:
        raise InvalidInput(f"unknown case status {value!r}") from None


def check_transition(frm: StatusLike, to: StatusLike) -> None:
    """Raise :class:`bot.errors.InvalidTransition` unless ``frm -> to`` is allowed."""
    src, dst = parse_status(frm), parse_status(to)
    if dst not in ALLOWED_TRANSITIONS[src]:
        raise InvalidTransition(
            f"transition {src.value} -> {dst.value} is not allowed",
            user_message=f"案件当前状态为“{src.label}”，不能变更为“{dst.label}”。",
        )


def is_terminal(status: StatusLike) -> bool:
    return not ALLOWED_TRANSITIONS[parse_status(status)]
