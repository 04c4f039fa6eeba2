"""Calendar arithmetic for legal periods, and a small reader for dates in free text.

Periods follow 《民法典》第二百零一条至第二百零三条: the start day is not counted;
a period in months or years ends on the corresponding day of the final month, or
on that month's last day when there is no such day (31 Aug + 6 months = 28 Feb).
Statutory holidays (Art 203) are not modelled: the date given is the nominal last day.

The date reader is private to triage on purpose (``bot/intake`` has its own);
it only needs to be good enough to place a deadline, and it errs early: a vague
"上个月" is read as the first day of last month, so a computed deadline is never
later than the real one.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "Period",
    "add_days",
    "add_months",
    "add_period",
    "add_years",
    "find_date_ranges",
    "find_dates",
    "parse_date_expr",
    "parse_date_range",
    "parse_period",
]


@dataclass(frozen=True)
class Period:
    kind: str  # "days" | "months" | "years"
    amount: int

    def label(self) -> str:
        unit = {"days": "日", "months": "个月", "years": "年"}[self.kind]
        return f"{self.amount}{unit}"


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)


def add_months(start: date, months: int) -> date:
    """Corresponding day ``months`` later (or earlier); clamps to the month's last day."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def add_years(start: date, years: int) -> date:
    return add_months(start, 12 * years)


def add_period(start: date, period: Period) -> date:
    if period.kind == "days":
        return add_days(start, period.amount)
    if period.kind == "months":
        return add_months(start, period.amount)
    if period.kind == "years":
        return add_years(start, period.amount)
    raise ValueError(f"unknown period kind {period.kind!r}")


_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([dmy])\s*$")


def parse_period(text: str) -> Period:
    """``'60d'`` / ``'6m'`` / ``'5y'`` -> :class:`Period`."""
    m = _PERIOD_RE.match(str(text))
    if not m:
        raise ValueError(f"bad period {text!r}; use e.g. '60d', '6m', '5y'")
    kind = {"d": "days", "m": "months", "y": "years"}[m.group(2)]
    return Period(kind, int(m.group(1)))


# --------------------------------------------------------------------------- text dates

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"[0-9零〇一二两俩三四五六七八九十半]+"


def _cn_int(text: str) -> int | None:
    """'3' / '三' / '十二' / '二十' / '两' -> int; None when not a number."""
    if text.isdigit():
        return int(text)
    if text == "半":
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _DIGITS.get(tens) if tens else 1
        o = _DIGITS.get(ones) if ones else 0
        if t is None or o is None:
            return None
        return t * 10 + o
    if len(text) == 1 and text in _DIGITS:
        return _DIGITS[text]
    # year written digit by digit: 二〇二六
    if all(ch in _DIGITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_ABS_FULL = re.compile(rf"({_NUM})\s*年\s*({_NUM})\s*月\s*(?:({_NUM})\s*[日号])?")
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?!\d)")
_MONTH_DAY = re.compile(rf"(?<![年\d])({_NUM})\s*月\s*({_NUM})\s*[日号]")
_YEAR_ONLY = re.compile(r"(?<!\d)(\d{4})\s*年(?!\s*[0-9零〇一二两三四五六七八九十]+\s*月)")
_AGO = re.compile(rf"({_NUM})\s*(?:多)?\s*(个多月|个月|天|日|周|星期|礼拜|年)\s*(?:多)?\s*(?:以前|之前|前)")
_HALF_YEAR_AGO = re.compile(r"半年\s*(?:多)?\s*(?:以前|之前|前)")
_YEAR_HALF_AGO = re.compile(rf"({_NUM})\s*年半\s*(?:多)?\s*(?:以前|之前|前)")
_HALF_MONTH_AGO = re.compile(r"半个\s*(?:多)?\s*月\s*(?:多)?\s*(?:以前|之前|前)")
_REL_YEAR_MONTH = re.compile(rf"(去年|前年|今年)\s*({_NUM})\s*月(?:\s*({_NUM})\s*[日号])?")

#: fixed words -> (earliest, latest) day; None latest means the same day
_FIXED: list[tuple[str, Callable[[date], tuple[date, date]]]] = [
    ("大前天", lambda t: (t - timedelta(days=3),) * 2),
    ("前天", lambda t: (t - timedelta(days=2),) * 2),
    ("昨天", lambda t: (t - timedelta(days=1),) * 2),
    ("今天", lambda t: (t, t)),
    ("上上周", lambda t: (t - timedelta(days=t.weekday() + 14), t - timedelta(days=t.weekday() + 8))),
    ("上周", lambda t: (t - timedelta(days=t.weekday() + 7), t - timedelta(days=t.weekday() + 1))),
    ("上星期", lambda t: (t - timedelta(days=t.weekday() + 7), t - timedelta(days=t.weekday() + 1))),
    ("上礼拜", lambda t: (t - timedelta(days=t.weekday() + 7), t - timedelta(days=t.weekday() + 1))),
    ("本周", lambda t: (t - timedelta(days=t.weekday()), t)),
    ("这周", lambda t: (t - timedelta(days=t.weekday()), t)),
    ("上上个月", lambda t: _month_span(add_months(t.replace(day=1), -2))),
    ("上个月", lambda t: _month_span(add_months(t.replace(day=1), -1))),
    ("上月", lambda t: _month_span(add_months(t.replace(day=1), -1))),
    ("这个月", lambda t: (t.replace(day=1), t)),
    ("本月", lambda t: (t.replace(day=1), t)),
    ("前年", lambda t: (date(t.year - 2, 1, 1), date(t.year - 2, 12, 31))),
    ("去年", lambda t: (date(t.year - 1, 1, 1), date(t.year - 1, 12, 31))),
    ("今年", lambda t: (date(t.year, 1, 1), t)),
]


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _month_span(first: date) -> tuple[date, date]:
    return first, _month_end(first)


