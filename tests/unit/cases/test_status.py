from __future__ import annotations

import itertools

import pytest

from bot.cases.status import ALLOWED_TRANSITIONS, STATUS_LABELS, CaseStatus, check_transition, is_terminal
from bot.errors import InvalidInput, InvalidTransition

CONTRACT_CODES = {
    "registered", "accepted", "not_accepted", "transferred", "in_progress", "answered", "closed",
    "review_requested", "review_answered", "recheck_requested", "recheck_answered",
}
# The workflow as the design states it, written out independently of the module under test.
EXPECTED = {
    ("registered", "accepted"), ("registered", "not_accepted"), ("registered", "transferred"),
    ("transferred", "accepted"), ("transferred", "not_accepted"),
    ("transferred", "transferred"),  # sent on to the right organ (Art 23)
    ("accepted", "in_progress"), ("accepted", "answered"),
    ("in_progress", "answered"),
    ("answered", "closed"), ("answered", "review_requested"),
    ("review_requested", "review_answered"),
    ("review_answered", "closed"), ("review_answered", "recheck_requested"),
    ("recheck_requested", "recheck_answered"),
    ("recheck_answered", "closed"),
    ("not_accepted", "closed"),
}
ALL_PAIRS = list(itertools.product(sorted(CONTRACT_CODES), repeat=2))


def test_codes_are_exactly_the_contract() -> None:
    assert {s.value for s in CaseStatus} == CONTRACT_CODES
    assert set(ALLOWED_TRANSITIONS) == set(CaseStatus)


def test_every_status_has_a_chinese_label() -> None:
    assert set(STATUS_LABELS) == set(CaseStatus)
    assert CaseStatus.REGISTERED.label == "登记"
    assert CaseStatus.CLOSED.label == "办结"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in STATUS_LABELS.values())


def test_status_is_a_string() -> None:
    assert CaseStatus.ACCEPTED == "accepted"
    assert str(CaseStatus.ACCEPTED) == "accepted"


@pytest.mark.parametrize(("frm", "to"), sorted(EXPECTED))
def test_allowed_transition(frm: str, to: str) -> None:
    check_transition(frm, to)
    check_transition(CaseStatus(frm), CaseStatus(to))


@pytest.mark.parametrize(("frm", "to"), [p for p in ALL_PAIRS if p not in EXPECTED])
def test_forbidden_transition(frm: str, to: str) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(frm, to)
    assert info.value.http_status == 409
    assert info.value.code == "invalid_transition"


def test_table_matches_design_exactly() -> None:
    table = {(a.value, b.value) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == EXPECTED


def test_unknown_status_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        check_transition("registered", "done")


def test_closed_is_the_only_terminal_status() -> None:
    assert [s for s in CaseStatus if is_terminal(s)] == [CaseStatus.CLOSED]
