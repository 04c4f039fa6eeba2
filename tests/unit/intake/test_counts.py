from __future__ import annotations

import pytest

from bot.errors import InvalidField
from bot.intake.counts import find_people_count, parse_count, validate_people_count


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3", 3),
        ("12人", 12),
        ("三个人", 3),
        ("三十多户", 30),
        ("二十几个人", 20),
        ("一百多人", 100),
        ("两千多名职工", 2000),
        ("大概二十", 20),
        ("一共5户人家", 5),
        ("我们十几个工人", 10),
        ("一家三口", 3),
        ("我一个人", 1),
        ("就我自己", 1),
        ("本人", 1),
        ("两口子", 2),
        ("我和老伴", 2),
        ("全村一百多户", 100),
    ],
)
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["", "全村", "twenty", "很多人", "13812345678", "3个月", "11010519491231002X"])
def test_no_count(text: str) -> None:
    assert parse_count(text) is None


def test_validate() -> None:
    assert validate_people_count("三十多户") == 30
    assert validate_people_count("1") == 1
    for text in ("全村", "0", "零个人", "twenty"):
        with pytest.raises(InvalidField) as exc:
            validate_people_count(text)
        assert exc.value.field == "people_count"
        assert "例如" in exc.value.user_message


def test_find_people_count_in_free_text_needs_a_unit() -> None:
    assert find_people_count("我们三十多名工人被拖欠工资") == 30
    assert find_people_count("涉及全村一百多户") == 100
    assert find_people_count("就我一个人去讨薪") == 1
    assert find_people_count("拖欠了3个月工资，电话13812345678") is None
    assert find_people_count("我自己去找了老板") is None
    assert find_people_count("我们找了一个人帮忙") is None


@pytest.mark.parametrize("text", ["我是一名初三学生家长", "高二学生家长反映补课问题", "大三学生，学校乱收费", "第三户人家的墙"])
def test_school_years_and_ordinals_are_not_counts(text: str) -> None:
    assert find_people_count(text) is None


def test_a_count_of_students_still_counts() -> None:
    assert find_people_count("我们三十多个学生家长一起反映") == 30
