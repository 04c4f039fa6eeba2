from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric

from bot.errors import InvalidField
from bot.intake.idcard import find_id_number, is_valid_id_number, normalize_id_number

VALID = "11010519491231002X"


def with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize(
    "text",
    [VALID, VALID.lower(), "110105 19491231 002X", "110105-1949-1231-002x", "１１０１０５１９４９１２３１００２Ｘ", f"  {VALID}\n"],
)
def test_accepts_common_spellings(text: str) -> None:
    assert normalize_id_number(text) == VALID


def test_accepts_numeric_check_digit() -> None:
    number = with_check_digit("33010619800101123")
    assert number[-1].isdigit() or number[-1] == "X"
    assert normalize_id_number(number) == number


def test_wrong_checksum_has_its_own_message() -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_id_number("110105194912310021")
    assert exc.value.field == "id_number"
    assert "校验" in exc.value.user_message
    assert "例如" in exc.value.user_message


@pytest.mark.parametrize("text, n", [("11010519491231002", 17), ("11010519491231002XX"[:19], 19), ("1101", 4)])
def test_wrong_length_names_the_length(text: str, n: int) -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_id_number(text)
    assert "18位" in exc.value.user_message
    assert f"{n}位" in exc.value.user_message


def test_length_and_checksum_messages_differ() -> None:
    messages = set()
    for text in ("11010519491231002", "110105194912310021"):
        with pytest.raises(InvalidField) as exc:
            normalize_id_number(text)
        messages.add(exc.value.user_message)
    assert len(messages) == 2


def test_future_birth_date_is_rejected() -> None:
    future = with_check_digit("11010520991231002")
    with pytest.raises(InvalidField) as exc:
        normalize_id_number(future)
    assert "出生日期" in exc.value.user_message
    tomorrowish = with_check_digit("11010520261201002")
    assert normalize_id_number(tomorrowish, today=date(2027, 1, 1)) == tomorrowish
    with pytest.raises(InvalidField):
        normalize_id_number(tomorrowish, today=date(2026, 11, 23))


def test_impossible_birth_date_is_rejected() -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_id_number(with_check_digit("11010519491331002"))
    assert "出生日期" in exc.value.user_message


def test_unknown_region_code_is_rejected() -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_id_number(with_check_digit("99010519491231002"))
    assert "地区" in exc.value.user_message


@pytest.mark.parametrize("text", ["", "   ", "abcdefghijklmnopqr", "1101051949123100X2"])
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(InvalidField) as exc:
        normalize_id_number(text)
    assert exc.value.field == "id_number"
    assert "您" in exc.value.user_message


def test_is_valid() -> None:
    assert is_valid_id_number(VALID)
    assert is_valid_id_number(VALID.lower())
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("")


def test_find_in_free_text() -> None:
    assert find_id_number(f"我的身份证是{VALID.lower()}，电话13812345678") == VALID
    assert find_id_number("身份证 110105 19491231 002x 谢谢") == VALID
    # invalid candidates are returned too, so the form can say what is wrong
    assert find_id_number("身份证110105194912310021") == "110105194912310021"
    assert find_id_number("电话13812345678") is None
    assert find_id_number("1101051949123100212") is None  # 19 digits: not an ID
    assert find_id_number("") is None


def test_county_code_created_after_birth_year_is_accepted() -> None:
    # 330106 (杭州市西湖区) dates from 1983; people born earlier were issued it later.
    number = with_check_digit("33010619800101123")
    assert normalize_id_number(number) == number
