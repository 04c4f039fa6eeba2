from __future__ import annotations

from bot.intake.masking import mask_id_number, mask_phone, mask_pii_in_text


def test_mask_id_number() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110105198001011238") == "110105********1238"
    assert mask_id_number("") == ""
    assert mask_id_number("12345") == "***45"


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("01012345678") == "010******78"
    assert mask_phone("057188886666") == "0571******66"
    assert mask_phone("02012345678") == "020******78"
    assert mask_phone("88886666") == "******66"
    assert mask_phone("") == ""


def test_mask_pii_in_text() -> None:
    text = "我叫张三，电话13812345678，身份证11010519491231002X，座机0571-88886666，欠款3000元"
    masked = mask_pii_in_text(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "19491231" not in masked and "110105********002X" in masked
    assert "88886666" not in masked
    assert "3000元" in masked and "张三" in masked
    assert mask_pii_in_text("") == ""
    assert mask_pii_in_text("没有号码") == "没有号码"


def test_mask_pii_with_spaces_and_full_width() -> None:
    masked = mask_pii_in_text("手机 138 1234 5678 或 １３９１２３４５６７８")
    assert "1234" not in masked
    assert "１２３４" not in masked
