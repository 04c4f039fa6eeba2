from __future__ import annotations

import pytest

from bot.errors import InvalidField
from bot.intake.phone import find_phone, find_phone_candidate, normalize_phone


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
        ("010-12345678", "01012345678"),
        ("0571 8888 6666", "057188886666"),
        ("(0571)88886666", "057188886666"),
        ("（0755）12345678", "075512345678"),
        ("020-12345678", "02012345678"),
    ],
)
def test_valid_numbers(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


@pytest.mark.parametrize("text, n", [("138123456789", 12), ("1381234567", 10), ("138", 3)])
def test_mobile_with_wrong_length(text: str, n: int) -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_phone(text)
    assert exc.value.field == "phone"
    assert "11位" in exc.value.user_message
    assert f"{n}位" in exc.value.user_message


def test_landline_without_area_code_asks_for_it() -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_phone("88886666")
    assert "区号" in exc.value.user_message


@pytest.mark.parametrize("text", ["", "abc", "14012345678", "4008001234", "0101234", "12345678901"])
def test_invalid_numbers(text: str) -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_phone(text)
    assert exc.value.field == "phone"
    assert "例如" in exc.value.user_message


def test_find_phone_skips_id_numbers() -> None:
    text = "我叫张三，身份证11010519491231002X，电话13812345678"
    assert find_phone(text) == "13812345678"
    assert find_phone("身份证11010519491231002X") is None
    assert find_phone("身份证110105199001011234") is None


def test_find_phone_landline_and_prefix() -> None:
    assert find_phone("有事打0571-88886666找我") == "057188886666"
    assert find_phone("手机+86 139 1234 5678。") == "13912345678"


def test_find_phone_ignores_amounts_and_invalid_numbers() -> None:
    assert find_phone("公司欠我30000000元") is None
    assert find_phone("电话138123456789") is None
    assert find_phone("没有号码") is None


def test_find_phone_candidate() -> None:
    assert find_phone_candidate("电话是138123456789") == "138123456789"
    assert find_phone_candidate("号码 88886666") == "88886666"
    assert find_phone_candidate("13812345678") == "13812345678"
    assert find_phone_candidate("身份证11010519491231002X") is None
    assert find_phone_candidate("123456") is None
    assert find_phone_candidate("欠款1234567元") is None
