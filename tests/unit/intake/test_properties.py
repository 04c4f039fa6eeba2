"""Property tests: parsers fail only with InvalidField, masks never leak the hidden digits."""
from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from bot.errors import InvalidField
from bot.intake.counts import parse_count
from bot.intake.dates import parse_date
from bot.intake.idcard import normalize_id_number
from bot.intake.masking import mask_id_number, mask_phone, mask_pii_in_text
from bot.intake.phone import normalize_phone

PHONEISH = st.text(alphabet="0123456789 -+()（）xX８６１３", max_size=25)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), PHONEISH))
def test_normalize_phone_only_raises_invalid_field(text: str) -> None:
    try:
        result = normalize_phone(text)
    except InvalidField as exc:
        assert exc.field == "phone"
    else:
        assert result.isdigit() and result[0] in "01"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789Xx -", min_size=15, max_size=22)))
def test_normalize_id_only_raises_invalid_field(text: str) -> None:
    try:
        result = normalize_id_number(text)
    except InvalidField as exc:
        assert exc.field == "id_number"
    else:
        assert len(result) == 18 and ric.is_valid(result)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_date_and_count_parsers_never_crash(text: str) -> None:
    value = parse_date(text, date(2026, 11, 23))
    assert value is None or len(value) in (7, 10)
    count = parse_count(text)
    assert count is None or count >= 0


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mask_phone_hides_the_middle(number: str) -> None:
    masked = mask_phone(number)
    assert masked[3:7] == "****"
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:]
    assert number not in mask_pii_in_text(f"电话{number}，谢谢")
    assert re.sub(r"[^0-9]", "", mask_pii_in_text(f"电话{number}，谢谢")) == number[:3] + number[-4:]


@given(st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True))
def test_mask_id_hides_the_birth_date(number: str) -> None:
    masked = mask_id_number(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]
    in_text = mask_pii_in_text(f"身份证{number}号")
    assert number[6:14] not in in_text
    assert number not in in_text
