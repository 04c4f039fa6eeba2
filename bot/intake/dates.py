"""When the matter happened: absolute and relative Chinese date expressions → ISO strings.

``parse_date`` returns ``YYYY-MM-DD``, or ``YYYY-MM`` when only the month is known; a bare year
(``前年``, ``2024年``) is not precise enough for the contract and yields None, and
``validate_occurred_on`` then asks for the month.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from bot.errors import InvalidField
from bot.intake._text import CN_NUMERAL, cn_to_int, halfwidth

FIELD = "occurred_on"
MSG_UNREADABLE = (
    "抱歉，我没能看懂这个时间。请您说出大概的年月日，例如“2025年4月3日”“去年三月”或“三天前”；"
    "只记得月份也可以。"
)
MSG_FUTURE = "发生时间不能晚于今天，请您再核对一下，例如“2025年4月3日”或“上个月”。"
MSG_IMPOSSIBLE = "这个日期好像不存在（比如2月没有30日），请您再核对一下，例如“2025年4月3日”。"
MSG_YEAR_ONLY = "请您再具体一点，说到月份就可以，例如“{year}年3月”。"

_NUMERAL_RUN = re.compile(f"[{CN_NUMERAL}]+")
_WEEKDAYS = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "日": 6, "天": 6, "末": 5}
_YEAR_WORDS = {"今年": 0, "去年": -1, "前年": -2, "大前年": -3}


def _arabic(text: str) -> str:
    """Chinese numerals become Arabic ones ('去年三月' → '去年3月', '二〇二五年' → '2025年')."""

    def convert(match: re.Match[str]) -> str:
        value = cn_to_int(match.group(0))
        return match.group(0) if value is None else str(value)

    return _NUMERAL_RUN.sub(convert, halfwidth(text))


class _Impossible(ValueError):
    """A complete date expression that names no calendar day (2025年2月30日)."""


def _day(y: int, m: int, d: int) -> str:
    try:
        return date(y, m, d).isoformat()
    except ValueError as exc:
        raise _Impossible(f"{y}-{m}-{d}") from exc


def _month(y: int, m: int) -> str | None:
    return f"{y:04d}-{m:02d}" if 1900 <= y <= 9999 and 1 <= m <= 12 else None


def _shift_month(y: int, m: int, delta: int) -> tuple[int, int]:
    index = y * 12 + (m - 1) + delta
    return index // 12, index % 12 + 1


def _latest_year(today: date, month: int, day: int = 1) -> int:
    """This year, or last year when the month/day would still be ahead of today."""
    if (month, day) > (today.month, today.day):
        return today.year - 1
    return today.year


# Each rule: a pattern and a builder from (match, today) to the ISO value (or None).
Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], "str | None"]]


def _ymd(m: re.Match[str], today: date) -> str | None:
    return _day(int(m["y"]), int(m["m"]), int(m["d"])) if int(m["y"]) >= 1900 else None


def _rel_year_month(m: re.Match[str], today: date) -> str | None:
    year = today.year + _YEAR_WORDS[m["w"]]
    if m["d"]:
        return _day(year, int(m["m"]), int(m["d"]))
    return _month(year, int(m["m"]))


def _ym(m: re.Match[str], today: date) -> str | None:
    return _month(int(m["y"]), int(m["m"]))


def _md(m: re.Match[str], today: date) -> str | None:
    month, day = int(m["m"]), int(m["d"])
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise _Impossible(f"{month}-{day}")
    return _day(_latest_year(today, month, day), month, day)


def _month_only(m: re.Match[str], today: date) -> str | None:
    month = int(m["m"])
    if not 1 <= month <= 12:
        return None
    return _month(_latest_year(today, month), month)


def _days_ago(n: int) -> Callable[[re.Match[str], date], str | None]:
    return lambda m, today: (today - timedelta(days=n)).isoformat()


def _n_ago(m: re.Match[str], today: date) -> str | None:
    n = int(m["n"])
    unit = m["u"]
    if unit in ("天", "日"):
        return (today - timedelta(days=n)).isoformat()
    if unit in ("周", "星期", "礼拜"):
        return (today - timedelta(weeks=n)).isoformat()
    y, mo = _shift_month(today.year, today.month, -n)
    return _month(y, mo)


def _half_ago(m: re.Match[str], today: date) -> str | None:
    if m["u"] == "年":
        y, mo = _shift_month(today.year, today.month, -6)
        return _month(y, mo)
    return (today - timedelta(days=15)).isoformat()


def _weekday(m: re.Match[str], today: date) -> str | None:
    weeks_back = {"上上": 2, "上": 1, "这": 0, "本": 0}[m["w"]]
    monday = today - timedelta(days=today.weekday(), weeks=weeks_back)
    return (monday + timedelta(days=_WEEKDAYS[m["d"]])).isoformat()


def _recent_weekday(m: re.Match[str], today: date) -> str | None:
    back = (today.weekday() - _WEEKDAYS[m["d"]]) % 7
    return (today - timedelta(days=back)).isoformat()


def _last_week(m: re.Match[str], today: date) -> str | None:
    weeks_back = 2 if m["w"] == "上上" else 1
    wednesday = today - timedelta(days=today.weekday(), weeks=weeks_back) + timedelta(days=2)
    return _month(wednesday.year, wednesday.month)


def _month_word(m: re.Match[str], today: date) -> str | None:
    delta = {"上上": -2, "上": -1, "这": 0, "本": 0, "当": 0}[m["w"]]
    y, mo = _shift_month(today.year, today.month, delta)
    return _month(y, mo)


_NB = r"(?<!\d)"
_NA = r"(?!\d)"
RULES: tuple[Rule, ...] = (
    (re.compile(_NB + r"(?P<y>\d{4})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*(?:月|[-/.])\s*(?P<d>\d{1,2})" + _NA + r"\s*[日号]?"), _ymd),
    (re.compile(r"(?P<w>大前年|前年|去年|今年)\s*的?\s*(?P<m>\d{1,2})\s*月份?(?:\s*(?P<d>\d{1,2})\s*[日号])?"), _rel_year_month),
    (re.compile(_NB + r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月"), _ym),
    (re.compile(_NB + r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})" + _NA), _ym),
    (re.compile(_NB + r"(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"), _md),
    (re.compile(r"大前天"), _days_ago(3)),
    (re.compile(r"前天|前日"), _days_ago(2)),
    (re.compile(r"昨天|昨日|昨晚|昨夜"), _days_ago(1)),
    (re.compile(r"今天|今日|今早|今晚|刚才|刚刚"), _days_ago(0)),
    (re.compile(_NB + r"(?P<n>\d{1,3})\s*(?:个)?\s*(?:多)?\s*(?P<u>天|日|周|星期|礼拜|月)\s*(?:之|以)?前"), _n_ago),
    (re.compile(r"半\s*个?\s*(?P<u>年|月)\s*(?:之|以)?前"), _half_ago),
    (re.compile(r"(?P<w>上上|上|这|本)\s*(?:个)?\s*(?:周|星期|礼拜)\s*(?P<d>[1-7日天末])"), _weekday),
    (re.compile(r"(?<![上这本个])(?:周|星期|礼拜)(?P<d>[1-7日天])"), _recent_weekday),
    (re.compile(r"(?P<w>上上|上)\s*(?:个)?\s*(?:周|星期|礼拜)"), _last_week),
    (re.compile(r"(?P<w>上上|上|这|本|当)\s*个?\s*月"), _month_word),
    (re.compile(_NB + r"(?<!年)(?<!个)(?P<m>\d{1,2})\s*月份?(?!\s*\d)"), _month_only),
)

_YEAR_ONLY = re.compile(r"(?P<w>大前年|前年|去年|今年)|" + _NB + r"(?P<y>(?:19|20)\d{2})\s*年|" + _NB + r"(?P<n>\d{1,2})\s*年\s*(?:之|以)?前")


def _parse(text: str, today: date) -> str | None:
    plain = _arabic(text or "")
    for pattern, build in RULES:
        match = pattern.search(plain)
        if match:
            value = build(match, today)
            if value is not None:
                return value
    return None


def parse_date(text: str, today: date) -> str | None:
    """'YYYY-MM-DD' or 'YYYY-MM' for the first date expression found, None when there is none.

    Dates in the future are returned as read; ``validate_occurred_on`` rejects them.
    An impossible calendar day (2025年2月30日) gives None.
    """
    try:
        return _parse(text, today)
    except _Impossible:
        return None


def _year_only(text: str, today: date) -> int | None:
    match = _YEAR_ONLY.search(_arabic(text or ""))
    if not match:
        return None
    if match["w"]:
        return today.year + _YEAR_WORDS[match["w"]]
    if match["y"]:
        return int(match["y"])
    return today.year - int(match["n"])


def is_future(value: str, today: date) -> bool:
    """True when an ISO date or month lies after today (a month is future only after this month)."""
    if len(value) == 7:
        return value > today.isoformat()[:7]
    return value > today.isoformat()


def validate_occurred_on(text: str, today: date) -> str:
    """The ISO date of an answer to 'when did it happen', or InvalidField('occurred_on')."""
    try:
        value = _parse(text, today)
    except _Impossible as exc:
        raise InvalidField(FIELD, "impossible date", user_message=MSG_IMPOSSIBLE) from exc
    if value is None:
        year = _year_only(text, today)
        if year is not None and year <= today.year:
            raise InvalidField(FIELD, "year only", user_message=MSG_YEAR_ONLY.format(year=year))
        if year is not None:
            raise InvalidField(FIELD, "future", user_message=MSG_FUTURE)
        raise InvalidField(FIELD, "unreadable", user_message=MSG_UNREADABLE)
    if is_future(value, today):
        raise InvalidField(FIELD, "future", user_message=MSG_FUTURE)
    return value
