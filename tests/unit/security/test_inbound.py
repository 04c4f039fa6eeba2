"""What citizens send is cleaned before Rasa sees it; nothing raises."""
from __future__ import annotations

import os

from bot.security.inbound import JUNK_NOTICE, MAX_MESSAGE_CHARS, clean_message, strip_control_characters


def test_ordinary_text_passes_unchanged() -> None:
    result = clean_message("我要反映拖欠工资的问题")
    assert (result.text, result.notice, result.truncated, result.junk) == ("我要反映拖欠工资的问题", None, False, False)


def test_long_message_keeps_the_first_4000_characters_and_says_so() -> None:
    text = "事" * 3990 + "0123456789ABCDEFGHIJ"
    result = clean_message(text)
    assert result.truncated and len(result.text) == MAX_MESSAGE_CHARS
    assert result.text == text[:MAX_MESSAGE_CHARS]
    assert result.notice is not None
    assert "4000" in result.notice and "分成几条" in result.notice and "您" in result.notice
    assert str(len(text)) in result.notice


def test_exactly_the_limit_is_not_truncated() -> None:
    result = clean_message("好" * MAX_MESSAGE_CHARS)
    assert not result.truncated and result.notice is None


def test_control_characters_are_removed_line_breaks_kept() -> None:
    text = "第一行\r\n第二\x00行\x07\t结束\u202e\u200b\ufeff"
    assert strip_control_characters(text) == "第一行\n第二行 结束"
    result = clean_message(text + "，其余内容都是正常的文字，足够长" * 3)
    assert not result.junk and "\x00" not in result.text and "\u202e" not in result.text


def test_binary_junk_is_answered_politely() -> None:
    blob = os.urandom(512)
    result = clean_message(blob)
    assert result.junk and result.text == "" and result.notice == JUNK_NOTICE
    assert clean_message("\x00\x01\x02\x03").junk
    assert clean_message("\x00\x01" * 10 + "好").junk  # mostly control bytes
    few = clean_message("你好\x00\x07\u202e世界")  # a few stray ones are only removed
    assert (few.text, few.junk) == ("你好世界", False)


def test_emoji_only_sql_and_script_are_ordinary_text() -> None:
    for text in ("🙂🙂🙏", "🫠", "'; DROP TABLE cases; --", "<script>alert('x')</script>", "1 OR 1=1"):
        result = clean_message(text)
        assert (result.text, result.junk, result.notice) == (text, False, None)


def test_empty_and_none() -> None:
    assert clean_message(None).text == "" and clean_message("   ").text == ""
    assert not clean_message("").junk
