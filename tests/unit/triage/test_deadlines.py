"""Calendar arithmetic, deadline boundaries and warnings, and the date reader."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.triage.deadlines import (
    add_months,
    add_years,
    find_date_ranges,
    parse_date_expr,
    parse_date_range,
    parse_period,
)
from bot.triage.engine import evaluate
from bot.triage.facts import TriageFacts

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 5, 15), 6, date(2026, 11, 15)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 15), -2, date(2025, 11, 15)),
    ],
)
def test_add_months_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_years_leap_day() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)), st.integers(min_value=-240, max_value=240))
def test_add_months_properties(start: date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


def test_parse_period() -> None:
    assert parse_period("60d").kind == "days"
    assert parse_period("6m").amount == 6
    with pytest.raises(ValueError):
        parse_period("six months")


# --- the 60-day review window: the start day is not counted (民法典 Art 201)


def _admin(known: date) -> TriageFacts:
    return TriageFacts(admin_act=True, known_date=known)


def test_review_on_the_60th_day_is_still_in_time() -> None:
    known = TODAY - timedelta(days=60)
    result = evaluate(_admin(known), TODAY)
    assert result.rule_id == "R08_admin_within_60d"
    assert result.deadline["due_date"] == TODAY.isoformat()
    assert result.deadline["days_left"] == 0
    assert "最后一天" in result.deadline["warning"]


def test_review_on_the_61st_day_goes_to_litigation() -> None:
    known = TODAY - timedelta(days=61)
    result = evaluate(_admin(known), TODAY)
    assert result.rule_id == "R09_admin_within_6m"
    assert result.legal_channel == "administrative_litigation"
    assert result.deadline["days_left"] > 0


def test_litigation_six_months_month_end() -> None:
    # known on 31 May: the 6 months end on 30 Nov (no 31 Nov)
    result = evaluate(_admin(date(2026, 5, 31)), TODAY)
    assert result.rule_id == "R09_admin_within_6m"
    assert result.deadline["due_date"] == "2026-11-30"
    assert result.deadline["days_left"] == 7


def test_six_months_boundary_day() -> None:
    assert evaluate(_admin(date(2026, 5, 23)), TODAY).rule_id == "R09_admin_within_6m"  # last day today
    assert evaluate(_admin(date(2026, 5, 22)), TODAY).rule_id == "R09_admin_late"


def test_warning_when_less_than_a_quarter_left() -> None:
    # 60-day period: a quarter is 15 days
    ok = evaluate(_admin(TODAY - timedelta(days=45)), TODAY).deadline  # 15 left: not < quarter
    assert ok["days_left"] == 15 and ok["warning"] is None
    soon = evaluate(_admin(TODAY - timedelta(days=46)), TODAY).deadline  # 14 left
    assert soon["days_left"] == 14 and "14天" in soon["warning"]


def test_expired_deadline_warns_and_points_to_legal_aid() -> None:
    facts = TriageFacts(dispute="labour", known_date=date(2025, 10, 1))
    dl = evaluate(facts, TODAY).deadline
    assert dl["due_date"] == "2026-10-01" and dl["days_left"] < 0
    assert "可能已经过了" in dl["warning"] and "12348" in dl["warning"]


def test_no_date_no_due_date() -> None:
    dl = evaluate(TriageFacts(dispute="labour"), TODAY).deadline
    assert dl["due_date"] is None and dl["days_left"] is None and dl["warning"] is None
    assert "1年" in dl["label"]


def test_vague_month_gives_range_and_soft_warning() -> None:
    # "上个月" = some day in October: the 30-day window may or may not have passed
    facts = TriageFacts(petition_reply_received=True, known_date=date(2026, 10, 1), known_date_latest=date(2026, 10, 31))
    dl = evaluate(facts, TODAY).deadline
    assert dl["due_date"] == "2026-10-31" and dl["due_date_latest"] == "2026-11-30"
    assert "笼统" in dl["warning"]


def test_rough_answer_gives_no_due_date() -> None:
    facts = TriageFacts(admin_act=True, known_date=TODAY - timedelta(days=30), known_date_approx=True)
    dl = evaluate(facts, TODAY).deadline
    assert dl["due_date"] is None and "大概" in dl["warning"]


# --- reading dates from text


@pytest.mark.parametrize(
    ("text", "lo", "hi"),
    [
        ("上个月", date(2026, 10, 1), date(2026, 10, 31)),
        ("三个月前", date(2026, 8, 23), date(2026, 8, 23)),
        ("2026年3月", date(2026, 3, 1), date(2026, 3, 31)),
        ("2026年3月5日", date(2026, 3, 5), date(2026, 3, 5)),
        ("二〇二五年十二月三日", date(2025, 12, 3), date(2025, 12, 3)),
        ("2026-03-05", date(2026, 3, 5), date(2026, 3, 5)),
        ("2026-03", date(2026, 3, 1), date(2026, 3, 31)),
        ("两周前", date(2026, 11, 9), date(2026, 11, 9)),
        ("十天前", date(2026, 11, 13), date(2026, 11, 13)),
        ("昨天", date(2026, 11, 22), date(2026, 11, 22)),
        ("上周", date(2026, 11, 16), date(2026, 11, 22)),
        ("去年", date(2025, 1, 1), date(2025, 12, 31)),
        ("去年10月", date(2025, 10, 1), date(2025, 10, 31)),
        ("5月8日", date(2026, 5, 8), date(2026, 5, 8)),
        ("12月25日", date(2025, 12, 25), date(2025, 12, 25)),  # would be future: last year
        ("半年前", date(2026, 5, 23), date(2026, 5, 23)),
        ("一年半前", date(2025, 5, 23), date(2025, 5, 23)),
        ("五年前", date(2021, 11, 23), date(2021, 11, 23)),
        ("2019年", date(2019, 1, 1), date(2019, 12, 31)),
    ],
)
def test_parse_date_range(text: str, lo: date, hi: date) -> None:
    assert parse_date_range(text, TODAY) == (lo, hi)


def test_amounts_are_not_dates() -> None:
    assert find_date_ranges("公司拖欠我三个月工资，共计三万元", TODAY) == []
    assert parse_date_expr("", TODAY) is None
    assert parse_date_expr("下个月", TODAY) is None


def test_future_dates_are_dropped() -> None:
    assert find_date_ranges("2027年5月1日", TODAY) == []
