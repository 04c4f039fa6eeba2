from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.cases import deadlines as d

UTC = timezone.utc
CST = d.CHINA_TZ


def local(y: int, m: int, day: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, day, h, minute, tzinfo=CST)


def end_of(y: int, m: int, day: int) -> datetime:
    return datetime(y, m, day, 23, 59, 59, tzinfo=CST).astimezone(UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (local(2026, 11, 23), end_of(2026, 12, 8)),
        (local(2026, 1, 20), end_of(2026, 2, 4)),  # into February
        (local(2026, 2, 20), end_of(2026, 3, 7)),  # 28-day February
        (local(2028, 2, 20), end_of(2028, 3, 6)),  # leap year
        (local(2026, 12, 25), end_of(2027, 1, 9)),  # year end
        (local(2026, 4, 30, 23, 59), end_of(2026, 5, 15)),  # late evening still counts as that day
    ],
)
def test_acceptance_due_is_end_of_15th_china_day(received: datetime, due: datetime) -> None:
    assert d.acceptance_due(received) == due
    assert d.acceptance_due(received).tzinfo == UTC


def test_day_is_the_china_day_not_the_utc_day() -> None:
    # 2026-01-31 17:00 UTC is already 1 February in Beijing
    received = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
    assert d.local_date(received).isoformat() == "2026-02-01"
    assert d.acceptance_due(received) == end_of(2026, 2, 16)


def test_same_instant_in_any_timezone_gives_same_deadline() -> None:
    instant = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)
    other = instant.astimezone(timezone(timedelta(hours=-5)))
    assert d.acceptance_due(instant) == d.acceptance_due(other)


@pytest.mark.parametrize(
    ("accepted", "extended", "due"),
    [
        (local(2026, 1, 31), False, end_of(2026, 4, 1)),
        (local(2026, 1, 31), True, end_of(2026, 5, 1)),
        (local(2026, 11, 23), False, end_of(2027, 1, 22)),
        (local(2026, 11, 23), True, end_of(2027, 2, 21)),
        (local(2027, 12, 31), False, end_of(2028, 2, 29)),  # leap day
    ],
)
def test_answer_due_60_days_plus_30_extension(accepted: datetime, extended: bool, due: datetime) -> None:
    assert d.answer_due(accepted, extended=extended) == due


def test_answer_due_default_not_extended() -> None:
    assert d.answer_due(local(2026, 1, 31)) == end_of(2026, 4, 1)


@pytest.mark.parametrize(
    ("answered", "deadline"),
    [
        (local(2026, 3, 15), end_of(2026, 4, 14)),
        (local(2026, 1, 30), end_of(2026, 3, 1)),
        (local(2026, 12, 10), end_of(2027, 1, 9)),
    ],
)
def test_review_request_deadline_30_days(answered: datetime, deadline: datetime) -> None:
    assert d.review_request_deadline(answered) == deadline


def test_review_and_recheck_answer_periods_are_30_days() -> None:
    start = local(2026, 6, 1)
    assert d.review_answer_due(start) == end_of(2026, 7, 1)
    assert d.recheck_request_deadline(start) == end_of(2026, 7, 1)
    assert d.recheck_answer_due(start) == end_of(2026, 7, 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        d.acceptance_due(datetime(2026, 1, 1, 10, 0))


def test_display_conversion() -> None:
    due = d.acceptance_due(local(2026, 11, 23))
    assert d.to_local(due).strftime("%Y-%m-%d %H:%M:%S") == "2026-12-08 23:59:59"
    assert d.to_local(due).utcoffset() == timedelta(hours=8)
