"""The message that closes the petition form: new case, repeat of an open case, repeat of a finished one."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.cases.submission import closing_message

DUE = datetime(2026, 12, 8, 15, 59, 59, tzinfo=timezone.utc)


def test_new_case() -> None:
    text = closing_message("XF20261123-0001", DUE)
    assert "登记成功" in text and "XF20261123-0001" in text and "2026年12月8日前" in text


def test_repeat_of_an_open_case_names_the_existing_number() -> None:
    text = closing_message("XF20261120-0003", DUE, created=False, duplicate_of="XF20261120-0003", status="accepted")
    assert "XF20261120-0003" in text and "不再重复登记" in text and "2026年12月8日前" in text
    assert "登记成功" not in text
    answered = closing_message("XF20261120-0003", DUE, created=False, duplicate_of="XF20261120-0003",
                               status="answered")
    assert "XF20261120-0003" in answered and "前完成" not in answered  # nothing is due from the office


def test_new_case_linked_to_an_earlier_one() -> None:
    text = closing_message("XF20261123-0002", DUE, linked_to="XF20260101-0001")
    assert "登记成功" in text and "XF20260101-0001" in text and "XF20261123-0002" in text