def find_date_ranges(text: str, today: date) -> list[tuple[date, date]]:
    """Every date expression in ``text`` as (earliest, latest) plausible day, in text order.

    "2026年3月" is (3-01, 3-31), "上周" is last Monday..Sunday, "三个月前" is one day.
    Dates after ``today`` are dropped (a month-day without a year that would lie in
    the future is read as last year's); a range is cut at ``today``.
    """
    found: list[tuple[int, date, date]] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    def add(span: tuple[int, int], value: date | None, latest: date | None = None) -> None:
        if value is None or not free(span):
            return
        taken.append(span)
        if value <= today:
            found.append((span[0], value, min(latest or value, today)))

    for m in _ISO.finditer(text):
        first = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
        add(m.span(), first, first if m.group(3) or first is None else _month_end(first))
    for m in _ABS_FULL.finditer(text):
        yy, mo, d = _cn_int(m.group(1)), _cn_int(m.group(2)), (_cn_int(m.group(3)) if m.group(3) else 1)
        if yy is not None and mo is not None and d is not None:
            first = _safe_date(yy + 2000 if yy < 100 else yy, mo, d)
            add(m.span(), first, first if m.group(3) or first is None else _month_end(first))
    for m in _REL_YEAR_MONTH.finditer(text):
        year = {"去年": today.year - 1, "前年": today.year - 2, "今年": today.year}[m.group(1)]
        mo, d = _cn_int(m.group(2)), (_cn_int(m.group(3)) if m.group(3) else 1)
        if mo is not None and d is not None:
            first = _safe_date(year, mo, d)
            add(m.span(), first, first if m.group(3) or first is None else _month_end(first))
    for m in _MONTH_DAY.finditer(text):
        mo, d = _cn_int(m.group(1)), _cn_int(m.group(2))
        if mo is not None and d is not None:
            value = _safe_date(today.year, mo, d)
            if value is not None and value > today:
                value = _safe_date(today.year - 1, mo, d)
            add(m.span(), value)
    for m in _YEAR_ONLY.finditer(text):
        y = int(m.group(1))
        if 1900 <= y <= 2100:
            add(m.span(), date(y, 1, 1), date(y, 12, 31))
    for m in _HALF_YEAR_AGO.finditer(text):
        add(m.span(), add_months(today, -6))
    for m in _HALF_MONTH_AGO.finditer(text):
        add(m.span(), today - timedelta(days=15))
    for m in _YEAR_HALF_AGO.finditer(text):  # 一年半前
        years = _cn_int(m.group(1))
        if years is not None:
            add(m.span(), add_months(today, -(12 * years + 6)))
    for m in _AGO.finditer(text):
        raw, unit = m.group(1), m.group(2)
        n = _cn_int(raw)
        if n is None:
            continue
        if unit in ("天", "日"):
            value = today - timedelta(days=n)
        elif unit in ("周", "星期", "礼拜"):
            value = today - timedelta(days=7 * n)
        elif unit == "年":
            value = add_years(today, -n)
        else:  # 个月 / 个多月
            value = add_months(today, -n)
        add(m.span(), value)
    for word, fn in _FIXED:
        start = 0
        while True:
            i = text.find(word, start)
            if i < 0:
                break
            lo, hi = fn(today)
            add((i, i + len(word)), lo, hi)
            start = i + len(word)
    found.sort(key=lambda item: item[0])
    return [(lo, hi) for _, lo, hi in found]


def find_dates(text: str, today: date) -> list[date]:
    """Earliest plausible day of every date expression in ``text``, in text order."""
    return [lo for lo, _ in find_date_ranges(text, today)]


def parse_date_range(text: str, today: date) -> tuple[date, date] | None:
    """(earliest, latest) day of a short answer: ISO ``YYYY-MM-DD`` / ``YYYY-MM`` or Chinese.

    With several dates in the text the earliest expression wins (reading early is
    the safe side for a deadline).
    """
    text = (text or "").strip()
    if not text:
        return None
    ranges = find_date_ranges(text, today)
    return min(ranges) if ranges else None


def parse_date_expr(text: str, today: date) -> date | None:
    """Earliest plausible day of a short answer (see :func:`parse_date_range`)."""
    found = parse_date_range(text, today)
    return found[0] if found else None
