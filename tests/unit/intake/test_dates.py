from __future__ import annotations

from datetime import date

import pytest

from bot.errors import InvalidField
from bot.intake.dates import is_future, parse_date, validate_occurred_on

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025年4月3日", "2025-04-03"),
        ("2025-04-03", "2025-04-03"),
        ("2025/4/3", "2025-04-03"),
        ("2025.4.3", "2025-04-03"),
        ("2025年4月3号左右", "2025-04-03"),
        ("二〇二五年四月三日", "2025-04-03"),
        ("2025年4月", "2025-04"),
        ("2025-04", "2025-04"),
        ("去年三月", "2025-03"),
        ("去年12月5号", "2025-12-05"),
        ("前年八月份", "2024-08"),
        ("今年5月", "2026-05"),
        ("上个月", "2026-10"),
        ("上上个月", "2026-09"),
        ("这个月", "2026-11"),
        ("昨天", "2026-11-22"),
        ("前天", "2026-11-21"),
        ("大前天", "2026-11-20"),
        ("今天上午", "2026-11-23"),
        ("3天前", "2026-11-20"),
        ("三天前", "2026-11-20"),
        ("两周前", "2026-11-09"),
        ("两个月前", "2026-09"),
        ("3个月前", "2026-08"),
        ("半年前", "2026-05"),
        ("半个月前", "2026-11-08"),
        ("4月10号", "2026-04-10"),
        ("十二月", "2025-12"),  # December would be ahead of today: last year
        ("12月1日", "2025-12-01"),
        ("十一月份", "2026-11"),
        ("一月", "2026-01"),
        ("周三", "2026-11-18"),
        ("星期一", "2026-11-23"),
        ("上星期天", "2026-11-22"),
        ("上上周一", "2026-11-09"),
        ("上周", "2026-11"),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert parse_date(text, TODAY) == expected


def test_last_friday_is_friday_of_the_previous_monday_to_sunday_week() -> None:
    assert parse_date("上周五", TODAY) == "2026-11-20"
    assert date.fromisoformat("2026-11-20").weekday() == 4
    assert parse_date("上周五", date(2026, 11, 29)) == "2026-11-20"  # Sunday of the same week
    assert parse_date("上周五", date(2026, 11, 30)) == "2026-11-27"


def test_relative_dates_cross_year_boundaries() -> None:
    assert parse_date("上个月", date(2026, 1, 15)) == "2025-12"
    assert parse_date("昨天", date(2026, 1, 1)) == "2025-12-31"
    assert parse_date("两个月前", date(2026, 2, 10)) == "2025-12"


@pytest.mark.parametrize("text", ["", "不记得了", "前年", "2025年", "三年前", "3号楼", "文三路1号"])
def test_unparseable_gives_none(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_impossible_calendar_day_gives_none() -> None:
    assert parse_date("2025年2月30日", TODAY) is None
    assert parse_date("13月5日", TODAY) is None


def test_future_dates_are_parsed_but_not_validated() -> None:
    assert parse_date("2027年1月", TODAY) == "2027-01"
    assert parse_date("本周三", TODAY) == "2026-11-25"
    for text in ("2027年1月", "本周三", "2026-12-01", "明年"):
        with pytest.raises(InvalidField) as exc:
            validate_occurred_on(text, TODAY)
        assert exc.value.field == "occurred_on"
    with pytest.raises(InvalidField) as exc:
        validate_occurred_on("2026年12月", TODAY)
    assert "晚于今天" in exc.value.user_message


def test_validate_returns_iso_value() -> None:
    assert validate_occurred_on("去年三月", TODAY) == "2025-03"
    assert validate_occurred_on("今天", TODAY) == "2026-11-23"
    assert validate_occurred_on("这个月", TODAY) == "2026-11"


def test_validate_messages() -> None:
    with pytest.raises(InvalidField) as exc:
        validate_occurred_on("记不清了", TODAY)
    assert "例如" in exc.value.user_message
    with pytest.raises(InvalidField) as exc:
        validate_occurred_on("前年", TODAY)
    assert "2024年" in exc.value.user_message and "月份" in exc.value.user_message
    with pytest.raises(InvalidField) as exc:
        validate_occurred_on("2025年2月30日", TODAY)
    assert "不存在" in exc.value.user_message


def test_is_future() -> None:
    assert not is_future("2026-11", TODAY)
    assert is_future("2026-12", TODAY)
    assert not is_future("2026-11-23", TODAY)
    assert is_future("2026-11-24", TODAY)
