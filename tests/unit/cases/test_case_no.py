from __future__ import annotations

from datetime import date

import pytest

from bot.cases.case_no import CASE_NO_RE, format_case_no, is_case_no, normalize_case_no, parse_case_no
from bot.errors import InvalidInput


def test_format() -> None:
    assert format_case_no(date(2026, 11, 23), 7) == "XF20261123-0007"
    assert format_case_no(date(2026, 1, 2), 1) == "XF20260102-0001"
    assert format_case_no(date(2026, 1, 2), 9999) == "XF20260102-9999"
    assert format_case_no(date(2026, 1, 2), 10000) == "XF20260102-10000"  # never wraps


def test_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError):
        format_case_no(date(2026, 1, 2), 0)


def test_pattern() -> None:
    assert CASE_NO_RE.match("XF20261123-0007")
    assert not CASE_NO_RE.match("XF2026112-0007")
    assert not CASE_NO_RE.match("XF20261123-007")


def test_parse_round_trip() -> None:
    assert parse_case_no("XF20261123-0007") == (date(2026, 11, 23), 7)


@pytest.mark.parametrize("typed", ["xf20261123-0007", " XF20261123-0007 ", "ＸＦ２０２６１１２３－０００７", "XF 20261123-0007"])
def test_normalize_what_people_type(typed: str) -> None:
    assert normalize_case_no(typed) == "XF20261123-0007"
    assert is_case_no(typed)


@pytest.mark.parametrize("bad", ["", "XF20261323-0001", "AB20261123-0001", "XF20261123", "20261123-0001"])
def test_malformed(bad: str) -> None:
    assert not is_case_no(bad)
    with pytest.raises(InvalidInput):
        parse_case_no(bad)
