"""Case numbers as citizens type them, and what they are told about their cases."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from bot.cases.citizen_view import find_case_no, mentions_case_no, status_message


@pytest.mark.parametrize(("text", "expected"), [
    ("查询XF20261124-0007", "XF20261124-0007"),
    ("xf20261124-0007办到哪了", "XF20261124-0007"),
    ("ＸＦ２０２６１１２４－０００７", "XF20261124-0007"),
    ("编号 XF 20261124 - 0007 的进度", "XF20261124-0007"),
    ("我想查一下进度", None),
    ("XF2026112", None),
])
def test_find_case_no(text: str, expected: str | None) -> None:
    assert find_case_no(text) == expected


@pytest.mark.parametrize("text", ["XF-2026-000001", "XF2026112", "xf 2026 1124", "查询XF20261124-0007"])
def test_attempts_at_a_case_number_are_recognised(text: str) -> None:
    assert mentions_case_no(text)


@pytest.mark.parametrize("text", ["我想查一下进度", "XFC公司欠钱", "13912345678", "XF"])
def test_other_text_is_not_a_case_number(text: str) -> None:
    assert not mentions_case_no(text)


def test_status_message_says_the_next_date() -> None:
    case = SimpleNamespace(case_no="XF20261124-0007", status="accepted",
                           due_at=datetime(2027, 1, 23, 8, 0, tzinfo=timezone.utc))
    text = status_message([case])
    assert "XF20261124-0007" in text and "已受理" in text and "2027" in text
    assert "没有查到" in status_message([])
