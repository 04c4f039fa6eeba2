from __future__ import annotations

import pytest

from bot.intake.petition_type import match_petition_type, suggest_petition_type


@pytest.mark.parametrize(
    "text, code",
    [
        ("建议", "suggestion"), ("提建议", "suggestion"), ("建议意见", "suggestion"), ("1", "suggestion"),
        ("检举", "accusation"), ("举报", "accusation"), ("控告", "accusation"), ("检举控告", "accusation"),
        ("2", "accusation"), ("第二个", "accusation"),
        ("投诉", "grievance"), ("申诉", "grievance"), ("求决", "grievance"), ("反映问题要求解决", "grievance"),
        ("3", "grievance"), ("grievance", "grievance"), ("Suggestion", "suggestion"),
    ],
)
def test_match(text: str, code: str) -> None:
    assert match_petition_type(text) == code


@pytest.mark.parametrize("text", ["", "是的", "4", "不知道"])
def test_match_none(text: str) -> None:
    assert match_petition_type(text) is None


@pytest.mark.parametrize(
    "text, code",
    [
        ("我要举报村书记贪污", "accusation"),
        ("镇长收受贿赂，吃拿卡要", "accusation"),
        ("希望增加一条公交线路", "suggestion"),
        ("建议在小区门口装路灯", "suggestion"),
        ("公司拖欠工资，要求补发", "grievance"),
        ("我想投诉物业", "grievance"),
    ],
)
def test_suggest(text: str, code: str) -> None:
    assert suggest_petition_type(text) == code


@pytest.mark.parametrize("text", ["", "你好", "同意", "电话写错了，应该是13912345678"])
def test_suggest_none(text: str) -> None:
    assert suggest_petition_type(text) is None
