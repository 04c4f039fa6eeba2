from __future__ import annotations

import pytest

from bot.cases.rating_text import parse_rating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("非常满意", 5), ("很满意", 5), ("满意", 4), ("基本满意", 3), ("一般般吧", 3), ("不太满意", 2),
        ("不满意", 2), ("非常不满意", 1), ("差评", 1), ("给5分", 5), ("打 3 分", 3), ("四星吧", 4),
        ("给个五星", 5), ("1分，很不满意", 1), ("4", 4), ("满意度评价：两颗星", 2),
    ],
)
def test_words_and_numbers(text: str, expected: int) -> None:
    assert parse_rating(text) == expected


@pytest.mark.parametrize("text", ["我要评价", "", "6分", "10分", "123", "你好"])
def test_no_rating(text: str) -> None:
    assert parse_rating(text) is None


def test_entity_from_a_button_payload_wins() -> None:
    assert parse_rating("/rate_case", [{"entity": "rating", "value": "2"}]) == 2
    assert parse_rating("满意", [{"entity": "rating", "value": "9"}]) == 4
