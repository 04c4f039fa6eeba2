"""Small text helpers shared by the intake parsers (no I/O)."""
from __future__ import annotations

import re
import unicodedata

# Separators people type inside numbers: spaces, hyphens and dashes of every width, dots.
NUMBER_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_.·]+")


def halfwidth(text: str) -> str:
    """NFKC: full-width digits and letters become ASCII; Chinese characters are unchanged."""
    return unicodedata.normalize("NFKC", text or "")


# Chinese numerals → int, for the small numbers people say (dates, counts).
_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMERAL = "零〇○一二两三四五六七八九十百千万"


def cn_to_int(word: str) -> int | None:
    """'三' → 3, '十二' → 12, '三十一' → 31, '二〇二五' → 2025, '一百' → 100; None when not a numeral."""
    if not word or any(ch not in _DIGITS and ch not in _UNITS for ch in word):
        return None
    if all(ch in _DIGITS for ch in word):
        if len(word) == 1:
            return _DIGITS[word]
        return int("".join(str(_DIGITS[ch]) for ch in word))
    try:
        import cn2an

        return int(cn2an.cn2an(word.replace("两", "二"), "normal"))
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def to_number(word: str) -> int | None:
    """An Arabic or Chinese numeral as int."""
    if word.isascii() and word.isdigit():
        return int(word)
    return cn_to_int(word)
