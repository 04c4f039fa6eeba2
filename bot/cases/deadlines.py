"""Statutory deadlines of 《信访工作条例》 (2022), pure functions.

Counting rule (民法典 Art 201, 203 as the general rule for periods): the day of the
triggering event is not counted, a period of N days ends at 24:00 of the N-th day.
The "day" is the calendar day in China (Asia/Shanghai, UTC+8 all year, no DST since
1991), so every function returns the last instant of that local day, 23:59:59
Asia/Shanghai, as a timezone-aware **UTC** datetime. Storage is UTC; display converts
with :func:`to_local` (or :func:`local_date`) to Asia/Shanghai.

Not (yet) handled: the extension to the next working day when a period ends on a
statutory holiday (民法典 Art 203(1)) — that needs the State Council holiday calendar.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc
#: Asia/Shanghai as a fixed offset: exact since 1991 and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

ACCEPTANCE_DAYS = 15  # Art 22 (register / transfer) and Art 23 (tell whether accepted)
ANSWER_DAYS = 60  # Art 34: written answer 60 days from acceptance
ANSWER_EXTENSION_DAYS = 30  # Art 34: extension of at most 30 days
REVIEW_REQUEST_DAYS = 30  # Art 35: ask for 复查 within 30 days of the answer
REVIEW_ANSWER_DAYS = 30  # Art 35: 复查 answered within 30 days
RECHECK_REQUEST_DAYS = 30  # Art 36: ask for 复核 within 30 days of the review answer
RECHECK_ANSWER_DAYS = 30  # Art 36: 复核 answered within 30 days


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("deadline computations need a timezone-aware datetime")
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    return _require_aware(value).astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """``value`` in Asia/Shanghai, for display."""
    return _require_aware(value).astimezone(CHINA_TZ)


def local_date(value: datetime) -> date:
    """The calendar date in China of an instant."""
    return to_local(value).date()


def end_of_local_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai of ``day``, in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA_TZ).astimezone(UTC)


def add_days(start: datetime, days: int) -> datetime:
    """End (UTC) of the ``days``-th Chinese calendar day after the day of ``start``."""
    return end_of_local_day(local_date(start) + timedelta(days=days))


def acceptance_due(received_at: datetime) -> datetime:
    """Whether the case is accepted must be decided and told within 15 days (Art 22, 23)."""
    return add_days(received_at, ACCEPTANCE_DAYS)


def answer_due(accepted_at: datetime, extended: bool = False) -> datetime:
    """Written answer within 60 days of acceptance, extended by at most 30 (Art 34)."""
    return add_days(accepted_at, ANSWER_DAYS + (ANSWER_EXTENSION_DAYS if extended else 0))


def review_request_deadline(answered_at: datetime) -> datetime:
    """Last moment to ask for a 复查 of the answer (Art 35)."""
    return add_days(answered_at, REVIEW_REQUEST_DAYS)


def review_answer_due(review_requested_at: datetime) -> datetime:
    """The 复查 answer is due within 30 days of the request (Art 35)."""
    return add_days(review_requested_at, REVIEW_ANSWER_DAYS)


def recheck_request_deadline(review_answered_at: datetime) -> datetime:
    """Last moment to ask for a 复核 of the review answer (Art 36)."""
    return add_days(review_answered_at, RECHECK_REQUEST_DAYS)


def recheck_answer_due(recheck_requested_at: datetime) -> datetime:
    """The 复核 answer is due within 30 days of the request (Art 36)."""
    return add_days(recheck_requested_at, RECHECK_ANSWER_DAYS)
